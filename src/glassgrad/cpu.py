"""``torch.cpu``: the device glassgrad computes on, answering as PyTorch's does."""

from __future__ import annotations

import warnings

from glassgrad.amp import autocast_mode as _autocast_mode

__all__ = ["is_available", "is_initialized", "device_count", "current_device", "set_device",
           "synchronize", "amp"]  # fmt: skip


def is_available() -> bool:
    """True: there is always a CPU."""
    return True


def is_initialized() -> bool:
    """True."""
    return True


def device_count() -> int:
    """1: the CPU counts as one device."""
    return 1


def current_device() -> str:
    """'cpu'."""
    return "cpu"


def set_device(device) -> None:
    """Nothing to select: one CPU."""


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU ops finish before they return."""


class _Amp:
    """``torch.cpu.amp``: PyTorch's deprecated CPU autocast name."""

    class autocast(_autocast_mode.autocast):  # noqa: N801 - PyTorch's name
        """Deprecated for ``torch.amp.autocast('cpu', ...)``."""

        def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
            warnings.warn(
                "`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
                "`torch.amp.autocast('cpu', args...)` instead.",
                FutureWarning,
                stacklevel=2,
            )
            from glassgrad import dtypes

            super().__init__(
                "cpu", dtype=dtype or dtypes.bfloat16, enabled=enabled, cache_enabled=cache_enabled
            )


amp = _Amp()
