"""Operations that accept NumPy arrays or tensors, so that one backward rule serves both.

The engine feeds rules arrays for first-order backward (fast) and tensors under
``create_graph=True`` (so the rule's own operations are recorded for double backward). Python
operators already work on both; the few functions rules need beyond them live here.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import zeros_over
from glassgrad._bfloat16 import differentiable as _differentiable

_ndarray = np.ndarray


def _is_array(x) -> bool:
    return x.__class__ is _ndarray or not hasattr(x, "_data")


def on_tensors(rule):
    """``rule`` written on tensors only (gathers, scatters, flips...): on the first-order path
    the arrays it gets are wrapped as tensors for the duration of the rule, and unwrapped after.
    Under ``create_graph`` it records itself as any rule does."""
    import functools

    @functools.wraps(rule)
    def run(ctx, grad, *saved):
        if not _is_array(grad):
            return rule(ctx, grad, *saved)
        from glassgrad.tensor import _make

        wrapped = [_make(np.asarray(s)) if _is_array(s) and s is not None else s for s in saved]
        grads = rule(ctx, _make(np.asarray(grad)), *wrapped)
        return tuple(g._data if hasattr(g, "_data") else g for g in grads)

    return run


def exp(x):
    return np.exp(x) if _is_array(x) else x.exp()


def log(x):
    return np.log(x) if _is_array(x) else x.log()


def where(cond, x, y):
    """``cond ? x : y``; ``cond`` is a bool array or tensor (never differentiated)."""
    if _is_array(cond) and _is_array(x) and _is_array(y):
        return np.where(cond, x, y)
    from glassgrad.ops.elementwise.where import where as twhere

    return twhere(cond, x, y)


def zeros_like(x):
    if _is_array(x):
        return np.zeros_like(x)
    from glassgrad.creation import zeros_like as tzeros

    return tzeros(x)


def sum_dims(x, dims, keepdim=False):
    if _is_array(x):
        return x.sum(axis=dims, keepdims=keepdim)
    return x.sum(dim=dims, keepdim=keepdim)


def reshape(x, shape):
    return x.reshape(shape)


def expand(x, shape):
    if _is_array(x):
        return np.broadcast_to(x, shape)
    return x.expand(shape)


def permute(x, axes):
    if _is_array(x):
        return x.transpose(axes)
    return x.permute(axes)


def swapaxes(x, d0, d1):
    if _is_array(x):
        return x.swapaxes(d0, d1)
    return x.transpose(d0, d1)


def new_zeros(x, shape):
    if _is_array(x):
        return np.zeros(shape, dtype=x.dtype)
    from glassgrad.creation import zeros

    return zeros(shape, dtype=x.dtype)


def index_put_zero(grad, key):
    """A copy of ``grad`` with ``grad[key] = 0`` (CopySlices' gradient for the overwritten base)."""
    if _is_array(grad):
        out = np.array(grad)  # (an ndarray also where a 0-d gradient came as a NumPy scalar)
        out[key] = 0
        return out
    from glassgrad.ops.index.indexing import index_fill_zero

    return index_fill_zero(grad, key)


def scatter_into(shape, key, grad):
    """Zeros of ``shape`` with ``grad`` added at ``key`` (the gradient of indexing)."""
    if _is_array(grad):
        out = zeros_over(shape, grad.dtype, grad, key)  # (np.zeros, batched under vmap)
        np.add.at(out, key, grad)
        return out
    from glassgrad.ops.index.indexing import index_scatter

    return index_scatter(shape, key, grad)


def np_sign(x):
    """``np.sign`` with PyTorch's 0 (not NaN) for a NaN element (and bool kept as it is)."""
    if getattr(x, "dtype", None) == np.bool_:
        return np.array(x, copy=True)
    out = np.sign(x)
    if _differentiable(out):
        return np.where(x != x, out.dtype.type(0), out)
    return out


def sign(x):
    """PyTorch's sign of an array (NaN: 0) or a tensor: what ``abs``, ``l1`` and ``norm(p=1)``
    differentiate by, so a NaN element gets gradient 0 as in PyTorch."""
    return np_sign(x) if _is_array(x) else x.sgn() if x.is_complex() else x.sign()


def conj(x):
    """The complex conjugate of an array or a tensor (a real one unchanged)."""
    if getattr(x, "dtype", None) is None:
        return x
    if _is_array(x):
        return np.conj(x) if x.dtype.kind == "c" else x
    return x.conj_physical() if x.is_complex() else x


def call(name, x):
    """``np.<name>(x)`` for an array, ``x.<name>()`` for a tensor (sign, sin, cos, ...)."""
    return getattr(np, name)(x) if _is_array(x) else getattr(x, name)()


def tanh_grad(grad, out):
    """``grad * (1 - out**2)``; on arrays with one temporary instead of three."""
    if _is_array(grad) and _is_array(out) and getattr(out, "ndim", 0):
        scratch = np.multiply(out, out)
        np.subtract(1, scratch, out=scratch)
        return (
            np.multiply(scratch, grad, out=scratch)
            if scratch.shape == np.shape(grad)
            else scratch * grad
        )
    return grad * (1 - out * out)


def sigmoid_grad(grad, out):
    """``grad * out * (1 - out)``; on arrays with one temporary instead of three."""
    if _is_array(grad) and _is_array(out) and getattr(out, "ndim", 0):
        scratch = np.subtract(1, out)
        np.multiply(scratch, out, out=scratch)
        return (
            np.multiply(scratch, grad, out=scratch)
            if scratch.shape == np.shape(grad)
            else scratch * grad
        )
    return grad * out * (1 - out)


def select(cond, grad, keep=None, name="ThresholdBackwardBackward0"):
    """``grad`` where ``cond`` holds, else 0: how a rule zeroes a gradient (relu, clamp, ...).

    Selecting, not multiplying by a 0/1 mask: an inf or NaN gradient arriving from further down
    becomes 0 where ``cond`` is false, as in PyTorch. ``keep``: the rule's saved input or output;
    under ``create_graph`` the selection is recorded as PyTorch's ``name`` node with ``keep`` as
    a second input of zero derivative, so that (as in PyTorch) double backward reaches it with
    zeros instead of None.
    """
    if _is_array(grad):
        if keep is None or _is_array(keep) or not keep.requires_grad:
            return np.where(cond, grad, 0)
    elif keep is None or not keep.requires_grad:
        return where(cond, grad, zeros_like(grad))
    return _select_node(name)(cond, grad, keep)


_SELECT_NODES: dict = {}


def _select_node(name):
    """The recorded form of ``select``, one node class per PyTorch name."""
    make = _SELECT_NODES.get(name)
    if make is not None:
        return make
    from glassgrad.autograd.node import node_class
    from glassgrad.autograd.record import result
    from glassgrad.tensor import Tensor

    def backward(ctx, grad):
        return select(ctx._args, grad), zeros_like(grad)

    cls = node_class(name, backward)

    def make(cond, grad, keep):
        if not isinstance(grad, Tensor):
            from glassgrad.creation import as_tensor

            grad = as_tensor(grad)
        cond = cond._data if isinstance(cond, Tensor) else np.asarray(cond)
        out = np.where(cond, grad._data, np.zeros((), grad._data.dtype))
        return result(out, cls, (grad, keep), args=cond)

    _SELECT_NODES[name] = make
    return make
