"""Complex numbers: ``real``/``imag`` and ``view_as_real``/``view_as_complex`` (views sharing
memory, as in PyTorch), ``complex``, ``polar``, ``conj``, ``angle``.

Gradients follow PyTorch's convention (conjugate Wirtinger derivatives): for a real loss, the
gradient of a complex input is ``dL/dRe + i dL/dIm``. Each rule below is PyTorch's formula
(``derivatives.yaml``); the engine takes the real part of a complex gradient for a real input.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._bfloat16 import floating as _floating
from glassgrad._out_arg import exact, takes_out
from glassgrad.autograd.node import NATIVE, complex_rule, node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.ops.shape.view import as_view
from glassgrad.tensor import Tensor, tensor_method


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def _real(x):
    return x.real if _is_array(x) else real(x)


def _imag(x):
    return x.imag if _is_array(x) else imag(x)


def _as_complex(x):
    """A real gradient as the complex one of a complex input (``x + 0j``)."""
    if _is_array(x):
        return x.astype(np.result_type(x.dtype, np.complex64), copy=False)
    return x.to(x.dtype.to_complex())


def _times_i(x):
    """``x * 1j`` for a real ``x``: the gradient ``imag`` passes to its complex input."""
    if _is_array(x):
        return x * np.asarray(1j, np.result_type(x.dtype, np.complex64))
    return complex(D.zeros_like(x), x)


class Reinterpret:
    """The ``view_key`` of a view that reads its base's memory as another dtype (``.real``,
    ``view_as_real``...): ``view(base)`` makes it again, ``rebuild(base, value)`` is the base
    with the view's elements replaced by ``value`` (for writes through it under autograd)."""

    __slots__ = ("view", "rebuild")

    def __init__(self, view, rebuild):
        self.view = view
        self.rebuild = rebuild


def _view(res, base, key):
    """Mark ``res`` a view of ``base`` whose memory it reinterprets (see ``Reinterpret``)."""
    if res._extra is None or res._extra.base is None:
        as_view(res, base)
    if res._extra is not None and res._extra.base is base:
        res._extra.view_key = key
    return res


# -- real / imag -------------------------------------------------------------------------------
def real(input):
    """The real parts of a complex tensor, as a view (a real tensor itself).

    As in PyTorch, the view is ``view_as_real(input)[..., 0]`` (its grad_fn a SelectBackward0).
    """
    if input._data.dtype.kind != "c":
        return input
    out = _select(view_as_real(input), 0)
    return _view(out, input, Reinterpret(real, lambda base, value: complex(value, imag(base))))


