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


_OOM = (
    "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
    "you tried to allocate {} bytes. Error code 12 (Cannot allocate memory)"
)


def out_of_memory(nbytes: int) -> RuntimeError:
    """PyTorch's error for an allocation the system refuses (a RuntimeError, so the usual
    ``except RuntimeError`` out-of-memory handlers catch it)."""
    return RuntimeError(_OOM.format(int(nbytes)))


def storage_overflow(shape) -> RuntimeError:
    """PyTorch's error for a shape whose byte count does not fit in 64 bits."""
    return RuntimeError(
        f"Storage size calculation overflowed with sizes=[{', '.join(map(str, shape))}]"
    )


def _translated(exc: BaseException) -> RuntimeError:
    shape, dtype = getattr(exc, "shape", None), getattr(exc, "dtype", None)
    if shape is None or dtype is None:
        return RuntimeError(_OOM.format("an unknown number of"))
    count = 1
    for size in shape:
        count *= size
    return out_of_memory(count * dtype.itemsize)


def _at_call(trace) -> bool:
    """Whether an exception came from binding the arguments: no frame but wrappers' frames."""
    trace = trace.tb_next
    while trace is not None:
        if trace.tb_frame.f_code not in WRAPPER_CODES:
            return False
        trace = trace.tb_next
    return True


def _missing_arguments(exc: TypeError) -> TypeError | None:
    """Python's "f() missing 1 required positional argument: 'dim'" in PyTorch's words."""
    import re

    found = re.fullmatch(r"(\w+)\(\) missing (\d+) required positional arguments?: (.*)", str(exc))
    if found is None:
        return None
    name, count, listed = found.groups()
    names = ", ".join(f'"{arg}"' for arg in re.findall(r"'(\w+)'", listed))
    plural = "s" if count == "1" else ""  # (sic): PyTorch's parser has it the other way round
    return TypeError(f"{name}() missing {count} required positional argument{plural}: {names}")


def allocating(fn):
    """``fn`` with NumPy's MemoryError turned into PyTorch's allocator RuntimeError.

    Every public factory and table op goes through this one wrapper; NumPy's error names the
    shape and dtype it failed to allocate, from which PyTorch's byte count follows. A ``try``
    costs nothing until something is raised.
    """
    import functools

    @functools.wraps(fn)
    def op(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MemoryError as exc:
            error = _translated(exc)
        except TypeError as exc:
            # raised by the call itself (no frame inside ``fn``): PyTorch's parser's words
            error = _missing_arguments(exc) if _at_call(exc.__traceback__) else None
            if error is None:
                raise
        raise error

    return op


_MEMORY = []


def check_fits(shape, itemsize: int) -> None:
    """Raise PyTorch's allocator error before computing a result of ``shape`` that no allocation
    could hold (more bytes than memory and swap together), where NumPy would first try."""
    count = itemsize
    for size in shape:
        count *= size
    if count > (1 << 30) and count > _memory_limit():
        raise out_of_memory(count)


def _memory_limit() -> int:
    if not _MEMORY:
        import os

        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        try:
            with open("/proc/meminfo") as info:
                for line in info:
                    if line.startswith("SwapTotal:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
        _MEMORY.append(total)
    return _MEMORY[0]


def quiet(fn):
    """``fn`` with NumPy's floating-point warnings off (PyTorch has none). For NumPy functions
    written in Python (``mean``, ``var``, ...), whose warnings name NumPy's own module and so
    pass the filter of ``silence_float_warnings``."""
    import functools

    import numpy as np

    @functools.wraps(fn)
    def silenced(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return silenced


# the code of every wrapper around the ops' functions (others add theirs: glassgrad._out_arg)
WRAPPER_CODES = {allocating(lambda: None).__code__, quiet(lambda: None).__code__}
"""The code of the ``allocating`` and ``quiet`` wrappers: frame walks that name the op skip it."""
