"""In-place methods (``add_``, ``mul_``, ``zero_``, ``+=``, ...), each its out-of-place op run
through ``indexing.inplace`` so that version counters and the graph stay right."""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.grad_mode import state as _state
from glassgrad.ops import binary, unary
from glassgrad.ops.indexing import check_inplace, inplace
from glassgrad.ops.inplace_core import _bump as bump
from glassgrad.ops.registry import Tensor, node_class, register, result

FillBackward0 = node_class("FillBackward0", lambda ctx, grad, *s: (grad * 0, None))


def _filled(self, value):
    value_data = value._data if isinstance(value, Tensor) else value
    out = np.full_like(self._data, value_data)
    return result(out, FillBackward0, (self, value if isinstance(value, Tensor) else None))


CopyBackwards = node_class("CopyBackwards0", lambda ctx, grad: (grad * 0, grad))


def _copied(self, src):
    if not isinstance(src, Tensor):
        from glassgrad.creation import tensor

        src = tensor(src)
    try:
        data = np.broadcast_to(src._data, self._data.shape).astype(self._data.dtype)
    except ValueError:
        from glassgrad.ops.registry import broadcast_error

        raise broadcast_error(self._data.shape, src._data.shape) from None
    return result(data, CopyBackwards, (self, src))


def _clamped(self, min=None, max=None):  # noqa: A002 - PyTorch's names
    from glassgrad.ops.registry import OPS

    return OPS["clamp"].fn(self, min, max)


def _method(outplace):
    def method(self, *args, **kwargs):
        return inplace(self, outplace, *args, **kwargs)

    return method


def _arith_method(outplace, ufunc):
    """``add_``/``sub_``/``mul_``/``div_``: outside the graph, one NumPy call writing in place.

    Optimizer steps and ``.data`` updates are all of this kind; the general path (compute, then
    copy back) would allocate and write every parameter twice. Anything unusual (promotion that
    PyTorch refuses, broadcasting into ``self``) takes the general path, which raises PyTorch's
    errors.
    """

    def method(self, other, *, alpha=1, **kwargs):
        if kwargs or (_state.record and (self._requires_grad or _needs_grad(other))):
            return (
                inplace(self, outplace, other, alpha=alpha, **kwargs)
                if alpha != 1
                else inplace(self, outplace, other, **kwargs)
            )
        check_inplace(self)
        data = self._data
        value = other._data if other.__class__ is Tensor or isinstance(other, Tensor) else other
        if alpha != 1:
            value = value * alpha
        if (
            isinstance(value, np.ndarray)
            and value.shape != data.shape
            and np.broadcast_shapes(value.shape, data.shape) != data.shape
        ):
            return _general(self, outplace, other, alpha)
        kind = data.dtype.kind
        if kind != "f" and (ufunc is np.true_divide or _float_like(value)):
            return _general(self, outplace, other, alpha)
        try:
            ufunc(data, value, out=data, casting="same_kind")
        except (TypeError, ValueError):
            return _general(self, outplace, other, alpha)
        bump(self)
        return self

    return method


def _general(self, outplace, other, alpha):
    return (
        inplace(self, outplace, other, alpha=alpha)
        if alpha != 1
        else inplace(self, outplace, other)
    )


def _needs_grad(value) -> bool:
    return isinstance(value, Tensor) and value._requires_grad


def _float_like(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, float)


_INPLACE = {
    "add_": binary.add,
    "sub_": binary.sub,
    "mul_": binary.mul,
    "div_": binary.div,
    "pow_": binary.pow,
    "neg_": unary.neg,
    "exp_": unary.exp,
    "log_": unary.log,
    "tanh_": unary.tanh,
    "sigmoid_": unary.sigmoid,
    "relu_": unary.relu,
    "sqrt_": unary.sqrt,
    "abs_": unary.abs,
    "reciprocal_": unary.reciprocal,
    "sin_": unary.sin,
    "cos_": unary.cos,
    "fill_": _filled,
    "copy_": _copied,
    "clamp_": _clamped,
}
for _name, _fn in _INPLACE.items():
    setattr(Tensor, _name, _method(_fn))
for _name, _fn, _ufunc in (
    ("add_", binary.add, np.add),
    ("sub_", binary.sub, np.subtract),
    ("mul_", binary.mul, np.multiply),
    ("div_", binary.div, np.true_divide),
):
    setattr(Tensor, _name, _arith_method(_fn, _ufunc))
Tensor.subtract_ = Tensor.sub_
Tensor.multiply_ = Tensor.mul_
Tensor.divide_ = Tensor.div_
Tensor.clip_ = Tensor.clamp_
Tensor.zero_ = lambda self: Tensor.fill_(self, 0)


def _copy_(self, src, non_blocking=False):
    """``self.copy_(src)``: outside the graph, one ``np.copyto`` (broadcasting ``src``)."""
    if src.__class__ is Tensor and not (
        _state.record and (self._requires_grad or src._requires_grad)
    ):
        check_inplace(self)
        try:
            np.copyto(self._data, src._data, casting="unsafe")
        except ValueError:
            return inplace(self, _copied, src)  # PyTorch's broadcasting error
        bump(self)
        return self
    return inplace(self, _copied, src)


def _fill_(self, value):
    """``self.fill_(value)``: outside the graph, one ``ndarray.fill``."""
    if not isinstance(value, Tensor) and not (_state.record and self._requires_grad):
        check_inplace(self)
        self._data.fill(value)
        bump(self)
        return self
    return inplace(self, _filled, value)


Tensor.copy_ = _copy_
Tensor.fill_ = _fill_
Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ipow__ = Tensor.pow_
register("zero_", Tensor.zero_, function=False, differentiable=False)


def _install_from_table():
    """``name_`` for every op of the table PyTorch also has in place (``masked_fill_``,
    ``scatter_``, ``floor_``...): the out-of-place op through ``inplace``, which keeps the graph
    and the version counter right. Runs after every op family has registered."""
    from glassgrad.ops.registry import OPS

    names = (
        "masked_fill scatter scatter_add index_add index_fill index_copy lerp clamp_min clamp_max "
        "floor ceil round trunc frac sign square rsqrt exp2 expm1 log2 log10 log1p tan asin acos "
        "atan sinh cosh erf fmod remainder maximum minimum atan2 logical_and logical_or "
        "logical_not logical_xor nan_to_num tril triu"
    ).split()
    for name in names:
        info = OPS.get(name)
        if info is not None and not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", _method(info.fn))
