"""In-place methods (``add_``, ``mul_``, ``zero_``, ``+=``, ...), each its out-of-place op run
through ``indexing.inplace`` so that version counters and the graph stay right."""

from __future__ import annotations

import numpy as np

from glassgrad._batched import ACTIVE as _VMAP
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.engine import CopyBackwards as _EngineCopyBackwards
from glassgrad.autograd.forward_state import ACTIVE as _FW
from glassgrad.autograd.grad_mode import state as _state
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual
from glassgrad.ops.elementwise import binary, power, unary
from glassgrad.ops.index.indexing import check_inplace, inplace
from glassgrad.ops.inplace_core import (
    FILL_OPS,
    INPLACE_NAMES,
    _rebase,
    check_partial_overlap,
    check_vmap_write,
    expanded_write_warning,
    fill_array,
    inplace_untracked,
)
from glassgrad.ops.inplace_core import _bump as bump
from glassgrad.ops.linalg import matmul as _linalg
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, tensor_method


# PyTorch's node names: fill_ with a number is FillBackward2 (one edge), with a 0-d tensor
# FillBackward3 (the tensor gets the sum of the gradient); zero_ is ZeroBackward0.
def _zeros(grad):
    """PyTorch's zeros_like(grad): zeros even where grad is inf or NaN, and under create_graph a
    constant, not a product with grad."""
    if not isinstance(grad, Tensor):  # an array, or a NumPy scalar for a 0-d input
        return np.zeros_like(grad)
    from glassgrad.creation import zeros_like

    return zeros_like(grad)


FillBackward2 = node_class("FillBackward2", lambda ctx, grad: (_zeros(grad),))
FillBackward3 = node_class("FillBackward3", lambda ctx, grad: (_zeros(grad), grad.sum()))
ZeroBackward0 = node_class("ZeroBackward0", lambda ctx, grad: (_zeros(grad),))


def _filled(self, value):
    if isinstance(value, Tensor):
        out = np.full_like(self._data, value._data)
        return result(out, FillBackward3, (self, value))
    return result(np.full_like(self._data, value), FillBackward2, (self,))


FillBackward0 = node_class("FillBackward0", lambda ctx, grad: (_zeros(grad),))
FillBackward1 = node_class("FillBackward1", lambda ctx, grad: (_zeros(grad), grad.sum()))


