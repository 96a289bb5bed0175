"""Regression, binary and similarity losses.

Losses that PyTorch records under a ``grad_fn`` of their own (``MseLossBackward0``,
``BinaryCrossEntropyWithLogitsBackward0``, ...) are primitives here with that name; the others
(``l1_loss``, ``kl_div``, ``cosine_similarity``, ...) are composites built as PyTorch builds them,
so their ``grad_fn`` chains match too.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad._tensor_info import _c_type
from glassgrad.autograd.forward_rules import pointwise_reduced
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, result
from glassgrad.ops import _dual as D
from glassgrad.ops.elementwise.binary import broadcast_shapes
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor

_BCE_EPS = 1e-12  # PyTorch's floor on x * (1 - x) in the BCE gradient


def _check_sizes(input, target):
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
        broadcast_shapes(tuple(input.shape), tuple(target.shape))  # PyTorch's error if not


def _pointwise_loss(cls, input, target, loss, reduction, saved, args=()):
    """Reduce the elementwise ``loss`` array and record ``cls`` with the mean's divisor."""
    out, count = N.reduce_array(loss, reduction)
    inputs = (input, target if isinstance(target, Tensor) else None)
    return result(as_data(out, loss.dtype), cls, inputs, saved, args=(count, *args))


def _both(ctx, grad, local):
    """Gradients for ``input`` and ``target`` of a loss of ``input - target``."""
    grad_input = grad * local / ctx._args[0] if ctx._args[0] != 1 else grad * local
    return grad_input, -grad_input


MseLossBackward0 = node_class(
    "MseLossBackward0", lambda ctx, grad, x, y: _both(ctx, grad, (x - y) * 2), jvp=pointwise_reduced
)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    _check_sizes(input, target)
    _dt.refuse_complex(input._data, "mse_cpu")
    diff = input._data - target._data
    return _pointwise_loss(MseLossBackward0, input, target, diff * diff, reduction, (input, target))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    _check_sizes(input, target)
    return N.reduce_loss((input - target).abs(), reduction)


def _smooth_l1_backward(ctx, grad, x, y):
    beta = ctx._args[1]
    diff = x - y
    inside = np.abs(N.arr(diff)) < beta
    # beta = 0 is PyTorch's l1_loss, whose sign is 0 at NaN; its smooth kernel gives NaN there
    sign = (np.sign if beta else D.np_sign)(N.arr(diff))
    local = D.where(inside, diff / beta if beta else diff, D.zeros_like(diff) + sign)
    return _both(ctx, grad, local)


SmoothL1LossBackward0 = node_class(
    "SmoothL1LossBackward0", _smooth_l1_backward, jvp=pointwise_reduced
)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic below ``beta``, linear above."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    _check_sizes(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    diff = np.abs(input._data - target._data)
    loss = np.where(diff < beta, 0.5 * diff * diff / (beta or 1), diff - 0.5 * beta)
    return _pointwise_loss(
        SmoothL1LossBackward0,
        input,
        target,
        loss.astype(diff.dtype),
        reduction,
        (input, target),
        (beta,),
    )


def _huber_backward(ctx, grad, x, y):
    x_type, y_type = N.arr(x).dtype, N.arr(y).dtype
    if x_type != y_type:
        # PyTorch's huber_loss_backward kernel takes both in one dtype: the gradient of the
        # input (or, where it needs none, of the target) fails on the other's
        want, found = (x_type, y_type) if ctx.next_functions[0][0] is not None else (y_type, x_type)
        raise RuntimeError(f"Found dtype {_c_type(found)} but expected {_c_type(want)}")
    delta = ctx._args[1]
    diff = x - y
    inside = np.abs(N.arr(diff)) < delta
    local = D.where(inside, diff, D.zeros_like(diff) + delta * np.sign(N.arr(diff)))
    return _both(ctx, grad, local)


