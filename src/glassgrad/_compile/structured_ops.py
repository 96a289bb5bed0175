"""The array code of the prims ``structured`` writes out: each op's forward, the same NumPy calls
as the eager op (its convolution kernels and pooling masks included), and its backward per
operand, registered with ``structured._prim``."""

from __future__ import annotations

import math

import numpy as np

from glassgrad._compile.structured import _prim


# -- products --------------------------------------------------------------------------------------
def _rows(a):
    return a.reshape(-1, a.shape[-1])


_prim(
    "matmul",
    np.matmul,
    b0=(lambda g, b: g @ b.T, (1,), False, False),
    b1=(lambda g, a: _rows(a).T @ _rows(g), (0,), False, False),
)


def _addmm(bias, mat1, mat2):
    out = np.matmul(mat1, mat2)
    out += bias  # (eager adds the bias into the product in place, in this order)
    return out


_prim(
    "addmm",
    _addmm,
    b0=(lambda g: g, (), False, False),
    b1=(lambda g, mat2: g @ mat2.T, (2,), False, False),
    b2=(lambda g, mat1: mat1.T @ g, (1,), False, False),
)


def _linear(x, w, b):
    if b is None or x.ndim == 2:
        out = np.matmul(x, w.T)
        if b is not None:
            out += b
        return out
    if x.ndim == 1 or x.flags.c_contiguous:  # (eager folds these into one addmm)
        out = _rows(x) @ w.T
        out += b
        return out.reshape(*x.shape[:-1], w.shape[0])
    return np.matmul(x, w.T) + b


def _linear_grad_input(g, w):
    return np.matmul(g, w)


def _linear_grad_weight(g, x):
    if x.ndim == 1:
        return np.outer(g, x)
    return _rows(g).T @ _rows(x)


def _linear_grad_bias(g):
    return g if g.ndim == 1 else _rows(g).sum(axis=0)


_prim(
    "linear",
    _linear,
    b0=(_linear_grad_input, (1,), False, False),
    b1=(_linear_grad_weight, (0,), False, False),
    b2=(_linear_grad_bias, (), False, False),
)


# -- softmax and losses ------------------------------------------------------------------------
def _softmax(x, dim):
    if not x.size:
        return np.asarray(x, order="C").copy()
    shifted = np.exp(x - x.max(axis=dim, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=dim, keepdims=True), order="C")


def _log_softmax(x, dim):
    if not x.size:
        return x.copy()
    shifted = x - x.max(axis=dim, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True)), order="C")


def _log_softmax_grad(g, out, dim):
    return g - np.exp(out) * g.sum(axis=dim, keepdims=True)


_prim(
    "softmax",
    _softmax,
    b0=(lambda g, out, dim: out * (g - (g * out).sum(axis=dim, keepdims=True)), (1,), True, False),
)
_prim("log_softmax", _log_softmax, b0=(_log_softmax_grad, (1,), True, False))


def _nll(logp, target, reduction, ignore_index):
    """Eager's nll_loss on arrays: the loss and (scale, key) for the backward."""
    from glassgrad.ops.nn.loss.nll import _nll_key

    key, w = _nll_key(logp, target, None, ignore_index)  # (raises on a class out of range)
    picked = logp[key] * w
    if reduction == "none":
        out, scale = -picked, -w
    elif reduction == "sum":
        out, scale = -picked.sum(), -w
    else:
        total = w.sum()
        out, scale = -picked.sum() / total, -w / total
    return np.asarray(out, logp.dtype), (scale, key)


def _nll_grad(g, aux, shape):
    scale, key = aux
    grad = np.zeros(shape, scale.dtype)
    grad[key] = g * scale
    return grad


def _nll_loss(x, target, reduction, ignore_index, shape):
    return _nll(x, target, reduction, ignore_index)


