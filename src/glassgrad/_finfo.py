"""``finfo`` / ``iinfo`` (numeric limits of a dtype), ``result_type`` and ``can_cast``."""

from __future__ import annotations

import builtins

import numpy as np

from glassgrad import dtypes as _dt

__all__ = ["finfo", "iinfo", "result_type", "can_cast"]

# Python's own types stand for double, long and bool where PyTorch takes a dtype.
_PYTHON_TYPES = {builtins.float: _dt.float64, builtins.int: _dt.int64, builtins.bool: _dt.bool_}


def _dtype_arg(value, function: str, name: str, position: int) -> _dt.dtype:
    """A dtype argument as PyTorch's argument parser takes it (dtypes and Python types)."""
    if value.__class__ is _dt.dtype:
        return value
    if isinstance(value, type) and value in _PYTHON_TYPES:
        return _PYTHON_TYPES[value]
    raise TypeError(
        f"{function}(): argument '{name}' (position {position}) must be torch.dtype, "
        f"not {type(value).__name__}"
    )


class _Info:
    def __hash__(self):
        # PyTorch's info objects compare equal by dtype and are unhashable (its C type's name)
        raise TypeError(f"unhashable type: 'torch.{type(self).__name__}'")

    def __eq__(self, other):
        return type(other) is type(self) and other.dtype == self.dtype

    def __repr__(self) -> str:
        # C++ stream formatting (6 significant digits), as PyTorch prints these.
        fields = ", ".join(f"{name}={getattr(self, name):g}" for name in self._fields)
        return f"{type(self).__name__}({fields}, dtype={self.dtype})"

    __str__ = __repr__


class finfo(_Info):  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype (the default dtype when none is given)."""

    __module__ = "glassgrad"
    _fields = ("resolution", "min", "max", "eps", "smallest_normal", "tiny")

    def __init__(self, type=None):  # noqa: A002 - PyTorch's keyword
        found = _dt.get_default_dtype() if type is None else None
        if found is None:
            found = _dtype_arg(type, "finfo", "type", 1)
        if not found.is_floating_point:
            raise TypeError(
                "torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                "'torch.finfo'"
            )
        info = np.finfo(found.np)
        self.bits = found.itemsize * 8
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0**-info.precision  # np.finfo rounds it to the dtype
        self.dtype = found.name


class iinfo(_Info):  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype."""

    __module__ = "glassgrad"
    _fields = ("min", "max")

    def __init__(self, type):  # noqa: A002 - PyTorch's keyword
        found = _dtype_arg(type, "iinfo", "type", 1)
        if found is _dt.bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if found.is_floating_point:
            raise TypeError(
                "torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                "'torch.iinfo'"
            )
        info = np.iinfo(found.np)
        self.bits = found.itemsize * 8
        self.min, self.max = builtins.int(info.min), builtins.int(info.max)
        self.dtype = found.name


_NUMBERS = (builtins.bool, builtins.int, builtins.float, np.bool_, np.integer, np.floating)
_SIGNATURES = (
    ("Tensor tensor, Tensor other", (True, True)),
    ("Number scalar, Tensor tensor", (False, True)),
    ("Tensor tensor, Number other", (True, False)),
    ("Number scalar1, Number scalar2", (False, False)),
)


def _invalid_arguments(a, b) -> TypeError:
    """PyTorch's overload-mismatch message. PyTorch marks each argument that does not fit a
    signature, and marks Python numbers in every signature, Number slots included."""
    from glassgrad._tensor_info import _type_name
    from glassgrad.tensor import Tensor

    args = (a, b)
    names = ["Tensor" if isinstance(x, Tensor) else _type_name(x) for x in args]
    lines = [
        "result_type() received an invalid combination of arguments - got "
        f"({', '.join(names)}), but expected one of:"
    ]
    for signature, wants_tensor in _SIGNATURES:
        marked = [
            name if tensor and isinstance(value, Tensor) else f"!{name}!"
            for value, name, tensor in zip(args, names, wants_tensor, strict=True)
        ]
        lines.append(f" * ({signature})")
        lines.append(
            "      didn't match because some of the arguments have invalid types: "
            f"({', '.join(marked)})"
        )
    return TypeError("\n".join(lines) + "\n")


def result_type(tensor, other):
    """The dtype an arithmetic op on ``tensor`` and ``other`` (tensors or numbers) gives."""
    from glassgrad.tensor import Tensor

    a_tensor, b_tensor = isinstance(tensor, Tensor), isinstance(other, Tensor)
    if not (a_tensor or isinstance(tensor, _NUMBERS)) or not (
        b_tensor or isinstance(other, _NUMBERS)
    ):
        raise _invalid_arguments(tensor, other)
    if a_tensor and b_tensor:
        return _dt.result_type(tensor.dtype, tensor.ndim, other.dtype, other.ndim)
    if a_tensor or b_tensor:
        held, number = (tensor, other) if a_tensor else (other, tensor)
        return _dt.result_type_scalar(held.dtype, number)
    # Two numbers: only their categories count, floats in the default dtype.
    category = max(_dt.scalar_category(tensor), _dt.scalar_category(other))
    return (_dt.bool_, _dt.int64, _dt.get_default_dtype())[category]


def can_cast(from_, to) -> bool:
    """True if PyTorch's casting rules allow ``from_`` into ``to`` (never down a category)."""
    source = _dtype_arg(from_, "can_cast", "from_", 1)
    target = _dtype_arg(to, "can_cast", "to", 2)
    return source._kind <= target._kind