HuberLossBackward0 = node_class("HuberLossBackward0", _huber_backward, jvp=pointwise_reduced)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic below ``delta``, ``delta``-scaled linear above."""
    _check_sizes(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    diff = np.abs(input._data - target._data)
    loss = np.where(diff < delta, 0.5 * diff * diff, delta * (diff - 0.5 * delta))
    return _pointwise_loss(
        HuberLossBackward0,
        input,
        target,
        loss.astype(input._data.dtype),  # PyTorch's kernel writes in the input's dtype
        reduction,
        (input, target),
        (delta,),
    )


def _bce_backward(ctx, grad, x, y, w):
    count = ctx._args[0]
    g = grad / count if count != 1 else grad
    if w is not None:
        g = g * w
    xa = N.arr(x)
    floor = np.maximum(xa * (1 - xa), _BCE_EPS) if D._is_array(x) else None
    grad_x = g * (x - y) / (floor if floor is not None else (x * (1 - x)).clamp(min=_BCE_EPS))
    grad_y = None
    if ctx.next_functions[1][0] is not None:
        grad_y = g * (_log(1 - x) - _log(x))  # unclamped, as in PyTorch
    return grad_x, grad_y


def _log_clamped(x):
    """``log(x)`` floored at -100, as PyTorch's BCE does, for arrays and tensors."""
    if D._is_array(x):
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(x), -100)
    return x.log().clamp(min=-100)


def _log(x):
    if D._is_array(x):
        with np.errstate(divide="ignore"):
            return np.log(x)
    return x.log()


BinaryCrossEntropyBackward0 = node_class(
    "BinaryCrossEntropyBackward0", _bce_backward, jvp=pointwise_reduced
)


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    """``-(y log x + (1 - y) log(1 - x))`` with logs floored at -100."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input "
            f"size ({input.shape}) is deprecated. Please ensure they have the same "
            "size."
        )
    N.refuse_grad("binary_cross_entropy", (("weight", weight),))
    x, y = input._data, target._data
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"Found dtype {_c_type(target.dtype)} but expected {_c_type(input.dtype)}"
        )
    _check_probabilities(x, y)
    loss = -(y * _log_clamped(x) + (1 - y) * _log_clamped(1 - x))
    w = None if weight is None else weight._data
    if w is not None:
        loss = loss * w
    return _pointwise_loss(
        BinaryCrossEntropyBackward0,
        input,
        target,
        loss.astype(x.dtype),
        reduction,
        (input, target, w),
    )


def _check_probabilities(x, y):
    """PyTorch's kernel checks input, then target, element by element: the first element out of
    [0, 1] in either (NaN too) names which."""
    bad_input = ~((x >= 0) & (x <= 1))
    bad = bad_input | ~((y >= 0) & (y <= 1))
    if bad.any():
        first = np.flatnonzero(bad.ravel())[0]
        which = "input" if bad_input.ravel()[first] else "target"
        raise RuntimeError(f"all elements of {which} should be between 0 and 1")


def _bce_logits_backward(ctx, grad, x, y, w, pos_weight):
    count = ctx._args[0]
    g = grad / count if count != 1 else grad
    if w is not None:
        g = g * w
    if pos_weight is None:
        grad_x = g * (N.sigmoid(x) - y)
        grad_y = -g * x
    else:
        factor = (pos_weight - 1) * y + 1
        grad_x = g * (factor * N.sigmoid(x) - pos_weight * y)
        grad_y = g * ((pos_weight - 1) * N.softplus(-x) - x)
    return grad_x, grad_y if ctx.next_functions[1][0] is not None else None


BinaryCrossEntropyWithLogitsBackward0 = node_class(
    "BinaryCrossEntropyWithLogitsBackward0", _bce_logits_backward, jvp=pointwise_reduced
)


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
):
    """``binary_cross_entropy(sigmoid(x), y)`` computed from logits without overflow."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    N.refuse_grad(
        "binary_cross_entropy_with_logits", (("weight", weight), ("pos_weight", pos_weight))
    )
    x, y = input._data, target._data
    w = None if weight is None else weight._data
    pw = None if pos_weight is None else pos_weight._data
    # (1 - y) x + (1 + (pw - 1) y) softplus(-x): softplus never overflows, unlike log(1 + e^-x)
    factor = 1 if pw is None else (pw - 1) * y + 1
    loss = (1 - y) * x + factor * N.np_softplus(-x)
    if w is not None:
        loss = loss * w
    return _pointwise_loss(
        BinaryCrossEntropyWithLogitsBackward0,
        input,
        target,
        loss.astype(y.dtype),  # PyTorch builds the loss in place in a tensor of target's dtype
        reduction,
        (input, target, w, pw),
    )


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence with ``input`` given as log-probabilities."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            UserWarning,
            stacklevel=2,
        )
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return N.reduce_loss(loss, reduction)