def imag(input):
    """The imaginary parts of a complex tensor, as a view."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    out = _select(view_as_real(input), 1)
    return _view(out, input, Reinterpret(imag, lambda base, value: complex(real(base), value)))


def _select(pairs, index):
    from glassgrad.ops.index.indexing import select

    return select(pairs, -1, index)


# -- view_as_real / view_as_complex ------------------------------------------------------------
def _to_complex_grad(grad):
    if _is_array(grad):
        grad = np.ascontiguousarray(grad)
        return grad.view(np.result_type(grad.dtype, np.complex64))[..., 0]
    return view_as_complex(grad.contiguous())


def _to_real_grad(grad):
    if _is_array(grad):
        grad = np.ascontiguousarray(grad)
        return grad.view(grad.real.dtype).reshape(grad.shape + (2,))
    return view_as_real(grad.contiguous())


ViewAsRealBackward0 = node_class("ViewAsRealBackward0", lambda ctx, grad: (_to_complex_grad(grad),))
ViewAsComplexBackward0 = node_class(
    "ViewAsComplexBackward0", lambda ctx, grad: (_to_real_grad(grad),)
)


def _real_view(data):
    """``data`` (complex) read as pairs of reals, sharing its memory."""
    if not data.ndim:
        return data.reshape(1).view(data.real.dtype)
    strides = tuple(s for s in data.strides) + (data.itemsize // 2,)
    return np.lib.stride_tricks.as_strided(
        data.real, data.shape + (2,), strides, writeable=data.flags.writeable
    )


def view_as_real(input):
    """A complex tensor as a real one with a last dimension of 2 (real, imaginary), a view."""
    data = input._data
    if data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if is_conj(input):
        raise RuntimeError(
            "view_as_real doesn't work on unresolved conjugated tensors.  To resolve the "
            "conjugate tensor so you can view it as real, use self.resolve_conj(); however, be "
            "warned that the resulting tensor will NOT alias the original."
        )
    out = result(_real_view(data), ViewAsRealBackward0, (input,))
    return _view(out, input, Reinterpret(view_as_real, lambda base, value: view_as_complex(value)))


def view_as_complex(input):
    """A real tensor with a last dimension of 2 read as complex numbers, a view."""
    data = input._data
    if data.dtype not in (np.float32, np.float64):
        name = _dt.from_numpy_dtype(data.dtype)._legacy[:-6]
        raise RuntimeError(
            "view_as_complex is only supported for half, float and double tensors, but got a "
            f"tensor of scalar type: {name}"
        )
    if not data.ndim:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if data.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    item = data.itemsize
    if data.strides[-1] != item:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * item) for s, n in zip(data.strides[:-1], data.shape[:-1], strict=True)):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if _offset(data) % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    kind = np.complex64 if data.dtype == np.float32 else np.complex128
    out = data.view(kind)[..., 0]  # (the last axis is contiguous: checked above)
    res = result(out, ViewAsComplexBackward0, (input,))
    return _view(res, input, Reinterpret(view_as_complex, lambda base, value: view_as_real(value)))


def _offset(data) -> int:
    """The element offset of ``data`` in the array that owns its memory."""
    owner = data
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    start = data.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return start // data.itemsize


# -- complex / polar ---------------------------------------------------------------------------
ComplexBackward0 = node_class("ComplexBackward0", lambda ctx, grad: (_real(grad), _imag(grad)))


def _check_parts(name, real, imag):
    names = ("real", "imag") if name == "complex" else ("abs", "angle")
    for position, value in enumerate((real, imag)):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{name}(): argument '{names[position]}' (position {position + 1}) must be "
                f"Tensor, not {type(value).__name__}"
            )
    a, b = real._data.dtype, imag._data.dtype
    if a.kind != "f" or b.kind != "f":
        names = [_dt.from_numpy_dtype(d)._legacy[:-6] for d in (a, b)]
        raise RuntimeError(
            f"Expected both inputs to be Half, Float or Double tensors but got {names[0]} and "
            f"{names[1]}"
        )
    if a != b:
        first = _dt.from_numpy_dtype(a)._legacy[:-6]
        second = _dt.from_numpy_dtype(b)._legacy[:-6]
        raise RuntimeError(
            f"Expected object of scalar type {first} but got scalar type {second} for second "
            "argument"
        )


def complex(real, imag):  # noqa: A001 - PyTorch's name
    """The complex tensor ``real + imag * 1j`` (broadcasting)."""
    _check_parts("complex", real, imag)
    kind = np.complex64 if real._data.dtype == np.float32 else np.complex128
    _dt.complex_seen(_dt.complex64)
    out = np.empty(np.broadcast_shapes(real._data.shape, imag._data.shape), kind)
    out.real, out.imag = real._data, imag._data
    return result(out, ComplexBackward0, (real, imag))


def _polar_backward(ctx, grad, out):
    grad = D.conj(grad)
    sgn = _sgn(out)
    grad_abs = _real(grad * sgn)
    grad_angle = _real(grad * out * 1j)
    return grad_abs, grad_angle


def _sgn(z):
    if _is_array(z):
        return np.sign(z)
    return z.sgn()


PolarBackward0 = node_class("PolarBackward0", _polar_backward)


def polar(abs, angle):  # noqa: A002 - PyTorch's names
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``."""
    _check_parts("polar", abs, angle)
    kind = np.complex64 if abs._data.dtype == np.float32 else np.complex128
    _dt.complex_seen(_dt.complex64)
    out = np.empty(np.broadcast_shapes(abs._data.shape, angle._data.shape), kind)
    out.real = abs._data * np.cos(angle._data)
    out.imag = abs._data * np.sin(angle._data)
    from glassgrad.autograd.record import OUT

    return result(out, PolarBackward0, (abs, angle), saved=(OUT,))


