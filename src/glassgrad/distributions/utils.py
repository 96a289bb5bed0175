"""Helpers shared by the distributions: broadcasting parameters, probabilities and logits."""

from __future__ import annotations

import numbers
from functools import update_wrapper

import numpy as np

from glassgrad import creation
from glassgrad import dtypes as _dtypes
from glassgrad.ops import OPS
from glassgrad.tensor import Tensor

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060


def op(name):
    """The glassgrad function ``name`` from the op table (``where``, ``stack``, ``cat``...)."""
    return OPS[name].fn


def broadcast_all(*values):
    """The arguments as tensors of one broadcast shape; numbers take the tensors' dtype (or the
    default dtype when none is a tensor)."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of numbers.Number, torch.Tensor or objects "
            "implementing __torch_function__."
        )
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        dtype = _dtypes.get_default_dtype()
        values = [creation.tensor(float(v), dtype=dtype) for v in values]
    else:
        like = tensors[0]
        values = [
            v if isinstance(v, Tensor) else creation.tensor(v, dtype=like.dtype) for v in values
        ]
    from glassgrad.distributions._primitives import broadcast_tensors

    return tuple(broadcast_tensors(*values))


def sum_rightmost(value, dims):
    """``value`` summed over its last ``dims`` dimensions (event dimensions of a log-density)."""
    if dims == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dims]) + (-1,)).sum(-1)


def standard_normal(shape, dtype):
    return creation.randn(tuple(shape), dtype=dtype)


def clamp_probs(probs):
    """``probs`` kept a machine epsilon away from 0 and 1."""
    eps = float(np.finfo(probs.detach().numpy().dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    """Softmax over the last dimension, or the sigmoid for a binary distribution."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def probs_to_logits(probs, is_binary=False):
    """Log-odds (binary) or log-probabilities (categorical) of ``probs``, clamped."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


class lazy_property:  # noqa: N801 - PyTorch's name
    """A property computed on first access and then stored on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        from glassgrad.autograd.grad_mode import enable_grad

        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def tril_matrix_to_vec(mat, diag=0):
    n = mat.shape[-1]
    rows, cols = np.tril_indices(n, k=diag)
    return mat[..., creation.tensor(rows), creation.tensor(cols)]


def vec_to_tril_matrix(vec, diag=0):
    size = vec.shape[-1]
    n = int(
        round(
            (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * size + 4 * abs(diag) * (diag + 1)) ** 0.5)
            / 2
        )
    )
    rows, cols = np.tril_indices(n, k=diag)
    out = creation.zeros(tuple(vec.shape[:-1]) + (n, n), dtype=vec.dtype)
    out[..., creation.tensor(rows), creation.tensor(cols)] = vec
    return out
