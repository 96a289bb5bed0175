"""``scaled_dot_product_attention``: ``softmax(q k^T * scale + mask) v``, as PyTorch's math path.

A composite of the table's primitives (matmul, the safe softmax, dropout), so its graph and
``grad_fn`` names are PyTorch's.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad._tensor_info import _C_NAMES
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.dropout import dropout
from glassgrad.ops.registry import register


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    """``softmax(q k^T * scale + mask) v``, with a causal or given (bool or additive) mask."""
    from glassgrad.creation import tensor
    from glassgrad.ops.nn.softmax import _safe_softmax

    _check_attention_dtypes(query, key, value, attn_mask)
    length, source = query.shape[-2], key.shape[-2]
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    # as PyTorch: both operands scaled by sqrt(scale) (the query carries the sign), which keeps
    # the product's magnitude in range and rounds as PyTorch does
    root = math.sqrt(abs(factor))
    query = N.mul_scalar(query, -root if factor < 0 else root)
    scores = query @ N.mul_scalar(key.transpose(-2, -1), root)
    # as PyTorch's math path: boolean and causal masks become an additive 0 / -inf bias, and the
    # safe softmax gives fully masked rows zero weights instead of NaN
    if is_causal:
        allowed = np.tril(np.ones((length, source), dtype=bool))
        scores = scores + tensor(_bias(allowed, scores._data.dtype))
    if attn_mask is not None:
        if attn_mask._data.dtype == np.bool_:
            scores = scores + tensor(_bias(attn_mask._data, scores._data.dtype))
        else:
            scores = scores + attn_mask
    weights = _safe_softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value


def _check_attention_dtypes(query, key, value, attn_mask):
    q, k, v = (_C_NAMES[t.dtype.name] for t in (query, key, value))
    if not q == k == v:
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{q} key.dtype: {k} and value.dtype: {v} instead."
        )
    if attn_mask is not None and attn_mask.dtype.name not in ("bool", query.dtype.name):
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_C_NAMES[attn_mask.dtype.name]} and  query.dtype: {q} instead."
        )


def _bias(allowed, dtype):
    return np.where(allowed, 0, -np.inf).astype(dtype)


register(
    "scaled_dot_product_attention",
    scaled_dot_product_attention,
    method=False,
    function=False,
    nin=3,
    samples=lambda rng: [
        (
            (
                rng.standard_normal((2, 3, 4)),
                rng.standard_normal((2, 5, 4)),
                rng.standard_normal((2, 5, 4)),
            ),
            {},
        ),
        (
            (
                rng.standard_normal((2, 3, 4)),
                rng.standard_normal((2, 3, 4)),
                rng.standard_normal((2, 3, 4)),
            ),
            {"is_causal": True},
        ),
    ],
)
