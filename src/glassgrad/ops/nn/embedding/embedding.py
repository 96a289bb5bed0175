"""``embedding`` (``F.embedding``) and ``torch.embedding``: rows of a table picked by indices.

One primitive (``EmbeddingBackward0``) whose backward is ``embedding_dense_backward`` (in
``common``, shared with ``embedding_bag``); ``max_norm`` renormalises the picked rows in place
first, as PyTorch does.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import take_rows
from glassgrad._sparse_data import coo
from glassgrad._tensor_info import _type_name
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops.nn.embedding.common import embedding_dense_backward, embedding_renorm_
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor


def _embedding_backward(ctx, grad):
    shape, indices, padding_idx, scale_grad_by_freq, sparse = ctx._args
    if sparse:
        return (_sparse_backward(grad, indices, shape, padding_idx, scale_grad_by_freq),)
    return (embedding_dense_backward(grad, indices, shape, padding_idx, scale_grad_by_freq),)


def _sparse_backward(grad, indices, shape, padding_idx, scale_grad_by_freq):
    """``sparse=True``: the weight's gradient as a COO tensor holding one row per index, in
    order and uncoalesced (PyTorch's ``embedding_sparse_backward``)."""
    if scale_grad_by_freq:
        raise RuntimeError(
            "embedding_backward: scale_grad_by_freq not supported with sparse gradients"
        )
    grad = np.asarray(grad).reshape(-1, shape[1])
    flat = indices.reshape(-1).astype(np.int64)
    if padding_idx is not None:
        keep = flat != padding_idx
        flat, grad = flat[keep], grad[keep]
    return coo(flat.reshape(1, -1), np.ascontiguousarray(grad), shape)


EmbeddingBackward0 = node_class("EmbeddingBackward0", _embedding_backward)


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type=2.0,
    scale_grad_by_freq=False,
    sparse=False,
):
    """Rows of ``weight`` picked by the integer ``input``."""
    for name, value, position in (("weight", weight, 1), ("indices", input, 2)):
        if not isinstance(value, Tensor):  # PyTorch's parser of torch.embedding
            raise TypeError(
                f"embedding(): argument '{name}' (position {position}) must be Tensor, not "
                f"{_type_name(value)}"
            )
    rows = weight._data.shape[0]
    if padding_idx is not None and padding_idx > 0 and padding_idx >= rows:
        raise AssertionError("Padding_idx must be within num_embeddings")
    if padding_idx is not None and padding_idx < 0:
        if padding_idx < -rows:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx += rows
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    return _embedding(weight, input, padding_idx, scale_grad_by_freq, sparse)


def _embedding(weight, input, padding_idx, scale_grad_by_freq, sparse=False):
    """The lookup itself (PyTorch's ``torch.embedding``)."""
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    indices = input._data
    if indices.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following "
            f"scalar types: Long, Int; but got {input.type()} instead (while "
            "checking arguments for embedding)"
        )
    rows = weight._data.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        raise IndexError("index out of range in self")
    out = take_rows(weight._data, indices)  # (vmap: either may be a batch)
    args = (weight._data.shape, indices, padding_idx, scale_grad_by_freq, bool(sparse))
    return result(out, EmbeddingBackward0, (weight,), args=args)


def aten_embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """``torch.embedding``: ``F.embedding``'s kernel, weight first; a negative ``padding_idx``
    means no padding row (``F.embedding`` turns its negative indices into rows first)."""
    padding = padding_idx if padding_idx >= 0 else None
    return embedding(indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


register(
    "embedding",
    embedding,
    method=False,
    function=False,  # glassgrad.embedding is aten_embedding, PyTorch's argument order
    samples=lambda rng: [((rng.integers(0, 5, (2, 3)), rng.standard_normal((5, 4))), {})],
    # the padding row gets no gradient although the output depends on it (PyTorch's rule), so
    # central differences cannot check it: compared with PyTorch only
    edge_samples=lambda rng: [
        ((np.array([[1, 0, 1], [3, 1, 4]]), rng.standard_normal((5, 4))), {"padding_idx": 1}),
        ((np.array([0, 4, 2]), rng.standard_normal((5, 4))), {"padding_idx": -1}),
        # scale_grad_by_freq is no derivative either
        (
            (np.array([[0, 4, 4], [2, 0, 4]]), rng.standard_normal((5, 4))),
            {"scale_grad_by_freq": True},
        ),
    ],
)