def fill(input, value):
    """A new tensor of ``input``'s shape and dtype holding ``value`` (a number or a 0-d
    tensor, which gets the gradient's sum)."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        out = np.full_like(input._data, value._data)  # (vmap: a per-sample value, batched)
        return result(out, FillBackward1, (input, value))
    return result(np.full_like(input._data, value), FillBackward0, (input,))


def _zeroed(self):
    return result(np.zeros_like(self._data), ZeroBackward0, (self,))


# PyTorch names copy_'s node CopyBackwards (no digit). The engine already has a one-edge
# CopyBackwards for create_graph's .grad; copy_'s has two edges (self, src), so it is a subclass
# with its own rule rather than a second class registered under the same name.
CopyBackwards = type(
    "CopyBackwards",
    (_EngineCopyBackwards,),
    {"_backward": lambda ctx, grad: (grad * 0, grad), "__module__": "glassgrad.autograd.graph"},
)


def _copied(self, src):
    if not isinstance(src, Tensor):
        if not isinstance(src, (int, float, bool, np.number, np.bool_)):
            from glassgrad._tensor_info import _type_name

            raise TypeError(
                f"copy_(): argument 'other' (position 1) must be Tensor, not {_type_name(src)}"
            )
        from glassgrad.creation import tensor

        src = tensor(src)
    try:
        data = np.broadcast_to(src._data, self._data.shape).astype(self._data.dtype)
    except ValueError:
        from glassgrad._errors import broadcast_error

        raise broadcast_error(self._data.shape, src._data.shape) from None
    return result(data, CopyBackwards, (self, src))


def _clamped(self, min=None, max=None):  # noqa: A002 - PyTorch's names
    from glassgrad.ops.registry import OPS

    return OPS["clamp"].fn(self, min, max)


def _method(outplace):
    def method(self, *args, **kwargs):
        return inplace(self, outplace, *args, **kwargs)

    return method


# In-place ops PyTorch has no derivative for: no autograd check runs (see inplace_untracked)
_UNTRACKED = frozenset("logical_not logical_and logical_or logical_xor".split())


def _untracked_method(outplace):
    def method(self, *args, **kwargs):
        return inplace_untracked(self, outplace, *args, **kwargs)

    return method


def _arith_method(outplace, ufunc):
    """``add_``/``sub_``/``mul_``/``div_``: outside the graph, one NumPy call writing in place.

    Optimizer steps and ``.data`` updates are all of this kind; the general path (compute, then
    copy back) would allocate and write every parameter twice. Anything unusual (promotion that
    PyTorch refuses, broadcasting into ``self``) takes the general path, which raises PyTorch's
    errors.
    """

    def method(self, other, *, alpha=1, **kwargs):
        if isinstance(alpha, float) and self._data.dtype.kind in "iu":
            raise RuntimeError(
                "For integral input tensors, argument alpha must not be a floating point number."
            )
        if (
            kwargs
            or _FW[0]
            or _VMAP.levels  # (the general path refuses a batch written into a non-batch)
            or (_state.record and (self._requires_grad or _needs_grad(other)))
        ):
            return (
                inplace(self, outplace, other, alpha=alpha, **kwargs)
                if alpha != 1
                else inplace(self, outplace, other, **kwargs)
            )
        check_inplace(self)
        data = self._data
        value = other._data if other.__class__ is Tensor or isinstance(other, Tensor) else other
        if value.__class__ is np.ndarray:
            check_partial_overlap(data, value)
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
        return _floating(value)
    return isinstance(value, float)


_INPLACE = {
    "add_": binary.add,
    "sub_": binary.sub,
    "mul_": binary.mul,
    "div_": binary.div,
    "pow_": power.pow,
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
    tensor_method(_method(_fn), _name)
    INPLACE_NAMES[_fn] = _name
for _name, _fn, _ufunc in (
    ("add_", binary.add, np.add),
    ("sub_", binary.sub, np.subtract),
    ("mul_", binary.mul, np.multiply),
    ("div_", binary.div, np.true_divide),
):
    tensor_method(_arith_method(_fn, _ufunc), _name)
tensor_method(Tensor.sub_, "subtract_")
tensor_method(Tensor.mul_, "multiply_")
tensor_method(Tensor.div_, "divide_")
tensor_method(Tensor.clamp_, "clip_")


def _copy_(self, src, non_blocking=False):
    """``self.copy_(src)``: outside the graph, one ``np.copyto`` (broadcasting ``src``)."""
    check_vmap_write(self, "copy_", (src,))
    if (
        src.__class__ is Tensor
        and not _FW[0]
        and not (_state.record and (self._requires_grad or src._requires_grad))
    ):
        check_inplace(self)
        check_partial_overlap(self._data, src._data)
        try:
            np.copyto(self._data, src._data, casting="unsafe")
        except ValueError:
            return inplace(self, _copied, src)  # PyTorch's broadcasting error
        bump(self)
        return self
    return inplace(self, _copied, src)


def _fill_(self, value):
    """``self.fill_(value)``: outside the graph, one ``ndarray.fill``."""
    check_vmap_write(self, "fill_", (value,))
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(
            "fill_ only supports 0-dimension value tensor but got tensor with "
            f"{value._data.ndim} dimensions."
        )
    if not isinstance(value, Tensor) and not _FW[0] and not (_state.record and self._requires_grad):
        check_inplace(self, fills=True)
        fill_array(self._data, value)
        bump(self)
        return self
    return inplace(self, _filled, value)


def _zero_(self):
    """``self.zero_()``: outside the graph, one ``ndarray.fill``; recorded as ``ZeroBackward0``."""
    if not _FW[0] and not (_state.record and self._requires_grad):
        check_inplace(self, fills=True)
        fill_array(self._data, 0)
        bump(self)
        return self
    return inplace(self, _zeroed)


tensor_method(_copy_, "copy_")
tensor_method(_fill_, "fill_")
tensor_method(_zero_, "zero_")
tensor_method(Tensor.add_, "__iadd__")
tensor_method(Tensor.sub_, "__isub__")
tensor_method(Tensor.mul_, "__imul__")
tensor_method(Tensor.div_, "__itruediv__")
tensor_method(Tensor.pow_, "__ipow__")
register("zero_", Tensor.zero_, function=False, differentiable=False)
register(
    "fill",
    fill,
    method=False,
    reference=lambda x, value: np.full_like(x, value),
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 2.5), {}),
        ((rng.standard_normal((2, 3)), rng.standard_normal(())), {}),
    ],
)


def _comparison(name, compare):
    """``eq_``, ``lt_``...: the comparison written as 0/1 into ``self``'s dtype.

    PyTorch records these (gradient zero): ``NameBackward0`` against a number (one edge),
    ``NameBackward1`` against a tensor (two edges).
    """
    title = name.capitalize()
    scalar_node = node_class(f"{title}Backward0", lambda ctx, grad: (grad * 0,))
    tensor_node = node_class(f"{title}Backward1", lambda ctx, grad: (grad * 0, grad * 0))

    def compared(self, other):
        out = compare(self.detach(), other.detach() if isinstance(other, Tensor) else other)
        if isinstance(other, Tensor):
            return result(out._data, tensor_node, (self, other))
        return result(out._data, scalar_node, (self,))

    return compared


def _write_masked(array, mask, value):
    """``masked_fill_``'s kernel: ``value`` written where ``mask`` is True."""
    value = value._data if isinstance(value, Tensor) else value
    np.copyto(array, np.asarray(value, array.dtype), where=np.broadcast_to(mask._data, array.shape))


