"""Piecewise elementwise ops: rounding, sign, clamp, lerp and the NaN/inf tests.

Rounding and ``sign`` are piecewise constant: like PyTorch they record a node whose gradient is
zero, so the graph (and ``grad_fn``) stays the same as PyTorch's.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad._bfloat16 import floating as _floating
from glassgrad._tensor_info import _C_NAMES
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import (
    needs_grad,
    refuse_inference_saved,
    result,
    track_versions,
)
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.binary import _promote, broadcast_shapes
from glassgrad.ops.elementwise.unary import check_kind, elementwise, keep_inside
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor


def _zero(ctx, grad, *saved):
    return D.zeros_like(grad)


def _sign(x):
    if x.dtype.kind == "c":
        raise NotImplementedError(
            "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
            "torch.sgn instead."
        )
    return D.np_sign(x)


sign = elementwise("sign", _sign, _zero, None, kind="any", dtypes=("float64", "int64"), out="same")
# sgn is sign for real tensors and z / |z| for complex ones (its complex gradient: see complex)
# (PyTorch saves sgn's input and result, so changing either in place breaks backward)
sgn = elementwise(
    "sgn",
    D.np_sign,
    _zero,
    "both",
    kind="any",
    dtypes=("float64", "int64"),
    out="same",
)
floor = elementwise(
    "floor", np.floor, _zero, None, kind="int", kernel="floor_vml_cpu", dtypes=("float64", "int64")
)
ceil = elementwise(
    "ceil", np.ceil, _zero, None, kind="int", kernel="ceil_vml_cpu", dtypes=("float64", "int64")
)
trunc = elementwise(
    "trunc",
    np.trunc,
    _zero,
    None,
    kind="int",
    kernel="trunc_vml_cpu",
    aliases=("fix",),
    dtypes=("float64", "int64"),
)
frac = elementwise(
    "frac",
    lambda x: x - np.trunc(x),
    lambda ctx, grad: grad,
    None,
    kind="floatonly",
    kernel="frac_cpu",
    domain=(-3.0, 3.0),
    out="same",
)
isnan = elementwise("isnan", np.isnan, None, None, kind="any", out=None)  # (no out= in PyTorch)
isinf = elementwise("isinf", np.isinf, None, None, kind="any", out=None)  # (no out= in PyTorch)
isfinite = elementwise(
    "isfinite", np.isfinite, None, None, kind="any", out=None
)  # (no out= in PyTorch)

RoundBackward0 = node_class(
    "RoundBackward0", lambda ctx, grad: (D.zeros_like(grad),), jvp=ELEMENTWISE
)
RoundBackward1 = node_class(
    "RoundBackward1", lambda ctx, grad: (D.zeros_like(grad),), jvp=ELEMENTWISE
)


def _c_name(data):
    from glassgrad.tensor import _c_type

    return _c_type(_dt.from_numpy_dtype(data.dtype))


def round(input, *, decimals=0):  # noqa: A001 - PyTorch's name
    """Round half to even, optionally to ``decimals`` decimal places."""
    data = check_kind("round", input._data, "int", "round_vml_cpu")
    if not _floating(data):
        if decimals:
            raise NotImplementedError(f"\"round_cpu\" not implemented for '{_c_name(data)}'")
        return result(data.copy(), RoundBackward0, (input,))
    if decimals == 0:
        return result(np.round(data), RoundBackward0, (input,))
    return result(np.round(data, decimals), RoundBackward1, (input,))


def _round_samples(make, shape):
    x = make(shape, low=-3.0, high=3.0)
    return [((x,), {}), ((x,), {"decimals": 1})]


register(
    "round",
    round,
    reference=lambda x, decimals=0: np.round(x, decimals),
    samples=shaped(_round_samples),
    any_shape=True,
    dtypes=("float64", "int64"),
    out="same",
)

NanToNumBackward0 = node_class(
    "NanToNumBackward0", lambda ctx, grad, finite: (grad * finite,), jvp=ELEMENTWISE
)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan`` and infinities by ``posinf``/``neginf`` (default: dtype extremes)."""
    data = input._data
    if not _floating(data):
        return result(data.copy(), None, (input,))
    out_data = np.nan_to_num(data, nan=nan, posinf=posinf, neginf=neginf)
    res = result(out_data, NanToNumBackward0, (input,), (np.isfinite(data),))
    return track_versions(res, input)  # (PyTorch saves input)


def _nan_to_num_samples(make, shape):
    x = make(shape)
    return [((x,), {}), ((x,), {"nan": 1.5, "posinf": 2.0, "neginf": -2.0})]


