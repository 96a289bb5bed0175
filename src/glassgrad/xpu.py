"""``torch.xpu`` as PyTorch's CPU build has it: no Intel GPU, and the same answers and errors."""

from __future__ import annotations

__all__ = ["is_available", "is_initialized", "device_count", "manual_seed", "manual_seed_all",
           "synchronize", "current_device"]  # fmt: skip


def is_available() -> bool:
    """False: no XPU."""
    return False


def is_initialized() -> bool:
    """False."""
    return False


def device_count() -> int:
    """0 XPU devices."""
    return 0


def manual_seed(seed) -> None:
    """Seed the XPU generator: there is none, so nothing happens (as on the CPU build)."""
    int(seed)


manual_seed_all = manual_seed


def _not_compiled(*args, **kwargs):
    raise AssertionError("Torch not compiled with XPU enabled")


synchronize = current_device = get_device_name = _not_compiled
