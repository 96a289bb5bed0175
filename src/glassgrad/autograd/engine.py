"""The backward pass: an iterative walk over the graph, never recursive.

First-order backward feeds the rules NumPy arrays (fast); ``create_graph=True`` feeds them
tensors, so that the same rules record a differentiable graph of the gradient. Broadcasting and
dtype promotion are undone here, and only here: each gradient is summed back to the shape of the
input it flows into and cast to its dtype.
"""

from __future__ import annotations

import heapq

import numpy as np

from glassgrad._batched import BatchedArray as _Batched
from glassgrad._batched import settle
from glassgrad.autograd import bound, grad_mode
from glassgrad.autograd.accumulate import (  # noqa: F401 - CopyBackwards, _UNSHARED re-exported
    _BUFFER_ONLY,
    _UNSHARED,
    CopyBackwards,
    _call_hook,
    _refcount,
    _run_tensor_hooks,
    _store_grad,
)
from glassgrad.autograd.node import DATA_ASSIGNED as _data_assigned
from glassgrad.autograd.node import DETACHED as _detached
from glassgrad.autograd.node import FREED, AccumulateGrad
from glassgrad.autograd.partial import keep_complete

__all__ = ["run_backward", "sum_to"]


def sum_to(grad, shape):
    """Sum ``grad`` (array or tensor) over the dimensions that broadcasting added to ``shape``.

    Records the nodes ATen's ``sum_to`` does: a full ``sum()`` for a 0-d input, else one
    ``sum(dims, keepdim=True)`` and a ``view`` only where leading dimensions were added."""
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    if grad.__class__ is np.ndarray or grad.__class__ is _Batched:
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        return grad.reshape(shape)
    if not shape:
        return grad.sum()
    if axes:
        grad = grad.sum(dim=axes, keepdim=True)
    return grad.view(shape) if lead else grad


