"""``where``: elements of one tensor or the other by a boolean condition."""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._tensor_info import _c_type
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.backend import allocating
from glassgrad.ops import _dual as D
from glassgrad.ops import _sampling as S
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.binary import _promote, broadcast_shapes
from glassgrad.ops.registry import as_tensor_arg, register
from glassgrad.tensor import Tensor, tensor_method

WhereBackward0 = node_class(
    "WhereBackward0",
    lambda ctx, grad, cond: (None, D.select(cond, grad), D.select(~cond, grad)),
    jvp=ELEMENTWISE,
)


def _where_scalar(value, like):
    """A Python scalar branch of ``where``, weakly promoted with the other branch as PyTorch does
    (``where(c, 1, 0.5)`` is float, ``where(c, int_tensor, 2.5)`` is float)."""
    if isinstance(like, Tensor) and isinstance(value, (bool, int, float)):
        from glassgrad.creation import tensor

        return tensor(value, dtype=_dt.result_type_scalar(like.dtype, value))
    return as_tensor_arg(value)


def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other``."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    cond = as_tensor_arg(condition)
    if not isinstance(input, Tensor):
        input = _where_scalar(input, other)
    if not isinstance(other, Tensor):
        other = _where_scalar(other, input)
    if cond._data.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor "
            f"with dtype {_c_type(cond.dtype)}"
        )
    broadcast_shapes(cond._data.shape, input._data.shape, other._data.shape)
    ad, bd = _promote(input, other)
    return result(np.where(cond._data, ad, bd), WhereBackward0, (cond, input, other), (cond._data,))


register(
    "where",
    where,
    method=False,
    nin=2,
    samples=shaped(S.where_samples),
    reference=np.where,
    any_shape=True,
    out="where",
)


def _where_method(self, condition, y):
    """``x.where(condition, y)``: ``torch.where(condition, x, y)``."""
    return where(condition, self, y)


tensor_method(allocating(_where_method), "where")
