"""dtype objects (``glassgrad.float32`` …) and PyTorch's type-promotion rules."""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype",
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool_",
    "complex64",
    "complex128",
    "complex32",
    "get_default_dtype",
    "set_default_dtype",
    "promote_types",
    "to_dtype",
]


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type: wraps a NumPy dtype and knows PyTorch's name for it."""

    __module__ = "glassgrad"  # ``type(torch.float32)`` shows as the package's, as PyTorch's does

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_kind", "_legacy")

    def __init__(self, name: str, np_dtype, kind: int, legacy: str):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._kind = kind  # 0 bool, 1 integer, 2 floating, 3 complex: the promotion category
        self.is_floating_point = kind == 2
        self.is_signed = name not in ("uint8", "bool")
        self.itemsize = self.np.itemsize
        self._legacy = legacy  # the type name PyTorch shows in saved-tensor errors

    def __repr__(self) -> str:
        # Printed as PyTorch prints it, so output of ported scripts is unchanged.
        return f"torch.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))

    @property
    def is_complex(self) -> bool:
        return self._kind == 3

    def to_real(self) -> dtype:
        """The real dtype of a complex one's parts (complex64 -> float32); others unchanged."""
        return _TO_REAL.get(self, self)

    def to_complex(self) -> dtype:
        """The complex dtype with this floating dtype's parts (float32 -> complex64)."""
        found = _TO_COMPLEX.get(self.name)
        if found is None:
            raise RuntimeError(f"Unknown Complex ScalarType for {self._legacy[:-6]}")
        return found


float16 = half = dtype("float16", np.float16, 2, "HalfTensor")
float32 = float = dtype("float32", np.float32, 2, "FloatTensor")  # noqa: A001
float64 = double = dtype("float64", np.float64, 2, "DoubleTensor")
int8 = dtype("int8", np.int8, 1, "CharTensor")
int16 = short = dtype("int16", np.int16, 1, "ShortTensor")
int32 = int = dtype("int32", np.int32, 1, "IntTensor")  # noqa: A001
int64 = long = dtype("int64", np.int64, 1, "LongTensor")
uint8 = dtype("uint8", np.uint8, 1, "ByteTensor")
bool_ = dtype("bool", np.bool_, 0, "BoolTensor")
complex64 = cfloat = dtype("complex64", np.complex64, 3, "ComplexFloatTensor")
complex128 = cdouble = dtype("complex128", np.complex128, 3, "ComplexDoubleTensor")


class _NoStorage(dtype):
    """A dtype PyTorch names but NumPy cannot store (complex32): a name to compare with and
    promote, refused when data of it is made."""

    __slots__ = ()

    @property
    def np(self):
        raise TypeError(
            f"torch.{self.name} tensors are not supported by glassgrad: NumPy has no "
            f"{self.name} type (use torch.complex64)"
        )

    dtype = np  # what ``to_dtype`` asks of objects it does not know


complex32 = chalf = object.__new__(_NoStorage)
_SLOTS = {"name": "complex32", "_kind": 3, "is_floating_point": False, "is_signed": True,
          "itemsize": 4, "_legacy": "ComplexHalfTensor"}  # fmt: skip
for _slot, _value in _SLOTS.items():
    object.__setattr__(complex32, _slot, _value)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_, complex64, complex128)
# Complex dtypes are looked up apart (``from_numpy_dtype``'s slow path), where the first one seen
# turns on the recorder's complex checks: programs without complex numbers never pay for them.
_BY_NP = {d.np: d for d in ALL if d._kind != 3}
_COMPLEX_NP = {complex64.np: complex64, complex128.np: complex128}
COMPLEX_SEEN = [False]  # whether any complex dtype has been used (read by autograd.record)


def complex_seen(found: dtype) -> dtype:
    """Note that a complex dtype is in use (turns the recorder's complex checks on)."""
    COMPLEX_SEEN[0] = True
    return found


_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)
_BY_NAME.update(complex32=complex32, chalf=complex32, cfloat=complex64, cdouble=complex128)
_TO_REAL = {complex32: float16, complex64: float32, complex128: float64}
_TO_COMPLEX = {"float16": complex32, "bfloat16": complex64, "float32": complex64,
               "float64": complex128, "complex32": complex32, "complex64": complex64,
               "complex128": complex128}  # fmt: skip

_default = [float32]


def get_default_dtype() -> dtype:
    """Return the dtype that Python floats and float factories get (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float16, float32 or float64)."""
    if d.__class__ is not dtype:
        # PyTorch takes only its dtype objects here, not ``float`` or names.
        raise TypeError(
            "invalid dtype object: only floating-point types are supported as the default type"
        )
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def from_numpy_dtype(np_dtype) -> dtype:
    """Map a NumPy dtype to glassgrad's; raise TypeError for one glassgrad has no name for."""
    found = _BY_NP.get(np_dtype)
    if found is None:
        found = _BY_NP.get(np.dtype(np_dtype))
        if found is None and np.dtype(np_dtype) in _COMPLEX_NP:
            return complex_seen(_COMPLEX_NP[np.dtype(np_dtype)])
        if found is None:
            name = np.dtype(np_dtype).type.__name__  # str_, object_: NumPy's scalar type names
            raise TypeError(
                f"can't convert np.ndarray of type numpy.{name}. The only "
                "supported types are: float64, float32, float16, complex64, complex128, int64, "
                "int32, int16, int8, uint64, uint32, uint16, uint8, and bool."
            )
    return found