def _write_index_fill(array, dim, index, value):
    """``index_fill_``'s kernel: ``value`` written at ``index`` along ``dim``."""
    value = value._data if isinstance(value, Tensor) else value
    dim = dim + array.ndim if dim < 0 else dim
    array[(slice(None),) * dim + (np.asarray(index._data),)] = value


def _apply_(self, callable):  # noqa: A002 - PyTorch's name
    """Replace each element ``v`` with ``callable(v)`` (a Python number), in place."""
    if self._requires_grad:
        raise RuntimeError(
            "Can't call apply_() on Variable that requires grad. Use var.detach().apply_() instead."
        )
    check_inplace(self)
    data = self._data
    kind = data.dtype.kind
    convert = bool if kind == "b" else int if kind in "iu" else float
    values = []
    for value in data.ravel().tolist():
        made = callable(value)
        if not isinstance(made, (int, float, bool, np.number)):
            raise TypeError(f"must be real number, not {type(made).__name__}")
        values.append(convert(made))
    data[...] = np.array(values, dtype=data.dtype).reshape(data.shape)
    return self  # (PyTorch's apply_ leaves the version counter as it was)


tensor_method(_apply_, "apply_")
FILL_OPS[_filled] = FILL_OPS[_zeroed] = (None, None)


def _install_from_table():
    """``name_`` for every op of the table PyTorch also has in place (``masked_fill_``,
    ``scatter_``, ``floor_``...): the out-of-place op through ``inplace``, which keeps the graph
    and the version counter right. Runs after every op family has registered."""
    from glassgrad.ops.registry import OPS

    names = (
        "masked_fill scatter scatter_add scatter_reduce masked_scatter index_add index_fill "
        "index_copy lerp clamp_min clamp_max "
        "floor ceil round trunc frac sign sgn square rsqrt exp2 expm1 log2 log10 log1p tan asin "
        "acos atan sinh cosh erf fmod remainder maximum minimum atan2 logical_and logical_or "
        "logical_not logical_xor nan_to_num tril triu floor_divide bitwise_and bitwise_or "
        "bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift addcmul addcdiv "
        "addmm baddbmm copysign cumprod cumsum deg2rad rad2deg digamma lgamma erfc erfinv i0 "
        "sinc logit mvlgamma heaviside hypot xlogy"
    ).split()
    for name, write in (("masked_fill", _write_masked), ("index_fill", _write_index_fill)):
        if name in OPS:
            FILL_OPS[OPS[name].fn] = (expanded_write_warning(name + "_"), write)
    for name in names:
        info = OPS.get(name)
        if info is not None:
            INPLACE_NAMES.setdefault(info.fn, name + "_")
        if info is not None and not hasattr(Tensor, name + "_"):
            method = _untracked_method if name in _UNTRACKED else _method
            tensor_method(method(info.fn), name + "_")
    for name in "eq ne lt le gt ge".split():
        compared = _comparison(name, OPS[name].fn)
        INPLACE_NAMES[compared] = name + "_"
        tensor_method(_method(compared), name + "_")
    _install_aliases()


