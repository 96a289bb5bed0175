"""Gradient clipping: rescale (``clip_grad_norm_``) or clamp (``clip_grad_value_``) in place."""

from __future__ import annotations

import math

import numpy as np

from glassgrad.tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _total_norm(grads, norm_type: float):
    if norm_type == math.inf:
        norms = [np.abs(g._data).max() if g.numel() else 0.0 for g in grads]
        return np.max(norms)
    norms = [np.sum(np.abs(g._data.astype(np.float64)) ** norm_type) for g in grads]
    return np.sum(norms) ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
    """Scale the gradients in place so their joint ``norm_type``-norm is at most ``max_norm``.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return _make(np.array(0.0, dtype=np.float32))
    dtype = grads[0]._data.dtype
    total = np.asarray(_total_norm(grads, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for grad in grads:
        grad._data *= np.asarray(coef, dtype=grad._data.dtype)
        if grad._vc is not None:
            grad._vc[0] += 1
    return _make(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    for grad in _grads(parameters):
        np.clip(grad._data, -clip_value, clip_value, out=grad._data)
        if grad._vc is not None:
            grad._vc[0] += 1
