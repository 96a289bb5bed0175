"""``torch.mps`` as PyTorch's CPU build has it: no Metal device, and the same answers and errors."""

from __future__ import annotations

__all__ = [
    "is_available", "device_count", "manual_seed", "seed", "synchronize", "empty_cache",
    "current_allocated_memory", "driver_allocated_memory",
]  # fmt: skip


def is_available() -> bool:
    """False: no Metal device."""
    return False


def device_count() -> int:
    """0 Metal devices."""
    return 0


def manual_seed(seed) -> None:
    """Seed the Metal generator: there is none, so nothing happens (as on the CPU build)."""
    int(seed)


def seed() -> None:
    """Seed the Metal generator from entropy: nothing to seed."""


def _without(call: str):
    def function(*args, **kwargs):
        raise RuntimeError(f"Cannot execute {call}() without MPS backend.")

    function.__doc__ = "PyTorch's CPU build has no MPS backend: its error."
    return function


synchronize = _without("deviceSynchronize")
empty_cache = _without("emptyCache")
current_allocated_memory = _without("getCurrentAllocatedMemory")
driver_allocated_memory = _without("getDriverAllocatedMemory")
