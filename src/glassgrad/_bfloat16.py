"""``torch.bfloat16``: NumPy has no bfloat16, so its values live in ``ml_dtypes.bfloat16`` arrays.

ml_dtypes (an optional extra: ``pip install glassgrad[bfloat16]``) rounds every stored value to
bfloat16 as PyTorch does (round to nearest even). Without it, ``torch.bfloat16`` still exists
(scripts compare with it and pick it in ``if`` branches), and making a tensor of it raises an
ImportError that says what to install.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt

_MISSING = (
    "torch.bfloat16 needs the ml_dtypes package (NumPy has no bfloat16): "
    "pip install 'glassgrad[bfloat16]'"
)

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - the dev install has it
    ml_dtypes = None


class _Unavailable(_dt.dtype):
    """bfloat16 without ml_dtypes: a name to compare with, refused when used for data."""

    __slots__ = ()

    @property
    def np(self):
        raise ImportError(_MISSING)

    @property
    def dtype(self):  # what ``to_dtype`` asks of objects it does not know
        raise ImportError(_MISSING)


if ml_dtypes is not None:
    bfloat16 = _dt.dtype("bfloat16", ml_dtypes.bfloat16, 2, "BFloat16Tensor")
    _dt._BY_NP[bfloat16.np] = bfloat16
else:  # pragma: no cover
    bfloat16 = object.__new__(_Unavailable)
    _SLOTS = {"name": "bfloat16", "_kind": 2, "is_floating_point": True, "is_signed": True,
              "itemsize": 2, "_legacy": "BFloat16Tensor"}  # fmt: skip
    for _slot, _value in _SLOTS.items():
        object.__setattr__(bfloat16, _slot, _value)
_dt._BY_NAME["bfloat16"] = bfloat16
_dt.bfloat16 = bfloat16


NP = bfloat16.np if ml_dtypes is not None else None
_FLOAT32 = np.dtype(np.float32)
_FIRST_USE: list = []  # callables to run once, when a bfloat16 tensor is first made (amp's)


def is_bfloat16(array) -> bool:
    """Whether a NumPy array holds bfloat16 values."""
    return NP is not None and array.dtype == NP


def floating(array) -> bool:
    """Whether an array holds floating-point values: NumPy's float kinds or bfloat16 (whose
    NumPy kind is "V")."""
    return array.dtype.kind == "f" or (NP is not None and array.dtype == NP)


def differentiable(array) -> bool:
    """Whether an array's dtype can carry gradients: floating (bfloat16's NumPy kind is "V",
    so a ``kind in "fc"`` test alone would treat its tensors as integers) or complex."""
    return array.dtype.kind in "fc" or (NP is not None and array.dtype == NP)


def used() -> None:
    """A bfloat16 tensor is being made: run the first-use hooks (once)."""
    while _FIRST_USE:
        _FIRST_USE.pop()()


def refuse(array, kernel: str) -> None:
    """PyTorch's NotImplementedError where its ``kernel`` has no bfloat16 version (the special
    polynomials, zeta, cdist, avg_pool3d...): raised when ``array`` holds bfloat16 values."""
    if is_bfloat16(array):
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'BFloat16'")


def accumulating(array):
    """The dtype to compute ``array``'s sums and products in: float32 for bfloat16 (PyTorch's
    kernels accumulate there and round once; ml_dtypes' matmul returns float32 anyway), else
    the array's own."""
    return _FLOAT32 if is_bfloat16(array) else array.dtype
