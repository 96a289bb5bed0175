"""Negative log-likelihood losses: ``nll_loss`` (a primitive, ``NllLossBackward0`` or
``NllLoss2DBackward0``) and ``cross_entropy``, composed of ``log_softmax`` and ``nll_loss`` as in
PyTorch (soft targets and label smoothing included), with PyTorch's argument checks
(``checks``); and the likelihoods of other distributions, ``poisson_nll_loss`` and
``gaussian_nll_loss`` (composites built as ATen builds them).
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad._batched import as_data
from glassgrad.autograd.forward_rules import pointwise_reduced
from glassgrad.autograd.grad_mode import no_grad
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.loss.checks import check_nll, check_probabilities
from glassgrad.ops.nn.softmax import log_softmax
from glassgrad.ops.registry import register


def _nll_backward(ctx, grad, scale):
    shape, key = ctx._args
    return (D.scatter_into(shape, key, grad * scale),)


NllLossBackward0 = node_class("NllLossBackward0", _nll_backward, jvp=pointwise_reduced)
# (spatial inputs)
NllLoss2DBackward0 = node_class("NllLoss2DBackward0", _nll_backward, jvp=pointwise_reduced)


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


# -- likelihoods of other distributions ------------------------------------------------------------
def poisson_nll_loss(
    input,
    target,
    log_input=True,
    full=False,
    size_average=None,
    eps=1e-8,
    reduce=None,
    reduction="mean",
):
    """Negative log likelihood of ``target`` under a Poisson with rate ``input``."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + (target * (2 * math.pi)).log() * 0.5
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return N.reduce_loss(loss, reduction)


def _gaussian_var(input, var):
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        from glassgrad.creation import ones_like

        return ones_like(input) * var
    if bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            return var.unsqueeze(-1)
        differing = [v for i, v in zip(input.shape, var.shape, strict=False) if i != v]
        if not (input.ndim == var.ndim and sum(differing) == 1):
            raise ValueError("var is of incorrect size")
    return var


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log likelihood of ``target`` under a Gaussian (``input``, ``var``)."""
    var = _gaussian_var(input, var)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():  # PyTorch clamps in place: the gradient ignores the clamp
        var.clamp_(min=eps)
    loss = (var.log() + (input - target) ** 2 / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return N.reduce_loss(loss, reduction)


def _class_samples(rng):
    logits = rng.standard_normal((4, 5))
    target = rng.integers(0, 5, size=4)
    return [
        ((logits, target), {}),
        ((logits, target), {"reduction": "sum"}),
        ((logits, target), {"reduction": "none"}),
    ]


register("nll_loss", nll_loss, method=False, function=False, nin=1, samples=_class_samples)
register(
    "cross_entropy", cross_entropy, method=False, function=False, nin=1, samples=_class_samples
)
