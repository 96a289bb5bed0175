"""Distances between rows: ``pairwise_distance`` (the p-norm of ``x1 - x2 + eps`` over the last
dim) and ``cosine_similarity`` (checked here, computed by the loss family's composite).

PyTorch computes it with ``at::norm(Tensor, Scalar p, dim)``, whose node is ``NormBackward1``;
the forward and the rule are ``vector_norm``'s, recorded here under that name.
"""

from __future__ import annotations

from glassgrad._batched import as_data
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.ops.reduce.stats import _norm_backward, _vector_norm
from glassgrad.ops.registry import register

NormBackward1 = node_class("NormBackward1", _norm_backward)


def _norm_last(input, p, keepdim):
    data = input._data
    dims = (data.ndim - 1,) if data.ndim else ()
    out = as_data(_vector_norm(data, p, dims, dims, keepdim), data.dtype)
    return result(out, NormBackward1, (input,), (input, OUT), args=(p, data.shape, dims, keepdim))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last dim (broadcasting ``x1`` and ``x2``)."""
    return _norm_last(x1 - x2 + eps, float(p), keepdim)


def _check_broadcast(a, b):
    """PyTorch's error for shapes that do not broadcast (NumPy's would name NumPy's args)."""
    ndim = max(len(a), len(b))
    a, b = (1,) * (ndim - len(a)) + tuple(a), (1,) * (ndim - len(b)) + tuple(b)
    for dim, (m, n) in enumerate(zip(a, b, strict=True)):
        if m != n and 1 not in (m, n):
            raise RuntimeError(
                f"The size of tensor a ({m}) must match the size of tensor b ({n}) at "
                f"non-singleton dimension {dim}"
            )


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``."""
    from glassgrad.ops.nn.loss.loss import cosine_similarity as _cosine

    _check_broadcast(x1.shape, x2.shape)
    return _cosine(x1, x2, dim, eps)


def _pair_samples(rng):
    x1, x2 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    return [
        ((x1, x2), {}),
        ((x1, x2[0]), {"p": 1.0, "keepdim": True}),
        ((x1[0], x2[0]), {"p": 3.0}),
    ]


register(
    "pairwise_distance", pairwise_distance, method=False, function=False, samples=_pair_samples
)