# -- conj / angle ------------------------------------------------------------------------------
ConjBackward0 = node_class("ConjBackward0", lambda ctx, grad: (D.conj(grad),))
ConjPhysicalBackward0 = node_class("ConjPhysicalBackward0", lambda ctx, grad: (D.conj(grad),))


def conj(input):
    """The complex conjugate (``input`` itself for a real tensor).

    PyTorch returns a lazy view with its conjugate bit set; glassgrad computes the values (a
    new tensor that ``is_conj()``), so writing into it does not change ``input``.
    """
    data = input._data
    if data.dtype.kind != "c":
        return input
    out = result(np.conj(data), ConjBackward0, (input,))
    out.__dict__["_conj"] = True
    return out


def conj_physical(input):
    """The complex conjugate, computed (a new tensor; a copy of a real one)."""
    data = input._data
    if data.dtype.kind != "c":
        return input
    return result(np.conj(data), ConjPhysicalBackward0, (input,))


def resolve_conj(input):
    """``input`` with its conjugation materialised (a copy if ``is_conj()``, else itself)."""
    if not is_conj(input):
        return input
    from glassgrad.ops.elementwise.unary import clone

    out = clone(input)
    out.__dict__.pop("_conj", None)
    return out


def is_conj(input) -> bool:
    """Whether ``input`` is a conjugate that ``conj()`` returned (PyTorch's conjugate bit)."""
    return input.__dict__.get("_conj", False) if input.__dict__ else False


