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
        self._kind = kind  # 0 bool, 1 integer, 2 floating: the promotion category
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
        return False

    def to_real(self) -> dtype:
        return self


float16 = half = dtype("float16", np.float16, 2, "HalfTensor")
float32 = float = dtype("float32", np.float32, 2, "FloatTensor")  # noqa: A001
float64 = double = dtype("float64", np.float64, 2, "DoubleTensor")
int8 = dtype("int8", np.int8, 1, "CharTensor")
int16 = short = dtype("int16", np.int16, 1, "ShortTensor")
int32 = int = dtype("int32", np.int32, 1, "IntTensor")  # noqa: A001
int64 = long = dtype("int64", np.int64, 1, "LongTensor")
uint8 = dtype("uint8", np.uint8, 1, "ByteTensor")
bool_ = dtype("bool", np.bool_, 0, "BoolTensor")

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)

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
    if value.__class__ is dtype:
        return value
    if value is builtins_float:
        return float64  # PyTorch maps the Python type to double, whatever the default dtype
    if value is builtins_int:
        return int64
    if value is builtins_bool:
        return bool_
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

_PROMOTE: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promote_types: the smallest dtype both values fit (bool < ints < floats)."""
    key = (a, b)
    found = _PROMOTE.get(key)
    if found is None:
        a, b = to_dtype(a), to_dtype(b)  # ``promote_types(torch.float32, float)`` is allowed
        if a is b:
            found = a
        elif a._kind != b._kind:
            found = a if a._kind > b._kind else b
        elif {a, b} == {uint8, int8}:
            found = int16
        else:
            found = from_numpy_dtype(np.promote_types(a.np, b.np))
        _PROMOTE[key] = found
    return found


def scalar_category(value) -> int:
    """Promotion category of a Python scalar: 0 bool, 1 int, 2 float (NumPy scalars count too)."""
    if isinstance(value, _builtins.bool) or isinstance(value, np.bool_):
        return 0
    if isinstance(value, (_builtins.int, np.integer)):
        return 1
    return 2


def result_type(a: dtype, a_dim: int, b: dtype, b_dim: int) -> dtype:
    """Promote two tensor dtypes the way PyTorch does: 0-d tensors only raise the category."""
    if a is b:
        return a
    a_zero = a_dim == 0
    if a_zero == (b_dim == 0):
        return promote_types(a, b)
    dimmed, zero = (b, a) if a_zero else (a, b)
    if zero._kind > dimmed._kind:
        return zero  # a 0-d tensor of a higher category decides the result
    return dimmed


def result_type_scalar(a: dtype, value) -> dtype:
    """Promote a tensor dtype with a Python scalar (weak: only the category can rise)."""
    category = scalar_category(value)
    if category <= a._kind:
        return a
    return get_default_dtype() if category == 2 else int64


def dtype_arg(value, function: str) -> dtype | None:
    """A public ``dtype=`` argument as PyTorch's parser takes it: a glassgrad dtype or a Python
    type (``float`` is double); a name or a NumPy dtype is refused, with PyTorch's TypeError."""
    if value is None or value.__class__ is dtype:
        if value is bfloat16:
            _bfloat16_used()
        return value
    if value is builtins_float or value is builtins_int or value is builtins_bool:
        return to_dtype(value)
    if isinstance(value, dtype):  # bfloat16 without ml_dtypes: to_dtype says what to install
        return to_dtype(value)
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    raise TypeError(f"{function}(): argument 'dtype' must be torch.dtype, not {name}")


from glassgrad._bfloat16 import bfloat16  # noqa: E402, F401 - on ml_dtypes; registers itself
from glassgrad._bfloat16 import used as _bfloat16_used  # noqa: E402
