"""Softmax family, ``nll_loss`` and ``cross_entropy``.

``softmax``, ``log_softmax`` and ``nll_loss`` are primitives (``cross_entropy`` is their
composition, as in PyTorch): computing ``log(softmax(x))`` in two steps loses everything below
``exp(-88)`` in float32, so ``log_softmax`` is fused and shifted by the row maximum.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad._batched import as_data
from glassgrad.ops import _dual as D
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.loss.checks import check_nll, check_probabilities
from glassgrad.ops.registry import OUT, node_class, register, result
from glassgrad.tensor import _wrap_dim

_OUT = (OUT,)


# -- softmax family ----------------------------------------------------------------------------
def _softmax_dim(name, ndim, dim, stacklevel=4):
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the "
            "call to include dim=X as an argument.",
            UserWarning,
            stacklevel=stacklevel,
        )
        dim = 0 if ndim in (0, 1, 3) else 1
    return _wrap_dim(dim, ndim)  # a 0-d tensor takes dim 0 or -1


def _cast(input, dtype, kernel="softmax", dim=-1):
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        last = "_lastdim" if dim in (-1, input._data.ndim - 1) or not input._data.ndim else ""
        raise NotImplementedError(
            f"\"{kernel}{last}_kernel_impl\" not implemented for '{input.dtype._legacy[:-6]}'"
        )
    return input


SoftmaxBackward0 = node_class(
    "SoftmaxBackward0",
    lambda ctx, grad, out: (out * (grad - D.sum_dims(grad * out, ctx._args, True)),),
    jvp=lambda ctx, t: ctx.output * (t - (t * ctx.output).sum(dim=ctx.args, keepdim=True)),
)
LogSoftmaxBackward0 = node_class(
    "LogSoftmaxBackward0",
    lambda ctx, grad, out: (grad - D.exp(out) * D.sum_dims(grad, ctx._args, True),),
    jvp=lambda ctx, t: t - (t * ctx.output.exp()).sum(dim=ctx.args, keepdim=True),
)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, shifted by the maximum so it never overflows."""
    dim = _softmax_dim("softmax", input._data.ndim, dim)
    input = _cast(input, dtype, "softmax", dim)
    data = input._data
    shifted = np.exp(data - data.max(axis=dim, keepdims=True)) if data.size else data
    # (NumPy keeps a transposed input's layout; PyTorch's result is contiguous)
    out = np.asarray(shifted / shifted.sum(axis=dim, keepdims=True), order="C")
    return result(out, SoftmaxBackward0, (input,), _OUT, args=dim)


SafeSoftmaxBackward0 = node_class(
    "SafeSoftmaxBackward0",
    lambda ctx, grad, out: (out * (grad - D.sum_dims(grad * out, ctx._args, True)),),
)


