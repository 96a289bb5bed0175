"""Dropout in all its forms, drawing what PyTorch's CPU kernels draw.

Every form multiplies the input by a noise tensor, so the node is ``MulBackward0`` as in
PyTorch (alpha dropout then adds a shift: ``AddBackward0``). The noise is PyTorch's
``empty(shape).bernoulli_(1 - p)``: one double per element from the generator, kept where it is
below ``1 - p`` (so the same seed zeroes the same elements as PyTorch), then scaled in the
tensor's own precision. Feature (channel) dropout draws one value per (sample, channel). The
functional wrappers (``dropout1d``/``2d``/``3d`` and their warnings) are in ``nn.functional``.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register

_SELU_ALPHA_SCALE = 1.7580993408473766  # SELU's alpha * scale: alpha dropout keeps its mean/var


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def noise_arrays(shape, p, dtype, alpha=False):
    """The noise to multiply by and, for alpha dropout, the shift to add (else None)."""
    from glassgrad._random import _rng as _draw_rng  # (vmap: its randomness mode)

    compute = np.dtype(dtype).type if dtype in (np.float32, np.float64) else np.float32
    keep = (_draw_rng(None).random(shape) < 1.0 - p).astype(compute)
    if not alpha:
        keep /= compute(1.0 - p)
        return keep.astype(dtype, copy=False), None
    a = 1.0 / math.sqrt((_SELU_ALPHA_SCALE**2 * p + 1) * (1 - p))

    def rounded(values):  # each of PyTorch's steps rounds to the tensor's dtype
        return values.astype(dtype).astype(compute, copy=False)

    shift = rounded(rounded(keep - compute(1)) * compute(_SELU_ALPHA_SCALE * a))
    shift = rounded(shift + compute(_SELU_ALPHA_SCALE * a * p))
    return rounded(keep * compute(a)).astype(dtype), shift.astype(dtype)


def _dropout(input, p, training, inplace, feature=False, alpha=False):
    """ATen's dropout: nothing drawn where it is the identity, a 0-d zero where ``p`` is 1."""
    data = input._data
    if p == 0 or not training or not data.size:
        return input
    if feature and data.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1:
        zero = N.as_tensor(np.zeros((), data.dtype))
        return input.mul_(zero) if inplace else input * zero
    shape = data.shape[:2] + (1,) * (data.ndim - 2) if feature else data.shape
    noise, shift = noise_arrays(shape, p, data.dtype, alpha)
    out = input.mul_(N.as_tensor(noise)) if inplace else input * N.as_tensor(noise)
    return out if shift is None else out.add_(N.as_tensor(shift))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    _check_p(p)
    return _dropout(input, p, training, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped elements take SELU's negative saturation value, and
    an affine map keeps the mean and variance."""
    _check_p(p)
    return _dropout(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (one draw per sample and channel)."""
    _check_p(p)
    return _dropout(input, p, training, inplace, feature=True, alpha=True)


def feature_dropout(input, p, training, inplace=False):
    """Zero whole channels (dims 0 and 1 index a channel) with probability ``p``."""
    return _dropout(input, p, training, inplace, feature=True)


register(
    "dropout",
    dropout,
    method=False,
    differentiable=False,
    samples=lambda rng: [((rng.standard_normal((3, 4)),), {"training": False})],
)
