"""The plain backward walk: ``loss.backward()`` with no ``inputs=`` and no ``create_graph``.

The same walk as ``engine._loop`` with the branches that cannot apply taken out, written out
for speed: on small graphs this loop is most of what backward costs. Their edge dispatch is
written twice on purpose (a function call per edge would cost small graphs ~5%); the tests keep
the two alike: the engine's test modules and the gradient-control spec run through both loops
(``tests/autograd/conftest.py``, ``tests/autograd/test_semantics_general_loop.py``).
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd import bound, grad_mode
from glassgrad.autograd.accumulate import (
    _BUFFER_ONLY,
    _refcount,
    _run_tensor_hooks,
    _store_scalar,
    _threads,
)
from glassgrad.autograd.engine import (
    _add_to_buffer,
    _apply_special,
    _fitted,
    _leaf,
    _pop,
    _push,
    _user_code,
    run_backward,
)
from glassgrad.autograd.node import DATA_ASSIGNED as _data_assigned
from glassgrad.autograd.node import DETACHED as _detached
from glassgrad.autograd.node import FREED, SCALAR_PAIR, AccumulateGrad
from glassgrad.autograd.partial import keep_complete

_ndarray = np.ndarray


def backward_one(node, output_nr, grad, retain_graph: bool) -> None:
    """``loss.backward()``: the plain walk from output ``output_nr`` of ``node``, seeded with
    ``grad``: ``run_backward`` with one root and nothing else asked for, minus its set-up."""
    if node._n_outputs != 1 or node._seq is None:
        run_backward([(node, output_nr, grad)], retain_graph, False)
        return
    # (inference mode turns recording off: while no thread has it off, none is in inference)
    inference = bool(grad_mode.record_off[0]) and grad_mode.state.inference
    leaves = _propagate_plain(None, retain_graph, inference, node, grad)
    if leaves:
        _store_leaves(leaves, inference)


def _store_leaves(leaves, inference):
    """The leaves' part of a plain ``backward()``: hooks, then accumulation into ``.grad``.

    ``inference``: inference mode is on, so new ``.grad`` tensors are inference tensors (as
    PyTorch makes them).
    """
    rest = []
    locked = _threads()  # another thread may accumulate into the same leaves (accumulate.py)
    for node, grad in leaves.items():
        if not node._special and grad.__class__ is not _ndarray:
            # a 0-d gradient (a NumPy scalar) for a leaf with no hooks and no .grad yet: the
            # common case of small graphs, stored without the general path's checks
            variable = node._variable()
            if (
                variable is not None
                and variable._requires_grad
                and variable._grad is None
                and variable._extra is None
                and grad.dtype is variable._data.dtype
                and not locked
            ):
                if inference:  # an inference tensor, made now
                    variable._grad = bound.make(grad.__array__())  # (no version counter)
                else:
                    # kept as the scalar; tensor.grad_tensor makes the tensor when it is read
                    variable._grad = grad
                continue
        rest.append(node)
    grad = None  # the loop's last gradient must not keep a reference (see ``_unshared``)
    for node in rest:
        grad = leaves.pop(node)  # from here on ``grad`` has one holder (see ``_unshared``)
        if node._special or _has_hooks(node._variable()):
            _user_code(_hooked_leaf, node, grad)
        else:
            _leaf(node, grad, False, None, True)


def _has_hooks(variable):
    return variable is not None and variable._extra is not None and bool(variable._extra.hooks)


def _hooked_leaf(node, grad):
    if node._pre_hooks is not None:
        grad = _run_tensor_hooks(node, grad, False)
    _leaf(node, grad, False, None, True)


def _propagate_plain(roots, retain_graph, inference, root=None, seed=None):
    """``_propagate`` for plain ``backward()`` (no ``inputs=``, no ``create_graph``).

    The same walk as ``_loop`` with the branches that cannot apply taken out: this loop is most
    of what a small graph's backward costs. A 0-d gradient (a NumPy scalar) for a leaf with no
    hooks is stored as it arrives, as the scalar (``tensor.grad_tensor`` wraps it when read);
    PyTorch too accumulates into a leaf as soon as its gradient is ready. The other leaves'
    gradients are returned for ``_store_leaves``.

    ``root``, ``seed``: instead of ``roots``, the one node of a ``loss.backward()`` (one output,
    see ``backward_one``) and its gradient.
    """
    leaves: dict = {}
    if root is not None:
        buffers = {root: seed}
        heap = []
        ready = root
    elif len(roots) == 1 and roots[0][0]._n_outputs == 1 and roots[0][0]._seq is not None:
        node, _, grad = roots[0]  # one root, one output
        buffers = {node: grad}
        heap = []
        ready = node
    else:
        buffers = {}
        heap = []
        ready = None
        for node, output_nr, grad in roots:
            if node.__class__ is AccumulateGrad:
                held = leaves.get(node)
                leaves[node] = grad if held is None else held + grad
                continue
            if node not in buffers:
                _push(heap, (-node._seq, node))
            _add_to_buffer(buffers, node, output_nr, grad)
    # ``ready``: the one node waiting to run while nothing else waits. Chains (most of a small
    # graph) then pass from node to node without the heap; as soon as a second node waits,
    # both go to the heap, which keeps the order newest-first.
    pop, push = _pop, _push
    locked = _threads()  # another thread may accumulate into the same leaves (accumulate.py)
    eager: list = []  # (node, leaf, .grad before) of each early write, undone if backward fails
    note = eager.append
    node = None
    try:
        while True:
            if ready is not None:
                node = ready
                ready = None
            elif heap:
                node = pop(heap)[1]
            else:
                break
            grads = buffers.pop(node)
            saved = node._saved
            if node._special:
                outputs = _user_code(_apply_special, node, grads)
                if not retain_graph and saved is not None:
                    node._saved = FREED
                    node._vars = None
            elif saved is None:
                outputs = node._backward(grads)
            else:
                if saved is FREED or _data_assigned[0] or _detached[0]:
                    # the second-backward error, or saved inputs read from their tensors (node.py)
                    outputs = node.apply(grads, False)
                else:
                    records = node._vars
                    if records is not None:
                        for counter, version, _owner, _index in records:
                            if counter[0] != version:
                                node.saved(False)  # raises PyTorch's "modified by an inplace" error
                    scalars = node._scalars
                    if scalars == SCALAR_PAIR:
                        # 0-d saved arrays go to the rule as NumPy scalars (see Node.saved)
                        first, second = saved
                        outputs = node._backward(
                            grads,
                            first if first is None else first[()],
                            second if second is None else second[()],
                        )
                    elif scalars:
                        saved = [
                            v[()] if v.__class__ is _ndarray and not v.ndim else v for v in saved
                        ]
                        outputs = node._backward(grads, *saved)
                    else:
                        outputs = node._backward(grads, *saved)
                if not retain_graph:
                    node._saved = FREED  # freed as the pass goes, so backward's peak stays low
                    node._vars = None
            if node._exact:
                # operands of one shape and dtype (record2): the rule's gradients already fit them
                pairs = zip(node.next_functions, outputs)  # noqa: B905 - the rule returns one per edge
            else:
                pairs = _fitted(node, outputs)
            for (nxt, output_nr), grad in pairs:
                if nxt is None or grad is None:
                    continue
                if nxt.__class__ is AccumulateGrad:
                    # a NumPy scalar of the leaf's dtype (not an array, nothing to cast)
                    if grad.__class__ is nxt._type and not nxt._special and not inference:
                        variable = nxt._variable()
                        if (
                            variable is not None
                            and variable._extra is None
                            and variable._requires_grad
                        ):
                            if locked:
                                if _store_scalar(variable, grad, nxt, note):
                                    continue
                            else:
                                held = variable._grad
                                if held is None:
                                    variable._grad = grad
                                    note((nxt, variable, None))
                                    continue
                                if held.__class__ is grad.__class__:  # a scalar nobody has read
                                    variable._grad = held + grad
                                    note((nxt, variable, held))
                                    continue
                    held = leaves.get(nxt)
                    leaves[nxt] = grad if held is None else held + grad
                elif nxt._n_outputs == 1:
                    held = buffers.get(nxt)
                    if held is None:
                        buffers[nxt] = grad
                        if ready is None and not heap:
                            ready = nxt
                        else:
                            if ready is not None:
                                push(heap, (-ready._seq, ready))
                                ready = None
                            push(heap, (-nxt._seq, nxt))
                    elif (
                        held.__class__ is _ndarray
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
                        if ready is not None:
                            push(heap, (-ready._seq, ready))
                            ready = None
                        push(heap, (-nxt._seq, nxt))
                    _add_to_buffer(buffers, nxt, output_nr, grad)
    except BaseException:
        # PyTorch has written the leaves it had finished when a node fails (autograd/partial.py)
        starts = [root] if root is not None else [entry[0] for entry in roots]
        keep_complete(leaves, starts, node, eager)
        if leaves:
            _store_leaves(leaves, inference)
        raise
    return leaves