def _non_finite(make, shape):
    x = make(shape)
    x.reshape(-1)[::2] = np.resize([np.nan, np.inf, -np.inf], x.reshape(-1)[::2].shape)
    return [((x,), {}), ((x,), {"nan": 1.5, "posinf": 2.0, "neginf": -2.0})]


register(
    "nan_to_num",
    nan_to_num,
    reference=np.nan_to_num,
    any_shape=True,
    samples=shaped(_nan_to_num_samples),
    edge_samples=shaped(_non_finite),
    dtypes=("float64", "float32", "int64"),
    out="nan_to_num",
)


# -- clamp -----------------------------------------------------------------------------------
def _arr(x):
    """The array of a saved tensor (a rule's masks are constants), or ``x`` as it is."""
    return x._data if isinstance(x, Tensor) else x


def _clamp_scalar_backward(ctx, grad, x):
    # selects (NaN and the outside get 0, whatever arrives), boundaries included, as PyTorch
    low, high = ctx._args
    xa = _arr(x)
    keep = True
    if low is not None:
        keep = xa >= low
    if high is not None:
        keep = (xa <= high) & keep if low is not None else xa <= high
    return (D.select(keep, grad),)


def _clamp_tensor_backward(ctx, grad, x, low, high):
    # PyTorch's formula: the input keeps the gradient inside [min, max], boundaries included;
    # a bound gets it where the input crossed that bound.
    # With min > max the result is max: max gets the gradient there, min and the input none.
    x, low, high = _arr(x), _arr(low), _arr(high)
    keep = x >= low if low is not None else None
    if high is not None:
        keep = x <= high if keep is None else keep & (x <= high)
    grad_low = grad_high = None
    if low is not None:
        grad_low = D.select((x < low) & (low < high) if high is not None else x < low, grad)
    if high is not None:
        grad_high = D.select((x > high) | (high < low) if low is not None else x > high, grad)
    return D.select(keep, grad), grad_low, grad_high


ClampBackward1 = node_class("ClampBackward1", _clamp_scalar_backward, jvp=ELEMENTWISE)
ClampBackward0 = node_class("ClampBackward0", _clamp_tensor_backward, jvp=ELEMENTWISE)
ClampMinBackward0 = node_class("ClampMinBackward0", _clamp_scalar_backward, jvp=ELEMENTWISE)
ClampMaxBackward0 = node_class("ClampMaxBackward0", _clamp_scalar_backward, jvp=ELEMENTWISE)
ClampMinBackward1 = node_class("ClampMinBackward1", _clamp_tensor_backward, jvp=ELEMENTWISE)
ClampMaxBackward1 = node_class("ClampMaxBackward1", _clamp_tensor_backward, jvp=ELEMENTWISE)


def _clamp_type_error(min, max):  # noqa: A002
    def kind(v):
        return "Tensor" if isinstance(v, Tensor) else type(v).__name__

    got = ", ".join(kind(v) for v in (min, max) if v is not None)
    bang = ", ".join(f"!{kind(v)}!" for v in (min, max) if v is not None)
    return TypeError(
        f"clamp() received an invalid combination of arguments - got ({got}), but expected one "
        f"of:\n * (Tensor min = None, Tensor max = None)\n      didn't match because some of the "
        f"arguments have invalid types: ({bang})\n * (Number min = None, Number max = None)\n"
        f"      didn't match because some of the arguments have invalid types: ({bang})\n"
    )


def _clamp(input, min, max, names):  # noqa: A002 - PyTorch's names
    if input._data.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tensors = [v for v in (min, max) if v is not None and isinstance(v, Tensor)]
    if tensors and len(tensors) != len([v for v in (min, max) if v is not None]):
        raise _clamp_type_error(min, max)
    data = input._data
    if tensors:
        broadcast_shapes(data.shape, *[t._data.shape for t in tensors])
    if not tensors:
        out = data
        target = data.dtype
        for bound, fn in ((min, np.maximum), (max, np.minimum)):
            if bound is not None:
                out = keep_inside(fn(out, bound), data)
                target = np.promote_types(target, _dt.result_type_scalar(input.dtype, bound).np)
        return result(out.astype(target, copy=False), names[1], (input,), (input,), args=(min, max))
    target = input
    for bound in tensors:
        target = (
            _dt.result_type(target.dtype, target.ndim, bound.dtype, bound.ndim)
            if isinstance(target, Tensor)
            else _dt.promote_types(target, bound.dtype)
        )
    out = data
    for bound, fn in ((min, np.maximum), (max, np.minimum)):
        if bound is not None:
            out = keep_inside(fn(out, bound._data), data)
    out = as_data(out).astype(getattr(target, "np", data.dtype), copy=False)
    return result(out, names[0], (input, min, max), (input, min, max))


