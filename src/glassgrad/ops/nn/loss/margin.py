"""Margin (hinge) losses: ``soft_margin_loss`` and ``multi_margin_loss`` (primitives, as PyTorch
records them under their own ``grad_fn``), ``hinge_embedding_loss`` and ``triplet_margin_loss``
(composites built as ATen builds them)."""

from __future__ import annotations

import numpy as np

from glassgrad import _bfloat16
from glassgrad._batched import as_data
from glassgrad.autograd.forward_rules import pointwise_reduced
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.distance import pairwise_distance
from glassgrad.ops.registry import register


def _scaled(grad, local, count):
    return grad * local / count if count != 1 else grad * local


def _soft_margin_backward(ctx, grad, x, y):
    # d/dx log(1 + exp(-x y)) = -y * sigmoid(-x y)
    return (_scaled(grad, -y * N.sigmoid(-(x * y)), ctx._args),)


SoftMarginLossBackward0 = node_class(
    "SoftMarginLossBackward0", _soft_margin_backward, jvp=pointwise_reduced
)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))``, reduced."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):  # PyTorch checks this before the arguments
        raise ValueError(f"{reduction} is not a valid value for reduction")
    N.refuse_grad("soft_margin_loss", (("target", target),))
    loss = N.np_softplus(-(input._data * target._data).astype(input._data.dtype, copy=False))
    out, count = N.reduce_array(loss, reduction)
    return result(
        np.asarray(out, loss.dtype),
        SoftMarginLossBackward0,
        (input,),
        (input, target.detach()),
        args=count,
    )


# -- multi-class margin ---------------------------------------------------------------------------
def _margins(x, onehot, margin):
    """``margin - x[target] + x`` per class (arrays or tensors alike)."""
    return D.sum_dims(x * onehot, (x.ndim - 1,), keepdim=True) * -1 + x + margin


def _multi_margin_backward(ctx, grad, x):
    onehot, scale, p, margin, count, batched = ctx._args
    z = _margins(x, onehot, margin)
    active = (N.arr(z) > 0) & (onehot == 0)  # the hinge's kink: a constant mask
    local = active * scale if p == 1 else z * (active * (2 * scale))
    local = local - D.sum_dims(local, (x.ndim - 1,), keepdim=True) * onehot
    if batched and getattr(grad, "ndim", 0) == 1:  # reduction='none': one grad per sample
        grad = D.reshape(grad, (-1, 1))
    return (_scaled(grad, local, count),)


MultiMarginLossBackward0 = node_class(
    "MultiMarginLossBackward0",
    _multi_margin_backward,
    jvp="none",  # none in PyTorch either
)


def _check_multi_margin(input, target, p, weight):
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    classes = input.shape[-1] if input.ndim else 1
    batch = input.shape[0] if input.ndim == 2 else 1
    if target.ndim > 1 or target.numel() != batch:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{batch}], but got "
            f"{list(target.shape)}. Input has shape {list(input.shape)}."
        )
    t = target._data.reshape(-1)
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise RuntimeError("target out of range")
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError(
            f"expected scalar type {input.dtype._legacy[:-6]} but found {weight.dtype._legacy[:-6]}"
        )
    return classes


def multi_margin_loss(
    input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"
):
    """Multi-class hinge loss: ``sum_j max(0, margin - x[y] + x[j]) ** p / C`` per sample."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    classes = _check_multi_margin(input, target, p, weight)
    _bfloat16.refuse(input._data, "multi_margin_loss_cpu_kernel")
    x = input._data.reshape(-1, classes)
    t = target._data.reshape(-1).astype(np.int64)
    onehot = (np.arange(classes) == t[:, None]).astype(x.dtype)  # (vmap: per-sample targets)
    per_class = weight._data[t][:, None].astype(x.dtype) if weight is not None else 1.0
    scale = (np.ones((len(t), 1), x.dtype) * per_class) / classes
    z = _margins(x, onehot, margin)
    hinge = np.where((z > 0) & (onehot == 0), z, 0) ** p
    loss = (hinge * scale).sum(axis=1)
    if input.ndim < 2:
        loss, onehot, scale = loss.reshape(()), onehot[0], scale[0]
    out, count = N.reduce_array(loss, reduction)
    args = (onehot, scale, p, margin, count, input.ndim == 2)
    return result(as_data(out, x.dtype), MultiMarginLossBackward0, (input,), (input,), args=args)


# -- composites -----------------------------------------------------------------------------------
def hinge_embedding_loss(
    input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"
):
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    zeros = input * 0
    margin_clamp = (margin - input).clamp_min(0)
    output_margin = D.where(N.as_tensor(target._data != 1), margin_clamp, zeros)
    output_self = D.where(N.as_tensor(target._data != -1), input, zeros)
    return N.reduce_loss(output_margin + output_self, reduction)


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin=1.0,
    p=2,
    eps=1e-6,
    swap=False,
    size_average=None,
    reduce=None,
    reduction="mean",
):
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))``."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
            f"{dims[2]}D inputs"
        )
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        from glassgrad.ops.registry import OPS

        dist_neg = OPS["minimum"].fn(dist_neg, pairwise_distance(positive, negative, p, eps))
    return N.reduce_loss((dist_pos - dist_neg + margin).clamp_min(0), reduction)


def _soft_margin_samples(rng):
    # the target goes in as a keyword: the table makes positional float arrays require grad,
    # which soft_margin_loss refuses for its target (as PyTorch's does)
    x, sign = rng.standard_normal((3, 4)), np.where(rng.random((3, 4)) < 0.5, -1.0, 1.0)
    return [
        ((x,), {"target": sign}),
        ((x,), {"target": sign, "reduction": "sum"}),
        ((x[0],), {"target": sign[0], "reduction": "none"}),
    ]


def _multi_margin_samples(rng):
    x, target = rng.standard_normal((3, 4)), rng.integers(0, 4, 3)
    return [
        ((x, target), {}),
        ((x, target), {"p": 2, "margin": 0.5, "reduction": "sum"}),
        ((x, target), {"weight": rng.uniform(0.5, 2.0, 4), "reduction": "none"}),
        ((x[0], target[:1]), {}),
    ]


register(
    "soft_margin_loss", soft_margin_loss, method=False, function=False, samples=_soft_margin_samples
)
register(
    "multi_margin_loss",
    multi_margin_loss,
    method=False,
    function=False,
    samples=_multi_margin_samples,
    second_order=False,  # PyTorch has no derivative for multi_margin_loss_backward
)