def _fit(grad, meta, create_graph):
    """Undo broadcasting and promotion: give ``grad`` its input's shape and dtype."""
    shape, dtype = meta
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    if (grad._data if create_graph else grad).dtype.kind == "c" and dtype.kind != "c":
        grad = grad.real  # a real input of an op with a complex result: PyTorch's real part
    if create_graph:
        if grad._data.dtype != dtype:
            grad = grad.to(dtype)
    elif grad.dtype is not dtype and grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def _reachable(roots, capture):
    """For ``autograd.grad``: which nodes lead to a captured input (only those need to run)."""
    targets = {node for node, _ in capture}
    reach: dict = {}
    stack = [(node, False) for node in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            reach[node] = any(
                nxt in targets or reach.get(nxt, False)
                for nxt, _ in node.next_functions
                if nxt is not None
            )
            continue
        if node in reach:
            continue
        reach[node] = False  # provisional, also guards against revisiting
        stack.append((node, True))
        for nxt, _ in node.next_functions:
            if nxt is not None and nxt not in reach:
                stack.append((nxt, False))
    return reach


def run_backward(roots, retain_graph: bool, create_graph: bool, capture=None, accumulate=True):
    """Propagate ``roots`` (a list of ``(node, output_nr, grad)``) back through the graph.

    Args:
        capture: for ``autograd.grad`` and ``backward(inputs=...)``: a dict mapping
            ``(node, output_nr)`` to a list that receives the total gradient arriving there.
        accumulate: whether ``AccumulateGrad`` nodes add into ``.grad``; with a ``capture`` and
            ``accumulate=True`` only captured leaves accumulate.
    """
    state = grad_mode.state
    inference = state.inference
    if capture is None and not create_graph:
        # Plain backward(): the rules see arrays, so grad mode matters only to user code (hooks,
        # custom Functions), which ``_user_code`` runs with grad disabled, as PyTorch does.
        leaves = _propagate_plain(roots, retain_graph, inference)
        if leaves:
            _store_leaves(leaves, inference)
        return
    enabled = state.grad_enabled
    # Backward runs with grad mode equal to create_graph, as in PyTorch (it matters to hooks).
    # Inference mode stays on: PyTorch's backward then makes inference tensors and records
    # nothing, create_graph or not.
    if create_graph == enabled or inference:
        _execute(roots, retain_graph, create_graph, capture, accumulate)
        return
    grad_mode._set(create_graph, False)
    try:
        _execute(roots, retain_graph, create_graph, capture, accumulate)
    finally:
        grad_mode._set(enabled, False)


def _user_code(function, *args):
    """Call ``function`` (which runs hooks or a custom backward) with grad mode off.

    The plain path leaves grad mode alone while its rules run on arrays; what users wrote must
    see ``is_grad_enabled() == False`` during backward, as in PyTorch.
    """
    state = grad_mode.state
    if not state.grad_enabled:  # (inference mode implies this)
        return function(*args)
    grad_mode._set(False, False)
    try:
        return function(*args)
    finally:
        grad_mode._set(True, False)


def _execute(roots, retain_graph, create_graph, capture, accumulate):
    leaves: dict = {}
    try:
        _propagate(roots, retain_graph, create_graph, capture, leaves)
    except BaseException:
        # the leaves that were complete when a node failed get their gradients, as in PyTorch
        # (``_loop`` has already dropped the others: autograd/partial.py)
        _finish(leaves, create_graph, capture, accumulate)
        raise
    _finish(leaves, create_graph, capture, accumulate)


def _finish(leaves, create_graph, capture, accumulate):
    # Leaves last, once every contribution has arrived, and after the loop's locals are gone:
    # a gradient array is then referenced only from here, which ``_store_grad`` relies on.
    for node in list(leaves):
        grad = leaves.pop(node)
        if capture is not None and (node, 0) not in capture:
            continue  # PyTorch does not run a leaf that is not asked for (nor its hooks)
        if node._pre_hooks is not None:
            grad = _run_tensor_hooks(node, grad, create_graph)
        _leaf(node, grad, create_graph, capture, accumulate)


def _apply_special(node, grads):
    """A node with hooks, retained outputs or a custom ``apply``: the general way."""
    if node._pre_hooks is not None or node._retain is not None:
        grads = _run_tensor_hooks(node, grads, False)
    return node.apply(grads, False)


def _propagate(roots, retain_graph, create_graph, capture, leaves):
    """Run the graph's nodes; return the gradients that reached each leaf's ``AccumulateGrad``.

    Nodes run in decreasing order of creation (``_seq``), as in PyTorch's engine: a node is
    created after the nodes of its inputs, so when it is popped every node that could still
    send it a gradient has already run. No pass over the graph to count dependencies is needed.
    """
    buffers: dict = {}
    heap: list = []
    for node, output_nr, grad in roots:
        if node.__class__ is AccumulateGrad:
            held = leaves.get(node)
            leaves[node] = grad if held is None else held + grad
            continue
        if node not in buffers:
            _push(heap, (-node._seq, node))
        _add_to_buffer(buffers, node, output_nr, grad)
    # autograd.grad and backward(inputs=...) run only the nodes that lead to an input
    reach = _reachable(list(buffers), capture) if capture is not None else None
    plain = capture is None  # the common case: no autograd.grad, no backward(inputs=...)
    starts = [entry[0] for entry in roots]
    _loop(heap, buffers, leaves, reach, plain, retain_graph, create_graph, capture, starts)


def _loop(heap, buffers, leaves, reach, plain, retain_graph, create_graph, capture, starts):
    """The engine's loop: pop the newest node, run its rule, pass the gradients on.

    If a node fails, the leaves it (or an older node) still owed a gradient are dropped from
    ``leaves``, so that only the complete ones get theirs, as in PyTorch (autograd/partial.py).
    """
    node = None
    # autograd.grad runs only the nodes that are captured or lead to a capture: the others'
    # hooks do not run either, as in PyTorch
    targets = () if plain else {edge[0] for edge in capture}
    outer = _pass[0]
    _pass[0] = None if plain else (reach, targets)
    try:
        while heap:
            node = _pop(heap)[1]
            grads = buffers.pop(node)
            if not plain and not reach.get(node, False) and node not in targets:
                continue
            if node._pre_hooks is not None or node._retain is not None:
                grads = _run_tensor_hooks(node, grads, create_graph)
            if not plain:
                _capture(capture, node, grads)
                if reach is not None and not reach.get(node, False):
                    continue
            saved = node._saved
            if create_graph or node._custom_apply:
                outputs = node.apply(grads, create_graph)
            elif saved is None:
                outputs = node._backward(grads)
            elif (
                saved is not FREED and not node._scalars and not (_data_assigned[0] or _detached[0])
            ):
                records = node._vars
                if records is not None:
                    for counter, version, _owner, _index in records:
                        if counter[0] != version:
                            node.saved(False)  # raises PyTorch's "modified by an inplace" error
                outputs = node._backward(grads, *saved)
            else:
                outputs = node._backward(grads, *node.saved(False))
            if not retain_graph and saved is not None:
                node._saved = FREED  # freed as the pass goes, so backward's peak stays low
                node._vars = None
            # operands of one shape and dtype (record2): the rule's gradients already fit them
            exact = node._exact and not create_graph
            metas = node._input_meta()
            # one gradient per edge by the rules' contract; zip(strict=True) costs ~150 ns a call
            for (nxt, output_nr), grad, meta in zip(node.next_functions, outputs, metas):  # noqa: B905
                if nxt is None or grad is None:
                    continue
                if grad.__class__ is _Batched or (
                    create_graph and grad._data.__class__ is _Batched
                ):
                    grad = settle(grad, meta[0], create_graph)  # (vmap: see _batched.settle)
                if not exact and (grad.shape != meta[0] or grad.dtype is not meta[1]):
                    grad = _fit(grad, meta, create_graph)
                if nxt.__class__ is AccumulateGrad:
                    held = leaves.get(nxt)
                    leaves[nxt] = grad if held is None else held + grad
                elif nxt._n_outputs == 1:
                    held = buffers.get(nxt)
                    if held is None:
                        buffers[nxt] = grad
                        _push(heap, (-nxt._seq, nxt))
                    elif (
                        held.__class__ is _ndarray
                        and grad.__class__ is _ndarray  # (not a vmap batch into a plain one)
                        and _refcount(held) <= _BUFFER_ONLY
                        and held.base is None
                        and held.flags.writeable
                        and held.dtype is grad.dtype
                    ):
                        held += grad  # the buffer is the array's only holder: add in place
                    else:
                        buffers[nxt] = held + grad
                else:
                    if nxt not in buffers:
                        _push(heap, (-nxt._seq, nxt))
                    _add_to_buffer(buffers, nxt, output_nr, grad)
    except BaseException:
        keep_complete(leaves, starts, node)
        raise
    finally:
        _pass[0] = outer


# What the running ``autograd.grad`` pass needs: (nodes leading to a captured input, captured
# nodes); None for ``backward()``, which needs every input's gradient.
_pass = [None]


def output_needed(node, index) -> bool:
    """PyTorch's ``should_compute_output``: whether gradient ``index`` of ``node`` is used by
    the running pass (a rule with no formula for an input raises only then)."""
    nxt = node.next_functions[index][0]
    if nxt is None:
        return False
    running = _pass[0]
    return running is None or running[0].get(nxt, False) or nxt in running[1]


def _fitted(node, outputs):
    """``(edge, gradient)`` pairs with each gradient given its input's shape and dtype."""
    # one gradient per edge by the rules' contract; zip(strict=True) costs ~150 ns a call
    for edge, grad, meta in zip(node.next_functions, outputs, node._meta):  # noqa: B905
        if grad is not None and edge[0] is not None:
            if grad.shape != meta[0] or grad.dtype is not meta[1]:
                grad = _fit(grad, meta, False)
        yield edge, grad


def _leaf(node, grad, create_graph, capture, accumulate):
    """An ``AccumulateGrad`` node: leaf hooks, then capture and/or accumulation into ``.grad``."""
    variable = node._variable()
    if variable is None or not variable._requires_grad:
        return  # PyTorch's AccumulateGrad skips a leaf whose requires_grad was turned off
    inline = True  # ``grad`` is referenced only from the engine's last loop (see _execute)
    extra = variable._extra
    if extra is not None and extra.hooks:
        inline = False
        for hook in list(extra.hooks.values()):
            grad = _call_hook(hook, grad, create_graph)
    if capture is not None:
        slot = capture.get((node, 0))
        if slot is not None:
            slot.append(grad)
        if not accumulate or slot is None:
            return
    _store_grad(variable, grad, create_graph, bound.Tensor, inline)
    if node._post_hooks is not None:  # ``register_hook`` on the AccumulateGrad node itself
        _user_code(_node_post_hooks, node, grad)
    if extra is not None and extra.post_hooks:
        for hook in list(extra.post_hooks.values()):
            # with grad mode as backward has it: create_graph (the plain path's is on)
            if (hook(variable) if create_graph else _user_code(hook, variable)) is not None:
                raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def _node_post_hooks(node, grad):
    Tensor = bound.Tensor
    if grad.__class__ is not Tensor:
        grad = Tensor._from_array(np.asarray(grad))
    for hook in list(node._post_hooks.values()):
        hook((), (grad,))


_push, _pop = heapq.heappush, heapq.heappop
_new = object.__new__
_ndarray = np.ndarray


def _add_to_buffer(buffers, node, output_nr, grad):
    if node._n_outputs == 1:
        held = buffers.get(node)
        buffers[node] = grad if held is None else held + grad
        return
    held = buffers.get(node)
    if held is None:
        held = buffers[node] = [None] * node._n_outputs
    held[output_nr] = grad if held[output_nr] is None else held[output_nr] + grad


def _capture(capture, node, grads):
    if node._n_outputs == 1:
        slot = capture.get((node, 0))
        if slot is not None:
            slot.append(grads)
        return
    for output_nr, grad in enumerate(grads):
        slot = capture.get((node, output_nr))
        if slot is not None and grad is not None:
            slot.append(grad)


# The plain walk for loss.backward() lives in engine_plain (imported last: it uses the helpers
# above); run_backward and Tensor.backward reach it through these names.
from glassgrad.autograd.engine_plain import (  # noqa: E402, F401 - backward_one re-exported
    _propagate_plain,
    _store_leaves,
    backward_one,
)