# PyTorch's other names for in-place methods (``Tensor.arcsin_`` is ``asin_``...)
_ALIASES = {
    "arcsin_": "asin_",
    "arccos_": "acos_",
    "arctan_": "atan_",
    "arctan2_": "atan2_",
    "negative_": "neg_",
    "absolute_": "abs_",
    "fix_": "trunc_",
    "true_divide_": "div_",
    "greater_": "gt_",
    "greater_equal_": "ge_",
    "less_": "lt_",
    "less_equal_": "le_",
    "not_equal_": "ne_",
}
# Augmented assignments PyTorch runs in place (without these Python would rebind the name to
# an out-of-place result, leaving the tensor unchanged and its version counter behind)
_DUNDERS = {
    "__ifloordiv__": "floor_divide_",
    "__imod__": "remainder_",
    "__iand__": "bitwise_and_",
    "__ior__": "bitwise_or_",
    "__ixor__": "bitwise_xor_",
    "__ilshift__": "bitwise_left_shift_",
    "__irshift__": "bitwise_right_shift_",
}


def _install_aliases():
    for table in (_ALIASES, _DUNDERS):
        for alias, name in table.items():
            if hasattr(Tensor, name) and not hasattr(Tensor, alias):
                tensor_method(getattr(Tensor, name), alias)


# -- in-place view ops: ``t_``, ``transpose_``, ``squeeze_``, ``unsqueeze_``, ``resize_`` -------
# They change the tensor's own shape over the same memory; recorded, the tensor is rebased onto a
# node that maps the gradient back to the old shape.
TBackward1 = node_class(
    "TBackward1", lambda ctx, grad: (_dual.swapaxes(grad, 0, -1) if grad.ndim > 1 else grad,)
)
TransposeBackward1 = node_class(
    "TransposeBackward1", lambda ctx, grad: (_dual.swapaxes(grad, *ctx._args),)
)
_RESHAPE_BACK = lambda ctx, grad: (_dual.reshape(grad, ctx._args),)  # noqa: E731
SqueezeBackward3 = node_class("SqueezeBackward3", _RESHAPE_BACK)
# matmul (ops/linalg/matmul.py) already owns PyTorch's SqueezeBackward4 name with its own two-input
# rule; squeeze_(dim) gets a subclass of it carrying the reshape rule (as copy_ does above).
SqueezeBackward4 = type(
    "SqueezeBackward4",
    (_linalg.SqueezeBackward4,),
    {"_backward": _RESHAPE_BACK, "__module__": "glassgrad.autograd.graph"},
)
SqueezeBackward5 = node_class("SqueezeBackward5", _RESHAPE_BACK)
UnsqueezeBackward1 = node_class("UnsqueezeBackward1", _RESHAPE_BACK)


