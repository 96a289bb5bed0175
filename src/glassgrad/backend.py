"""The one place that knows the array library (NumPy today).

Op bodies take their array module from their inputs via ``array_module`` so that another array
library with NumPy's API (CuPy) can slot in later without touching the rules.
"""

from __future__ import annotations

import numpy as np

__all__ = ["np", "ndarray", "array_module", "as_array"]

ndarray = np.ndarray


def array_module(*arrays):
    """Return the array namespace of ``arrays`` (NumPy unless a GPU library is plugged in)."""
    return np


def as_array(value, dtype=None) -> np.ndarray:
    """``value`` as an ndarray (0-d results of NumPy ops come back as scalars: wrap them)."""
    if value.__class__ is ndarray and (dtype is None or value.dtype == dtype):
        return value
    return np.asarray(value, dtype=dtype)
