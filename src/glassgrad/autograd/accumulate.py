"""Where gradients land: tensor hooks, ``retain_grad``, and accumulation into ``.grad``.

Split from the engine, which calls these once a node's or a leaf's gradient is complete. A
gradient array nobody else references becomes ``.grad`` without a copy (``_unshared``): the
reference counts below assume the engine's call chain into ``_store_grad`` (see its comments).
"""

from __future__ import annotations

import _thread
import sys
import threading

import numpy as np

from glassgrad._errors import broadcast_error
from glassgrad._sparse_data import SparseArray
from glassgrad.autograd import bound
from glassgrad.autograd.node import link, next_seq, node_class
from glassgrad.autograd.node import use_counter as _node_counter
from glassgrad.dtypes import from_numpy_dtype

# Accumulation into ``.grad`` is a read, an add and a write: two threads accumulating into one leaf
# at once would lose one's update. It happens under this lock whenever another Python thread is
# alive (``_threads()``: how many threads besides the main one, a C call of ~20 ns), and without
# it otherwise, so single-threaded backward pays nothing. Reentrant: reading ``.grad`` under it
# (``grad_tensor``) takes it again. No user code (hooks) ever runs while it is held.
GRAD_LOCK = threading.RLock()
_acquire, _release = GRAD_LOCK.acquire, GRAD_LOCK.release
_threads = _thread._count


def _run_tensor_hooks(node, grads, create_graph):
    """Tensor hooks on a node's outputs, in registration order, then ``retain_grad``."""

    single = node._n_outputs == 1
    grads = [grads] if single else list(grads)
    if node._pre_hooks:
        for output_nr, hook in list(node._pre_hooks.values()):
            if output_nr is None:  # a node pre-hook: sees and may replace all gradients
                result = hook(tuple(_wrap(g, create_graph) for g in grads))
                if result is not None:
                    grads = [_unwrap(g, create_graph) for g in result]
                continue
            grads[output_nr] = _call_hook(hook, grads[output_nr], create_graph)
    if node._retain:
        for output_nr, ref in node._retain.items():
            tensor = ref()
            if tensor is not None and grads[output_nr] is not None:
                _store_retained(tensor, grads[output_nr], create_graph)
    return grads[0] if single else grads


def _store_retained(tensor, grad, create_graph):
    """``.grad`` of a non-leaf that called ``retain_grad()``: PyTorch replaces it with a new
    tensor (old + new) rather than adding into the old one, which the user may still hold."""
    locked = _threads()
    if locked:
        _acquire()
    try:
        held = bound.grad_tensor(tensor)
        if held is None:
            _store_grad(tensor, grad, create_graph, None)
        elif create_graph:
            tensor._grad = held + grad
        else:
            tensor._grad = bound.make(np.asarray(held._data + grad))
    finally:
        if locked:
            _release()


