"""How glassgrad sits on its array library, NumPy.

The op files call NumPy directly today: a second array library with NumPy's API (CuPy) would
need the op bodies to take their array module from their inputs, which is not done yet. What
lives here is process-level set-up for NumPy's arrays.
"""

from __future__ import annotations

__all__ = ["tune_allocator", "silence_float_warnings"]


def silence_float_warnings() -> None:
    """Hide NumPy's floating-point RuntimeWarnings ("overflow encountered in multiply", "divide
    by zero", "invalid value") raised inside glassgrad's own code, as PyTorch has none: inf and
    nan are results there, not events. The user's NumPy error state is left alone, and so are
    the warnings of their own NumPy calls: the filter matches glassgrad's modules only, and costs
    nothing until a warning is raised. (Hot ops skip ``np.errstate``, which costs a microsecond.)
    """
    import warnings

    warnings.filterwarnings(
        "ignore",
        message=r"(overflow|divide by zero|invalid value|underflow) encountered",
        category=RuntimeWarning,
        module=r"glassgrad\.",
    )


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
