"""The backward pass: an iterative walk over the graph, never recursive.

First-order backward feeds the rules NumPy arrays (fast); ``create_graph=True`` feeds them
tensors, so that the same rules record a differentiable graph of the gradient. Broadcasting and
dtype promotion are undone here, and only here: each gradient is summed back to the shape of the
input it flows into and cast to its dtype.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd import grad_mode
from glassgrad.autograd.node import AccumulateGrad, node_class

__all__ = ["run_backward", "sum_to"]


def sum_to(grad, shape):
    """Sum ``grad`` (array or tensor) over the dimensions that broadcasting added to ``shape``."""
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    if grad.__class__ is np.ndarray:
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        return grad.reshape(shape)
    if axes:
        grad = grad.sum(dim=axes, keepdim=True)
    return grad.reshape(shape)


def _fit(grad, meta, create_graph):
    """Undo broadcasting and promotion: give ``grad`` its input's shape and dtype."""
    shape, dtype = meta
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    if create_graph:
        if grad._data.dtype != dtype:
            grad = grad.to(dtype)
    elif grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def _collect(roots):
    """Count, for every node reachable from ``roots``, how many edges point at it."""
    deps: dict = {}
    stack = [node for node in roots]
    seen = set(stack)
    while stack:
        node = stack.pop()
        for edge in node.next_functions:
            nxt = edge[0]
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def run_backward(roots, retain_graph: bool, create_graph: bool, capture=None,
                 accumulate=True):
    """Propagate ``roots`` (a list of ``(node, output_nr, grad)``) back through the graph.

    Args:
        capture: for ``autograd.grad`` and ``backward(inputs=...)``: a dict mapping
            ``(node, output_nr)`` to a list that receives the total gradient arriving there.
        accumulate: whether ``AccumulateGrad`` nodes add into ``.grad``; with a ``capture`` and
            ``accumulate=True`` only captured leaves accumulate.
    """
    prev = (grad_mode.state.grad_enabled, grad_mode.state.inference)
    grad_mode._set(create_graph, prev[1])
    try:
        _execute(roots, retain_graph, create_graph, capture, accumulate)
    finally:
        grad_mode._set(*prev)


def _execute(roots, retain_graph, create_graph, capture, accumulate):
    buffers: dict = {}
    for node, output_nr, grad in roots:
        _add_to_buffer(buffers, node, output_nr, grad)
    deps = _collect(list(buffers))
    ready = [node for node in buffers if node not in deps]
    while ready:
        node = ready.pop()
        grads = buffers.pop(node)
        if node._pre_hooks is not None or node._retain is not None:
            grads = _run_tensor_hooks(node, grads, create_graph)
        if capture is not None:
            _capture(capture, node, grads)
        if node.__class__ is AccumulateGrad:
            if accumulate and (capture is None or (node, 0) in capture):
                _accumulate(node.variable, grads, create_graph)
            continue
        outputs = node.apply(grads, create_graph)
        if not retain_graph:
            node.release()
        for edge, grad, meta in zip(node.next_functions, outputs, node._meta):
            nxt = edge[0]
            if nxt is None:
                continue
            if grad is not None:
                grad = _fit(grad, meta, create_graph)
                _add_to_buffer(buffers, nxt, edge[1], grad)
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                if nxt in buffers:
                    ready.append(nxt)
                else:
                    _skip(nxt, deps, buffers, ready)


def _skip(node, deps, buffers, ready):
    """A node that received no gradient at all: release its successors' dependency counts."""
    stack = [node]
    while stack:
        for edge in stack.pop().next_functions:
            nxt = edge[0]
            if nxt is None:
                continue
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                if nxt in buffers:
                    ready.append(nxt)
                else:
                    stack.append(nxt)


def _add_to_buffer(buffers, node, output_nr, grad):
    if node._n_outputs == 1:
        held = buffers.get(node)
        buffers[node] = grad if held is None else held + grad
        return
    held = buffers.get(node)
    if held is None:
        held = buffers[node] = [None] * node._n_outputs
    held[output_nr] = grad if held[output_nr] is None else held[output_nr] + grad


def _run_tensor_hooks(node, grads, create_graph):
    """Tensor hooks on a node's outputs, in registration order, then ``retain_grad``."""
    from glassgrad.tensor import Tensor

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
                _store_grad(tensor, grads[output_nr], create_graph, Tensor)
    return grads[0] if single else grads


def _call_hook(hook, grad, create_graph):
    if grad is None:
        return None
    result = hook(_wrap(grad, create_graph))
    if result is None:
        return grad
    if tuple(result.shape) != tuple(grad.shape):
        raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the size of value")
    return _unwrap(result, create_graph)


def _wrap(grad, create_graph):
    if grad is None or create_graph:
        return grad
    from glassgrad.tensor import Tensor

    return Tensor._from_array(grad)


def _unwrap(value, create_graph):
    if value is None or create_graph:
        return value
    return value._data


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


def _accumulate(variable, grad, create_graph):
    """AccumulateGrad: leaf hooks first, then add into ``.grad`` (in place after the first)."""
    from glassgrad.tensor import Tensor

    extra = variable._extra
    if extra is not None and extra.hooks:
        for hook in list(extra.hooks.values()):
            grad = _call_hook(hook, grad, create_graph)
    _store_grad(variable, grad, create_graph, Tensor)


CopyBackwards = node_class("CopyBackwards", lambda ctx, grad: (grad,))


def _store_grad(tensor, grad, create_graph, Tensor):
    held = tensor._grad
    if create_graph:
        if held is None:
            tensor._grad = _copy_node(grad)
        else:
            tensor._grad = held + grad
        return
    if held is None:
        if grad.dtype != tensor._data.dtype:
            grad = grad.astype(tensor._data.dtype)
        tensor._grad = Tensor._from_array(np.array(grad, copy=True))
        return
    data = held._data
    try:
        np.add(data, grad, out=data, casting="unsafe")
    except ValueError:
        from glassgrad.ops.registry import broadcast_error

        raise broadcast_error(data.shape, grad.shape) from None
    if held._vc is not None:
        held._vc[0] += 1


def _copy_node(grad):
    from glassgrad.tensor import _make

    if not grad.requires_grad:
        return _make(grad._data.copy())
    node = CopyBackwards()
    node.next_functions = (grad._edge(),)
    node._meta = ((grad._data.shape, grad._data.dtype),)
    return _make(grad._data.copy(), node, 0)
