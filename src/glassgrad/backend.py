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


def tune_allocator() -> bool:
    """Ask glibc's malloc to keep freed array memory instead of handing it back at once.

    By default glibc returns large freed blocks to the system (``munmap``, heap trimming) with
    thresholds that move with the process's history; an autograd step that frees its saved
    arrays and allocates them again then pays a page fault per 4 KiB on every step (measured:
    2,000 faults and half the time of a 100-op chain, 10x the time of a GAN generator step).
    Fixed thresholds keep the memory for reuse: the process holds at most 64 MiB of freed heap.
    A no-op off glibc, and when ``GLASSGRAD_TUNE_MALLOC=0`` is set. Returns whether it applied.
    """
    import ctypes
    import os
    import sys

    if os.environ.get("GLASSGRAD_TUNE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's parameter numbers (malloc.h)
    return bool(mallopt(m_mmap_threshold, 4 << 20)) and bool(mallopt(m_trim_threshold, 64 << 20))