def _safe_softmax(input, dim, dtype=None):
    """``softmax`` that gives zeros, not NaN, along rows that are all ``-inf`` (fully masked)."""
    input = _cast(input, dtype)
    data = input._data
    dim = _wrap_dim(dim, max(data.ndim, 1)) if data.ndim else 0
    if not data.size:
        return result(data.copy(), SafeSoftmaxBackward0, (input,), _OUT, args=dim)
    top = data.max(axis=dim, keepdims=True)
    masked = np.isneginf(top)
    with np.errstate(invalid="ignore"):
        shifted = np.exp(data - np.where(masked, 0, top))
        out = shifted / shifted.sum(axis=dim, keepdims=True)
    out = np.asarray(np.where(masked, 0, out).astype(data.dtype, copy=False), order="C")
    return result(out, SafeSoftmaxBackward0, (input,), _OUT, args=dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``x - logsumexp(x)`` along ``dim``, fused for stability (see the module docstring)."""
    dim = _softmax_dim("log_softmax", input._data.ndim, dim)
    input = _cast(input, dtype, "log_softmax", dim)
    data = input._data
    if data.size:
        shifted = data - data.max(axis=dim, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
    else:
        out = data.copy()
    out = np.asarray(out, order="C")  # (contiguous, as PyTorch's)
    return result(out, LogSoftmaxBackward0, (input,), _OUT, args=dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x)``."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, None)
    return softmax(-_cast(input, dtype), dim)


# -- nll_loss / cross_entropy ------------------------------------------------------------------
def _nll_backward(ctx, grad, scale):
    shape, key = ctx._args
    return (D.scatter_into(shape, key, grad * scale),)


NllLossBackward0 = node_class("NllLossBackward0", _nll_backward)
NllLoss2DBackward0 = node_class("NllLoss2DBackward0", _nll_backward)  # spatial inputs


def _nll_key(data, target, weight, ignore_index):
    """The index of each target's logit, its weight (0 where ignored) and the class count."""
    if data.ndim == 1:
        data_2d = data.reshape(1, -1)
        target = target.reshape(1)
    else:
        data_2d = data
    classes = data_2d.shape[1]
    valid = target != ignore_index
    if target.size and np.any((target[valid] < 0) | (target[valid] >= classes)):
        bad = target[valid][(target[valid] < 0) | (target[valid] >= classes)][0]
        raise IndexError(f"Target {bad} is out of bounds.")
    safe = np.where(valid, target, 0)
    w = weight[safe] if weight is not None else np.ones(safe.shape, data.dtype)
    w = np.where(valid, w, 0).astype(data.dtype)
    grids = np.indices(safe.shape, sparse=True)
    key = (grids[0], safe, *grids[1:]) if data.ndim > 1 else (safe.reshape(()),)
    return key, w if data.ndim > 1 else w.reshape(())


def nll_loss(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"
):
    """The negative log likelihood of ``target`` classes under log-probabilities ``input``."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    check_nll(input, target, weight)
    data, tdata = input._data, target._data
    key, w = _nll_key(data, tdata, None if weight is None else weight._data, ignore_index)
    picked = data[key] * w
    if reduction == "none":
        out, scale = -picked, -w
    elif reduction == "sum":
        out, scale = -picked.sum(), -w
    elif reduction == "mean":
        total = w.sum()
        out, scale = -picked.sum() / total, -w / total
    else:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    cls = NllLoss2DBackward0 if data.ndim > 2 else NllLossBackward0
    return result(as_data(out, data.dtype), cls, (input,), (scale,), args=(data.shape, key))


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index=-100,
    reduce=None,
    reduction="mean",
    label_smoothing=0.0,
):
    """``nll_loss(log_softmax(input, 1), target)``, or soft targets given as probabilities."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    class_dim = 0 if input.ndim == 1 else 1
    if input._data.shape == target._data.shape:  # PyTorch's test for class probabilities
        check_probabilities(input, target, weight, ignore_index)
    elif label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    logp = log_softmax(input, class_dim)
    classes = input.shape[class_dim]
    if input._data.shape == target._data.shape:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0.0:
        return loss
    smooth = _smooth_term(logp, target, weight, ignore_index, reduction, class_dim)
    # PyTorch scales by C++ Scalars here (MulBackward1), not by tensors
    return N.mul_scalar(loss, 1 - label_smoothing) + N.mul_scalar(smooth, label_smoothing / classes)


def _weight_view(weight, ndim, class_dim):
    shape = [1] * ndim
    shape[class_dim] = weight.shape[0]
    return weight.reshape(shape)


def _smooth_term(logp, target, weight, ignore_index, reduction, class_dim):
    if weight is not None:
        logp = logp * _weight_view(weight, logp.ndim, class_dim)
    keep = target._data != ignore_index
    smooth = -logp.sum(class_dim) * N.as_tensor(keep.astype(logp._data.dtype))
    if reduction == "none":
        return smooth
    if reduction == "sum":
        return smooth.sum()
    if weight is not None:
        return smooth.sum() / float(weight._data[target._data[keep]].sum())
    return smooth.sum() / float(keep.sum())


def _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, class_dim):
    classes = logp.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = logp * target
    if weight is not None:
        terms = terms * _weight_view(weight, logp.ndim, class_dim)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    return N.div_scalar(-terms.sum(), logp.numel() / classes)


def _class_samples(rng):
    logits = rng.standard_normal((4, 5))
    target = rng.integers(0, 5, size=4)
    return [
        ((logits, target), {}),
        ((logits, target), {"reduction": "sum"}),
        ((logits, target), {"reduction": "none"}),
    ]


def _dim_samples(rng):
    return [
        ((rng.standard_normal((3, 4)),), {"dim": 1}),
        ((rng.standard_normal((2, 3)),), {"dim": 0}),
    ]


def _np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


register(
    "softmax",
    softmax,
    reference=_np_softmax,
    samples=_dim_samples,
    out={
        "dtype": "expected",
        "grad_name": None,
        "out_grad_name": "aten::softmax",
        "composite": True,
    },
)
register(
    "_safe_softmax",
    _safe_softmax,
    method=False,
    reference=_np_softmax,
    samples=_dim_samples,
    edge_samples=lambda rng: [
        ((np.array([[1.0, 2.0, -np.inf], [-np.inf, -np.inf, -np.inf]]),), {"dim": 1}),
        ((np.array([[-np.inf, 0.5], [-np.inf, -np.inf], [3.0, 1.0]]),), {"dim": 0}),
    ],
)
register(
    "log_softmax",
    log_softmax,
    reference=lambda x, dim: np.log(_np_softmax(x, dim)),
    samples=_dim_samples,
    out={
        "dtype": "expected",
        "grad_name": None,
        "out_grad_name": "aten::log_softmax",
        "composite": True,
    },
)
register(
    "softmin",
    softmin,
    method=False,
    function=False,
    reference=lambda x, dim: _np_softmax(-x, dim),
    samples=_dim_samples,
)
register("nll_loss", nll_loss, method=False, function=False, nin=1, samples=_class_samples)
register(
    "cross_entropy", cross_entropy, method=False, function=False, nin=1, samples=_class_samples
)