def _restride(self, view, node, args, same=None):
    """Make ``self`` show ``view`` (an array over its memory), recording ``node`` if needed.
    ``same(tangent)``: the op on a tangent, which follows it in forward mode."""
    check_inplace(self)
    if _FW[0] and same is not None:
        from glassgrad.autograd.forward_rules import restride_tangent

        restride_tangent(self, same)
    if _state.record and self._requires_grad:
        res = result(view, node, (self,), args=args)
        self._data = view
        bump(self)
        _rebase(self, res._grad_fn)
    else:
        self._data = view
        bump(self)
    extra = self._extra
    if extra is not None and extra.base is not None:
        # the view's index into its base changed: let writes find it again from memory offsets,
        # and count the new shape as current (not a stale view to regenerate)
        extra.view_key = None
        if self._vc is not None:
            extra.view_version = self._vc[0]
    return self


def _t_(self):
    """In-place ``t()``: transpose a tensor of at most 2 dimensions."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the shape
    if self._data.ndim > 2:
        raise RuntimeError(
            f"t_() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D"
        )
    return _restride(self, self._data.T, TBackward1, None, lambda t: t.t())


def _transpose_(self, dim0, dim1):
    """In-place ``transpose(dim0, dim1)``."""
    check_inplace(self)
    self.detach().transpose(dim0, dim1)  # PyTorch's dim errors
    dims = tuple(_wrap(d, self._data.ndim) for d in (dim0, dim1))
    return _restride(
        self, np.swapaxes(self._data, *dims), TransposeBackward1, dims, lambda t: t.transpose(*dims)
    )


def _wrap(dim, ndim):
    return dim + max(ndim, 1) if dim < 0 else dim


def _squeeze_(self, dim=None):
    """In-place ``squeeze(dim)``."""
    check_inplace(self)
    shape = tuple(self._data.shape)
    new = self.detach().squeeze() if dim is None else self.detach().squeeze(dim)
    node = (
        SqueezeBackward3
        if dim is None
        else SqueezeBackward5
        if isinstance(dim, (tuple, list))
        else SqueezeBackward4
    )
    return _restride(
        self, self._data.reshape(new._data.shape), node, shape, lambda t: t.reshape(new.shape)
    )


def _unsqueeze_(self, dim):
    """In-place ``unsqueeze(dim)``."""
    check_inplace(self)
    shape = tuple(self._data.shape)
    new = self.detach().unsqueeze(dim)
    return _restride(
        self,
        self._data.reshape(new._data.shape),
        UnsqueezeBackward1,
        shape,
        lambda t: t.reshape(new.shape),
    )


def _resize_(self, *sizes, memory_format=None):
    """Give ``self`` the shape ``sizes``, keeping its leading elements (new ones are zero)."""
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if any(n < 0 for n in shape):
        raise RuntimeError("numel: integer multiplication overflow")
    check_inplace(self)
    count = int(np.prod(shape, dtype=np.int64))
    flat = self._data.reshape(-1)
    if count <= flat.size and self._data.flags.c_contiguous:
        data = flat[:count].reshape(shape)  # same memory, as PyTorch keeps its storage
    else:
        # PyTorch leaves the new elements uninitialised; zeros are one valid choice
        data = np.zeros(shape, dtype=self._data.dtype)
        data.reshape(-1)[: min(count, flat.size)] = flat[:count]
    self._data = data
    bump(self)
    return self


tensor_method(_t_, "t_")
tensor_method(_transpose_, "transpose_")
tensor_method(_transpose_, "swapaxes_", "swapdims_")
tensor_method(_squeeze_, "squeeze_")
tensor_method(_unsqueeze_, "unsqueeze_")
tensor_method(_resize_, "resize_")