def _cross_entropy(x, target, reduction, ignore_index, shape):
    logp = _log_softmax(x, 0 if x.ndim == 1 else 1)
    out, aux = _nll(logp, target, reduction, ignore_index)
    return out, (logp, *aux)


def _cross_entropy_grad(g, aux):
    logp, scale, key = aux
    grad = _nll_grad(g, (scale, key), logp.shape)
    return _log_softmax_grad(grad, logp, 0 if logp.ndim == 1 else 1)


_prim(
    "nll_loss",
    _nll_loss,
    aux=True,
    b0=(_nll_grad, (4,), False, True),
)
_prim("cross_entropy", _cross_entropy, aux=True, b0=(_cross_entropy_grad, (), False, True))


def _mse_loss(x, t, reduction):
    diff = x - t
    loss = diff * diff
    if reduction == "mean":
        return np.asarray(loss.mean(), loss.dtype)
    return np.asarray(loss.sum(), loss.dtype) if reduction == "sum" else loss


def _mse_grad(g, x, t, reduction):
    local = (x - t) * 2
    return g * local / max(x.size, 1) if reduction == "mean" else g * local


_prim(
    "mse_loss",
    _mse_loss,
    b0=(_mse_grad, (0, 1, 2), False, False),
    b1=(lambda g, x, t, reduction: -_mse_grad(g, x, t, reduction), (0, 1, 2), False, False),
)


# -- reductions over dimensions, reshapes ------------------------------------------------------
def _count(shape, dims):
    return math.prod(shape[d] for d in dims)


def _expand_back(g, dims, keepdim, shape):
    if not keepdim:
        g = np.expand_dims(g, dims)
    out = np.empty(shape, g.dtype)
    out[...] = g
    return out


def _mean(x, dims, keepdim, shape):
    return x.sum(axis=dims, keepdims=keepdim) / x.dtype.type(_count(x.shape, dims))


_prim(
    "sum",
    lambda x, dims, keepdim, shape: x.sum(axis=dims, keepdims=keepdim),
    b0=(_expand_back, (1, 2, 3), False, False),
)
_prim(
    "mean",
    _mean,
    b0=(
        lambda g, dims, keepdim, shape: _expand_back(
            g / max(_count(shape, dims), 1), dims, keepdim, shape
        ),
        (1, 2, 3),
        False,
        False,
    ),
)
_prim(
    "reshape",
    lambda x, shape, in_shape: x.reshape(shape),
    b0=(lambda g, in_shape: g.reshape(in_shape), (2,), False, False),
)


# -- convolution and pooling -------------------------------------------------------------------
def _conv2d(x, w, b, stride, padding, dilation, groups, keep, x_shape, w_shape):
    from glassgrad.ops.nn.conv import kernels

    params = (stride, padding, dilation, groups)
    if keep:
        out, cols = kernels.conv_forward(x, w, *params, keep=True)
    else:
        out, cols = kernels.conv_forward(x, w, *params), None
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out, cols


def _conv2d_grad_input(g, w, stride, padding, dilation, groups, x_shape):
    from glassgrad.ops.nn.conv import kernels

    return kernels.conv_input_grad(g, w, x_shape, stride, padding, dilation, groups)


def _conv2d_grad_weight(g, cols, stride, padding, dilation, groups, w_shape):
    from glassgrad.ops.nn.conv import kernels

    params = (stride, padding, dilation, groups)
    return kernels.conv_weight_grad(None, g, w_shape, *params, cols=cols)


_CONV = (3, 4, 5, 6)
_prim(
    "conv2d",
    _conv2d,
    aux=True,
    b0=(_conv2d_grad_input, (1, *_CONV, 8), False, False),
    b1=(_conv2d_grad_weight, (*_CONV, 9), False, True),
    b2=(lambda g: g.sum(axis=(0, 2, 3)), (), False, False),
)