def _xlogy(target):
    """``target * log(target)`` with 0 where ``target`` is 0 (NaN where it is negative, as
    PyTorch's ``xlogy``)."""
    data = target._data
    positive = data != 0
    safe = N.as_tensor(np.where(positive, data, 1).astype(data.dtype))
    if needs_grad(target):
        safe = target * N.as_tensor(positive.astype(data.dtype)) + N.as_tensor(
            (~positive).astype(data.dtype)
        )
    return target * safe.log()


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``."""
    from glassgrad.autograd.grad_mode import no_grad

    for x in (x1, x2):
        if x._data.dtype.kind == "c":
            raise RuntimeError(
                "expected common dtype to be floating point, yet common dtype is "
                + ("ComplexFloat" if x._data.dtype == np.complex64 else "ComplexDouble")
            )
    from glassgrad.ops.reduce.stats import norm as vector_norm

    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    x1 = x1 if tuple(x1.shape) == shape else x1.expand(shape)
    x2 = x2 if tuple(x2.shape) == shape else x2.expand(shape)
    # PyTorch clamps the norms in place under no_grad: the gradient flows through the
    # unclamped norm, whose gradient is 0 at a zero vector, so zero inputs get finite gradients
    n1 = vector_norm(x1, 2, dim, True).clone()
    n2 = vector_norm(x2, 2, dim, True).clone()
    with no_grad():
        n1.clamp_(min=eps)
        n2.clamp_(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def cosine_embedding_loss(
    input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"
):
    """``1 - cos`` for pairs labelled 1, ``max(0, cos - margin)`` for pairs labelled -1."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    dim = input1.ndim - 1
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + _BCE_EPS
    mag2 = (input2 * input2).sum(dim) + _BCE_EPS
    cos = prod / (mag1 * mag2).sqrt()
    zeros = cos * 0
    t = target._data
    broadcast_shapes(t.shape, tuple(cos.shape))
    loss = D.where(N.as_tensor(t == 1), 1 - cos, zeros) + D.where(
        N.as_tensor(t == -1), (cos - margin).clamp(min=0), zeros
    )
    return N.reduce_loss(loss, reduction)


def margin_ranking_loss(
    input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"
):
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = N.legacy_reduction(size_average, reduce, reduction)
    loss = (-target * (input1 - input2) + margin).clamp_min(0)
    return N.reduce_loss(loss, reduction)


def _pair(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    return [((a, b), {}), ((a, b), {"reduction": "sum"}), ((a, b), {"reduction": "none"})]


def _probs(rng):
    x = rng.uniform(0.05, 0.95, (3, 4))
    return [((x, rng.uniform(0, 1, (3, 4))), {})]


for _name, _fn, _samples in (
    ("mse_loss", mse_loss, _pair),
    ("l1_loss", l1_loss, _pair),
    ("smooth_l1_loss", smooth_l1_loss, _pair),
    ("huber_loss", huber_loss, _pair),
    ("binary_cross_entropy", binary_cross_entropy, _probs),
    ("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits, _pair),
    (
        "kl_div",
        kl_div,
        lambda rng: [
            ((rng.standard_normal((3, 4)), rng.uniform(0.1, 1, (3, 4))), {"reduction": "batchmean"})
        ],
    ),
    (
        "cosine_similarity",
        cosine_similarity,
        lambda rng: [
            ((rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {}),
            ((rng.standard_normal((3, 4)), rng.standard_normal(4)), {"dim": 0}),
            ((rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))), {"dim": -1}),
        ],
    ),
    (
        "cosine_embedding_loss",
        cosine_embedding_loss,
        lambda rng: [
            ((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), np.array([1, -1, 1])), {})
        ],
    ),
    (
        "margin_ranking_loss",
        margin_ranking_loss,
        lambda rng: [
            ((rng.standard_normal(4), rng.standard_normal(4), np.array([1.0, -1.0, 1.0, -1.0])), {})
        ],
    ),
):
    # PyTorch exposes these as torch.<name> too, except the plain regression losses
    top = _name in (
        "kl_div",
        "cosine_similarity",
        "cosine_embedding_loss",
        "margin_ranking_loss",
        "binary_cross_entropy_with_logits",
    )
    register(_name, _fn, method=False, function=top, nin=2, samples=_samples)