def _call_hook(hook, grad, create_graph):
    if grad is None:
        return None
    result = hook(_wrap(grad, create_graph))
    if result is None:
        return grad
    Tensor = bound.Tensor
    if not isinstance(result, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
    name = getattr(hook, "__name__", hook)
    # under create_graph the gradient is a Tensor already, else an array
    expected = grad.dtype if isinstance(grad, Tensor) else from_numpy_dtype(grad.dtype)
    if result.dtype != expected:
        raise RuntimeError(
            f"hook '{name}' has changed the type of value (was torch."
            f"{expected._legacy} got torch.{result.dtype._legacy})"
        )
    if tuple(result.shape) != tuple(grad.shape):
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    return _unwrap(result, create_graph)


def _wrap(grad, create_graph):
    if grad is None or create_graph:
        return grad
    return bound.Tensor._from_array(grad)


def _unwrap(value, create_graph):
    if value is None or create_graph:
        return value
    return value._data


def _use_counter(counter):
    global next_seq
    next_seq = counter


_node_counter(_use_counter)

# PyTorch's copy_ node: its first edge is the (empty) tensor copied into, which gets nothing
CopyBackwards = node_class("CopyBackwards", lambda ctx, grad: (None, grad))


def _store_grad(tensor, grad, create_graph, Tensor, inline=False):
    # ``_unshared`` counts the references this call chain holds (``_UNSHARED``)
    locked = _threads()
    if locked:
        _acquire()
    try:
        _accumulate(tensor, grad, create_graph, inline)
    finally:
        if locked:
            _release()


def _store_scalar(variable, grad, node, note):
    """The plain engine's 0-d fast path under ``GRAD_LOCK``: True if ``grad`` was stored (and
    ``note`` told the node, the leaf and its ``.grad`` before, for undoing: autograd/partial)."""
    with GRAD_LOCK:
        held = variable._grad
        if held is None:
            variable._grad = grad
        elif held.__class__ is grad.__class__:  # a scalar nobody has read yet
            variable._grad = held + grad
        else:
            return False
    note((node, variable, held))
    return True


def _accumulate(tensor, grad, create_graph, inline):
    held = bound.grad_tensor(tensor)
    if create_graph:
        if held is None:
            tensor._grad = _copy_node(grad)
        else:
            tensor._grad = held + grad
        return
    if held is None:
        dtype = tensor._data.dtype
        if grad.dtype is not dtype and grad.dtype != dtype:
            grad = grad.astype(dtype)
            inline = True  # astype made a private copy
        owned = _unshared(grad) if inline else None
        # Never alias a gradient someone else can see (a rule may hand one array to two
        # inputs); an array nothing else refers to is taken over, as PyTorch steals buffers.
        if owned is None:  # (a sparse gradient is copied as what it is)
            owned = grad.copy() if grad.__class__ is SparseArray else np.array(grad, order="C")
        tensor._grad = bound.make(owned)
        return
    data = held._data
    if data.__class__ is SparseArray:  # a sparse .grad: PyTorch appends a sparse gradient
        tensor._grad = bound.make(data.accumulate(grad))
        return
    try:
        np.add(data, grad, out=data, casting="unsafe")
    except ValueError:
        raise broadcast_error(data.shape, grad.shape) from None
    if held._vc is not None:
        held._vc[0] += 1


_refcount = sys.getrefcount
# References a gradient nothing else holds has inside ``_unshared`` when ``_execute`` hands it
# to its leaf (the loop's local name, four parameters: ``_leaf``'s, ``_store_grad``'s,
# ``_accumulate``'s and ``_unshared``'s, getrefcount's argument).
# Counting references is how PyTorch decides to steal a buffer too; interpreters that stop
# counting references to locals (3.14's stack references) would make this unsafe, so the
# takeover is off there. tests/autograd/test_engine_memory.py checks both directions.
_UNSHARED = 6 if sys.version_info < (3, 14) else 0
_UNSHARED_BASE = 3  # the view's reference, the local name, getrefcount's argument
# A gradient buffer nobody else holds: the buffers dict, the local name, getrefcount's argument.
_BUFFER_ONLY = 3 if _UNSHARED else 0


def _unshared(grad):
    """``grad``'s memory as an array that only the caller refers to, or None."""
    if grad.__class__ is not np.ndarray or not grad.flags.writeable:
        return None
    base = grad.base
    if base is None:
        return grad if _refcount(grad) <= _UNSHARED else None
    # A C-contiguous view of a whole private array (a transpose's transpose): hand over the base.
    if (
        base.__class__ is np.ndarray
        and base.base is None
        and base.shape == grad.shape
        and base.flags.c_contiguous
        and grad.flags.c_contiguous
        and base.flags.writeable
        and _refcount(base) <= _UNSHARED_BASE
        and _refcount(grad) <= _UNSHARED
    ):
        return base
    return None


def _copy_node(grad):
    _make = bound.make
    if not grad.requires_grad:
        return _make(grad._data.copy())
    node = CopyBackwards()
    node._seq = next_seq()
    link(node, (None, grad))
    return _make(grad._data.copy(), node, 0)