def _max_pool2d(x, kernel, shape):
    """The tiled pooling of eager, or (with a NaN, which wins at its own position) eager's
    general path run as an op, its graph kept for the backward."""
    from glassgrad.ops.nn.pool import tiled

    out, masks = tiled.tiled_max(x, kernel)
    if out is not None:
        return out, ("masks", masks)
    from glassgrad.autograd.grad_mode import enable_grad
    from glassgrad.nn.functional import max_pool2d
    from glassgrad.tensor import _make

    leaf = _make(x)
    leaf._requires_grad = True
    with enable_grad():
        made = max_pool2d(leaf, kernel)
    return made._data, ("graph", (leaf, made))


def _max_pool2d_grad(g, aux, shape):
    from glassgrad.ops.nn.pool import tiled

    kind, held = aux
    if kind == "masks":
        return tiled.tiled_backward(g, held, shape)
    from glassgrad import autograd
    from glassgrad.tensor import _make

    leaf, made = held
    (found,) = autograd.grad(made, leaf, _make(np.asarray(g)))
    return found._data


_prim("max_pool2d", _max_pool2d, aux=True, b0=(_max_pool2d_grad, (2,), False, True))


def _relu_max_pool2d(x, kernel, shape):
    from glassgrad.ops.nn.pool import tiled

    out, masks = tiled.tiled_max(x, kernel)
    if out is None:  # (a NaN: eager's ops, their graph kept, as in _max_pool2d)
        from glassgrad.autograd.grad_mode import enable_grad
        from glassgrad.nn.functional import max_pool2d, relu

        leaf = _make_leaf(x)
        with enable_grad():
            made = max_pool2d(relu(leaf), kernel)
        return made._data, ("graph", (leaf, made))
    return np.maximum(out.dtype.type(0), out), ("masks", masks, x)


def _relu_max_pool2d_grad(g, aux, shape):
    """Eager's two rules in eager's order: the pooling's (g at each window's first maximum; the
    masks of ``x`` are those of ``relu(x)`` wherever a window's maximum is positive, and the
    relu zeroes every other window), then relu's (+0 where ``x <= 0``), signed zeros included."""
    if aux[0] != "masks":
        return _max_pool2d_grad(g, aux, shape)
    from glassgrad.ops.nn.pool import tiled

    _, masks, x = aux
    return _positive_only(x, tiled.tiled_backward(g, masks, shape))


_SELECT = """def kernel(n, x, grad, zero):
    for i in range(n):
        if not x[i] > zero:
            grad[i] = zero
"""


def _positive_only(x, grad):
    """``grad`` set to +0 where ``x <= 0``, in place (one compiled loop where Numba is)."""
    from glassgrad._compile import fusion

    if not fusion.numba_available() or not (x.flags.c_contiguous and grad.flags.c_contiguous):
        return np.where(x <= 0, 0, grad)
    zero = grad.dtype.type(0)
    fusion.compiled_kernel(_SELECT)(x.size, x.reshape(-1), grad.reshape(-1), zero)
    return grad


def _make_leaf(x):
    from glassgrad.tensor import _make

    leaf = _make(x)
    leaf._requires_grad = True
    return leaf


_prim(
    "relu_max_pool2d",
    _relu_max_pool2d,
    aux=True,
    b0=(_relu_max_pool2d_grad, (2,), False, True),
)


# -- activations -----------------------------------------------------------------------------------
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu(x, approximate):
    from glassgrad.ops.elementwise.unary import _erf as erf

    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype), None
    one_plus_erf = erf(x * (1 / math.sqrt(2.0))) + 1
    return (x * 0.5 * one_plus_erf).astype(x.dtype, copy=False), one_plus_erf * 0.5


def _gelu_grad(g, cdf, x, approximate):
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        t = np.tanh(inner)
        d_inner = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
        return g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * d_inner)
    pdf = np.exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * (cdf + x * pdf)


_prim("gelu", _gelu, aux=True, b0=(_gelu_grad, (0, 1), False, True))
