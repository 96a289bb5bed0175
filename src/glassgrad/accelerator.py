"""``torch.accelerator``: the current accelerator, none in PyTorch's CPU build (nor here).

``is_available()`` is False, ``current_accelerator()`` None, ``device_count()`` 0; everything that
would reach a device raises PyTorch's error.
"""

from __future__ import annotations

import warnings

from glassgrad._device import _NO_ACCELERATOR

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "current_stream",
    "device_count",
    "device_index",
    "empty_cache",
    "empty_host_cache",
    "get_device_capability",
    "get_memory_info",
    "is_available",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "reset_accumulated_memory_stats",
    "reset_peak_memory_stats",
    "set_device_idx",
    "set_device_index",
    "set_stream",
    "synchronize",
]


def is_available() -> bool:
    """False: no accelerator."""
    return False


def current_accelerator(check_available: bool = False):
    """The accelerator's device type, None here."""
    return None


def device_count() -> int:
    """0: no accelerator devices."""
    return 0


def _no_accelerator(name: str, doc: str):
    def call(device=None, /):
        raise RuntimeError(_NO_ACCELERATOR)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = doc + " PyTorch's CPU build has none: its error."
    return call


current_stream = _no_accelerator("current_stream", "The accelerator's current stream.")
synchronize = _no_accelerator("synchronize", "Wait for the accelerator's work to finish.")
memory_allocated = _no_accelerator("memory_allocated", "Bytes allocated on the accelerator.")
max_memory_allocated = _no_accelerator("max_memory_allocated", "Peak bytes allocated.")
memory_reserved = _no_accelerator("memory_reserved", "Bytes the caching allocator holds.")
max_memory_reserved = _no_accelerator("max_memory_reserved", "Peak bytes held.")
memory_stats = _no_accelerator("memory_stats", "The allocator's statistics.")
reset_peak_memory_stats = _no_accelerator("reset_peak_memory_stats", "Reset peak statistics.")
reset_accumulated_memory_stats = _no_accelerator(
    "reset_accumulated_memory_stats", "Reset accumulated statistics."
)
get_memory_info = _no_accelerator("get_memory_info", "Free and total accelerator memory.")
get_device_capability = _no_accelerator("get_device_capability", "The device's capabilities.")


def current_device_index() -> int:
    """The current accelerator device's index. PyTorch's CPU build has none: its error."""
    raise RuntimeError(_NO_ACCELERATOR)


def set_device_index(device, /) -> None:
    """Make ``device`` the current accelerator device. PyTorch's CPU build has none: its
    error."""
    raise RuntimeError(_NO_ACCELERATOR)


def current_device_idx() -> int:
    """The old name of ``current_device_index``."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device, /) -> None:
    """The old name of ``set_device_index``."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


def set_stream(stream) -> None:
    """Make ``stream`` current. PyTorch's CPU build has no accelerator streams: its error."""
    raise RuntimeError(_NO_ACCELERATOR)


def empty_cache() -> None:
    """Release cached accelerator memory. PyTorch's CPU build has none: its error."""
    raise RuntimeError(_NO_ACCELERATOR)


def empty_host_cache() -> None:
    """Release cached pinned host memory. PyTorch's CPU build has none: its error."""
    raise RuntimeError(_NO_ACCELERATOR)


class device_index:
    """Context manager making a device index current (None: does nothing, as in PyTorch)."""

    def __init__(self, device, /) -> None:
        self.idx = device

    def __enter__(self):
        if self.idx is not None:
            raise RuntimeError(_NO_ACCELERATOR)
        return self

    def __exit__(self, *exc) -> None:
        return None