def _angle_backward(ctx, grad, x):
    if not (x.dtype.kind == "c" if _is_array(x) else x.is_complex()):
        return (D.zeros_like(x),)
    if _is_array(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = grad * x / (x.real**2 + x.imag**2) * 1j
        return (np.where(x == 0, 0, scaled).astype(x.dtype, copy=False),)
    abs2 = x.abs() ** 2
    zero = D.zeros_like(x)
    return (D.where(x == 0, zero, grad * x / abs2 * 1j),)


AngleBackward0 = node_class("AngleBackward0", _angle_backward)


def angle(input):
    """The argument of each element (``atan2(imag, real)``; for reals 0 or pi, NaN kept)."""
    data = input._data
    if data.dtype.kind == "c":
        return result(np.angle(data), AngleBackward0, (input,), saved=(input,))
    if not _floating(data):
        data = data.astype(_dt.get_default_dtype().np)
    out = np.where(data < 0, np.pi, 0.0).astype(data.dtype)
    out = np.where(np.isnan(data), data, out)
    return result(out, AngleBackward0, (input,), saved=(input,))


complex_rule(
    NATIVE,
    ViewAsRealBackward0,
    ViewAsComplexBackward0,
    ComplexBackward0,
    PolarBackward0,
    ConjBackward0,
    ConjPhysicalBackward0,
    AngleBackward0,
)


def _setter(part):
    def assign(self, value) -> None:
        part(self).copy_(value)

    return assign


tensor_method(
    property(real, _setter(real), doc="The real parts (a view; ``self`` if real)."), "real"
)
tensor_method(
    property(imag, _setter(imag), doc="The imaginary parts of a complex tensor (a view)."), "imag"
)
for _fn in (conj, conj_physical, resolve_conj, is_conj):
    tensor_method(_fn, _fn.__name__)
_PARTS_OUT = exact(
    "Expected object of scalar type {res} but got scalar type {out} for argument 'out'"
)
FUNCTIONS = (real, imag, view_as_real, view_as_complex, conj, resolve_conj, is_conj)
FUNCTIONS += (  # (their function forms take PyTorch's out=)
    takes_out("complex", complex, _PARTS_OUT),
    takes_out("polar", polar, _PARTS_OUT),
    takes_out("conj_physical", conj_physical, "same"),
)
# (in the op table on real inputs, where its gradient is zero; complex ones are tested apart)
register("angle", angle, reference=lambda x: np.where(x < 0, np.pi, 0.0), out="cast")


# -- which rules hold for complex numbers ------------------------------------------------------
# (see autograd.node: a node class in neither list refuses complex inputs and outputs)
# Rules that only move, select, sum or copy values: right for complex numbers as written.
_MOVING = """
SumBackward0 SumBackward1 MeanBackward0 MeanBackward1 CumsumBackward0 NegBackward0
CloneBackward0 ToCopyBackward0 CopyBackwards CopySlices AliasBackward0 WhereBackward0
MaskedFillBackward0 MaskedFillBackward1 FillBackward2 FillBackward3 ZeroBackward0
ViewBackward0 ReshapeAliasBackward0 UnsafeViewBackward0 TransposeBackward0 TBackward0
PermuteBackward0 UnsqueezeBackward0 SqueezeBackward0 SqueezeBackward1 SqueezeBackward2
TBackward1 TransposeBackward1 SqueezeBackward3 SqueezeBackward5 UnsqueezeBackward1
UnsqueezeBackward0_index ExpandBackward0 CatBackward0 StackBackward0 SplitBackward0
SplitWithSizesBackward0 UnbindBackward0 RepeatBackward0 FlipBackward0 RollBackward0
TrilBackward0 TriuBackward0 DiagonalBackward0 DiagonalBackward0_copy DiagEmbedBackward0
SelectBackward0 SliceBackward0 IndexBackward0 IndexPutBackward0 GatherBackward0
ScatterBackward0 ScatterBackward1 ScatterAddBackward0 IndexSelectBackward0 IndexAddBackward0
MaskedSelectBackward0 TakeBackward0 UnfoldBackward0 TraceBackward0 Rot90Backward0
BlockDiagBackward0 ConstantPadNdBackward0
AbsBackward0 VarBackward0 StdBackward0 VarMeanBackward0 StdMeanBackward0
"""
# Rules of holomorphic ops written for real numbers: conjugated around (autograd.node).
_HOLOMORPHIC = """
AddBackward0 SubBackward0 RsubBackward1 MulBackward0 DivBackward0 MulBackward1 DivBackward1
ExpBackward0 Exp2Backward0 Expm1Backward0 LogBackward0 Log2Backward0 Log10Backward0
Log1PBackward0 SqrtBackward0 RsqrtBackward0 ReciprocalBackward0 SinBackward0 CosBackward0
TanBackward0 AsinBackward0 AcosBackward0 AtanBackward0 SinhBackward0 CoshBackward0
TanhBackward0 SigmoidBackward0 PowBackward0 PowBackward1 PowBackward2 DotBackward0
MmBackward0 MvBackward0 BmmBackward0 SqueezeBackward4 AddmmBackward0 BaddbmmBackward0
EinsumBackward0 AddcmulBackward0 AddcdivBackward0 LerpBackward0 LerpBackward1
ProdBackward0 ProdBackward1 LogsumexpBackward0
"""


def _sgn_backward(ctx, grad, x, out):
    """PyTorch's ``sgn_backward``: ``(g - sgn^2 conj(g)) / (2 |x|)``, 0 where x is 0."""
    if _is_array(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (grad - out * out * np.conj(grad)) / (2 * np.abs(x))
        return (np.where(x == 0, 0, value).astype(x.dtype, copy=False),)
    value = (grad - out * out * D.conj(grad)) / (2 * x.abs())
    return (D.where(x == 0, D.zeros_like(x), value),)


def _mark():
    from glassgrad.autograd.node import _CLASSES, HOLOMORPHIC

    for mode, names in ((NATIVE, _MOVING), (HOLOMORPHIC, _HOLOMORPHIC)):
        complex_rule(mode, *[_CLASSES[name] for name in names.split()])
    sgn = _CLASSES["SgnBackward0"]
    twin = type("SgnBackward0", (sgn,), {"_backward": _sgn_backward, "_complex": NATIVE})
    complex_rule(twin, sgn)


_mark()