def to_dtype(value) -> dtype:
    """Accept a glassgrad dtype, a NumPy dtype or type, a Python type or a name."""
    if value.__class__ is dtype or value.__class__ is _NoStorage:
        return complex_seen(value) if value._kind == 3 else value
    if value is builtins_float:
        return float64  # PyTorch maps the Python type to double, whatever the default dtype
    if value is builtins_int:
        return int64
    if value is builtins_bool:
        return bool_
    if value is builtins_complex:
        return complex_seen(complex128)  # as ``float`` is double
    if isinstance(value, str):
        name = value[6:] if value.startswith("torch.") else value
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"unknown dtype {value!r}")
    if hasattr(value, "dtype") and not isinstance(value, type):
        return to_dtype(value.dtype)
    return from_numpy_dtype(np.dtype(value))


import builtins as _builtins  # noqa: E402

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool
builtins_complex = _builtins.complex

_PROMOTE: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promote_types: the smallest dtype both values fit (bool < ints < floats)."""
    key = (a, b)
    found = _PROMOTE.get(key)
    if found is None:
        a, b = to_dtype(a), to_dtype(b)  # ``promote_types(torch.float32, float)`` is allowed
        if a is b:
            found = a
        elif a._kind == 3 or b._kind == 3:
            found = _promote_complex(a, b)
        elif a._kind != b._kind:
            found = a if a._kind > b._kind else b
        elif {a, b} == {uint8, int8}:
            found = int16
        else:
            found = from_numpy_dtype(np.promote_types(a.np, b.np))
        _PROMOTE[key] = found
    return found


def _promote_complex(a: dtype, b: dtype) -> dtype:
    """A complex dtype with either: parts wide enough for both (complex64 + float64 ->
    complex128; an integer or bool adds nothing)."""
    parts = [d.to_real() for d in (a, b) if d._kind >= 2]
    real = parts[0] if len(parts) == 1 else promote_types(parts[0], parts[1])
    return real.to_complex()


def scalar_category(value) -> int:
    """Promotion category of a Python scalar: 0 bool, 1 int, 2 float, 3 complex (NumPy scalars
    count too)."""
    if isinstance(value, _builtins.bool) or isinstance(value, np.bool_):
        return 0
    if isinstance(value, (_builtins.int, np.integer)):
        return 1
    if isinstance(value, (_builtins.complex, np.complexfloating)):
        return 3
    return 2


def refuse_complex(data, kernel: str) -> None:
    """PyTorch's NotImplementedError for a kernel that has no complex version."""
    if data.dtype.kind == "c":
        kind = "ComplexFloat" if data.dtype == np.complex64 else "ComplexDouble"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{kind}'")


def default_complex() -> dtype:
    """The complex dtype Python complex numbers get: complex128 when the default is float64."""
    return (
        complex128
        if _default[0] is float64
        else complex64
        if _default[0] is float32
        else (complex32)
    )


def result_type(a: dtype, a_dim: int, b: dtype, b_dim: int) -> dtype:
    """Promote two tensor dtypes the way PyTorch does: 0-d tensors only raise the category."""
    if a is b:
        return a
    a_zero = a_dim == 0
    if a_zero == (b_dim == 0):
        return promote_types(a, b)
    dimmed, zero = (b, a) if a_zero else (a, b)
    if zero._kind > dimmed._kind:
        if zero._kind == 3 and dimmed._kind == 2:
            return dimmed.to_complex()  # a float tensor keeps its precision (PyTorch's rule)
        return zero  # a 0-d tensor of a higher category decides the result
    return dimmed


def result_type_scalar(a: dtype, value) -> dtype:
    """Promote a tensor dtype with a Python scalar (weak: only the category can rise)."""
    category = scalar_category(value)
    if category <= a._kind:
        return a
    if category == 3:
        return complex_seen(a.to_complex() if a._kind == 2 else default_complex())
    return get_default_dtype() if category == 2 else int64


def dtype_arg(value, function: str) -> dtype | None:
    """A public ``dtype=`` argument as PyTorch's parser takes it: a glassgrad dtype or a Python
    type (``float`` is double); a name or a NumPy dtype is refused, with PyTorch's TypeError."""
    if value is None or value.__class__ is dtype:
        if value is bfloat16:
            _bfloat16_used()
        elif value is not None and value._kind == 3:
            complex_seen(value)
        return value
    if value is complex32:
        return value  # (refused by its ``np`` where data of it would be made)
    if value is builtins_float or value is builtins_int or value is builtins_bool:
        return to_dtype(value)
    if value is builtins_complex:
        return to_dtype(value)
    if isinstance(value, dtype):  # bfloat16 without ml_dtypes: to_dtype says what to install
        return to_dtype(value)
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    raise TypeError(f"{function}(): argument 'dtype' must be torch.dtype, not {name}")


from glassgrad._bfloat16 import bfloat16  # noqa: E402, F401 - on ml_dtypes; registers itself
from glassgrad._bfloat16 import used as _bfloat16_used  # noqa: E402