def clamp(input, min=None, max=None):  # noqa: A002 - PyTorch's names
    """Limit values to ``[min, max]`` (gradient 1 inside, boundaries included; 0 outside)."""
    return _clamp(input, min, max, (ClampBackward0, ClampBackward1))


def clamp_min(input, min):  # noqa: A002 - PyTorch's name
    """``clamp(input, min=min)``."""
    return _clamp(input, min, None, (ClampMinBackward1, ClampMinBackward0))


def clamp_max(input, max):  # noqa: A002 - PyTorch's name
    """``clamp(input, max=max)``."""
    return _clamp(input, None, max, (ClampMaxBackward1, ClampMaxBackward0))


def _clamp_samples(make, shape):
    x = make(shape)
    low, high = make(shape[-1:], low=-1.5, high=-0.2), make(shape, low=0.2, high=1.5)
    return [
        ((x,), {"min": -0.5, "max": 0.5}),
        ((x,), {"min": 0.3}),
        ((x,), {"max": 0}),
        ((x, low, high), {}),
        ((x,), {"min": low}),
        ((x,), {"max": high}),
    ]


def _clamp_reference(x, min=None, max=None):  # noqa: A002
    return np.clip(x, min, max)


register(
    "clamp",
    clamp,
    aliases=("clip",),
    reference=_clamp_reference,
    samples=shaped(_clamp_samples),
    any_shape=True,
    nin=3,
    out="same",
)
register(
    "clamp_min",
    clamp_min,
    reference=lambda x, min: np.maximum(x, min),
    any_shape=True,
    samples=shaped(
        lambda make, shape: [((make(shape), 0.5), {}), ((make(shape), make(shape[-1:])), {})]
    ),
    out="same",
)
register(
    "clamp_max",
    clamp_max,
    reference=lambda x, max: np.minimum(x, max),
    any_shape=True,
    samples=shaped(
        lambda make, shape: [((make(shape), 0.5), {}), ((make(shape), make(shape[-1:])), {})]
    ),
    out="same",
)


# -- lerp ------------------------------------------------------------------------------------
LerpBackward0 = node_class(
    "LerpBackward0", lambda ctx, grad: (grad * (1 - ctx._args), grad * ctx._args), jvp=ELEMENTWISE
)
LerpBackward1 = node_class(
    "LerpBackward1",
    lambda ctx, grad, start, end, weight: (
        None if weight is None else grad * (1 - weight),
        None if weight is None else grad * weight,
        None if start is None else grad * (end - start),
    ),
    jvp=ELEMENTWISE,
)


def _lerp(start, end, weight):
    # PyTorch's two-sided formula: exact at weight 0 and at weight 1
    return np.where(
        np.abs(weight) < 0.5, start + weight * (end - start), end - (end - start) * (1 - weight)
    )


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    if isinstance(weight, Tensor):  # (PyTorch saves before its kernel checks dtypes)
        ends = needs_grad(weight)
        refuse_inference_saved((input, end, weight), (input, end, weight) if ends else (weight,))
    for name, t in (("end", end), ("weight", weight)):
        if name == "weight" and isinstance(t, Tensor) and not t._data.ndim:
            continue  # PyTorch takes a 0-d weight of any float dtype
        if isinstance(t, Tensor) and t._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"expected dtype {_C_NAMES[input.dtype.name]} for `{name}` but got dtype "
                f"{_C_NAMES[t.dtype.name]}"
            )
    if not _floating(input._data):
        kernel = "tensor" if isinstance(weight, Tensor) else "scalar"
        raise NotImplementedError(
            f"\"lerp_kernel_{kernel}\" not implemented for '{input.dtype._legacy[:-6]}'"
        )
    start, stop = _promote(input, end)
    if isinstance(weight, Tensor):
        broadcast_shapes(start.shape, stop.shape, weight.shape)
        out = _lerp(start, stop, weight._data).astype(start.dtype, copy=False)
        # as in PyTorch: the ends only for weight's gradient; weight always
        ends = needs_grad(weight)
        saved = (input if ends else None, end if ends else None, weight)
        return result(out, LerpBackward1, (input, end, weight), saved)
    out = as_data(_lerp(start, stop, weight)).astype(start.dtype, copy=False)
    return result(out, LerpBackward0, (input, end), args=weight)


register(
    "lerp",
    lerp,
    reference=_lerp,
    any_shape=True,
    nin=3,
    dtypes=("float64", "float32"),
    samples=shaped(
        lambda make, shape: [
            ((make(shape), make(shape), 0.3), {}),
            ((make(shape), make(shape[-1:]), 0.7), {}),
            ((make(shape), make(shape), make(shape)), {}),
        ]
    ),
    out="cast",
)
