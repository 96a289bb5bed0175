"""Padding layers: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``, ``ReplicationPad`` and
``CircularPad`` in one, two and three dimensions, each a thin wrapper over ``F.pad``."""

from __future__ import annotations

from glassgrad.nn import functional as F
from glassgrad.nn.modules.module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


def _widths(padding, n: int) -> tuple:
    """PyTorch's ``_ntuple``: an iterable as a tuple, anything else repeated ``n`` times."""
    if isinstance(padding, (tuple, list)):
        return tuple(padding)
    return (padding,) * n


class _ConstantPadNd(Module):
    """Pad with a constant ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _widths(padding, 2)


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with ``value``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _widths(padding, 4)


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with ``value``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _widths(padding, 6)


class ZeroPad1d(ConstantPad1d):
    """Pad the last dimension with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dimensions with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dimensions with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePadNd(Module):
    """Pad by mirroring, repeating or wrapping the input (``mode`` set by each subclass)."""

    mode = "reflect"
    n = 2

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _widths(padding, self.n)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_ModePadNd):
    """Circular padding checks the input's rank itself, as PyTorch's modules do."""

    mode = "circular"

    def forward(self, input):
        low = self.n // 2 + 1
        if input.dim() not in (low, low + 1):
            raise ValueError(f"expected {low}D or {low + 1}D input (got {input.dim()}D input)")
        return F.pad(input, self.padding, self.mode)


class ReflectionPad1d(_ModePadNd):
    """Pad the last dimension with its reflection (the edge value is not repeated)."""

    mode, n = "reflect", 2


class ReflectionPad2d(_ModePadNd):
    """Pad the last two dimensions with their reflection."""

    mode, n = "reflect", 4


class ReflectionPad3d(_ModePadNd):
    """Pad the last three dimensions with their reflection."""

    mode, n = "reflect", 6


class ReplicationPad1d(_ModePadNd):
    """Pad the last dimension by repeating its edge values."""

    mode, n = "replicate", 2


class ReplicationPad2d(_ModePadNd):
    """Pad the last two dimensions by repeating their edge values."""

    mode, n = "replicate", 4


class ReplicationPad3d(_ModePadNd):
    """Pad the last three dimensions by repeating their edge values."""

    mode, n = "replicate", 6


class CircularPad1d(_CircularPadNd):
    """Pad the last dimension by wrapping around."""

    n = 2


class CircularPad2d(_CircularPadNd):
    """Pad the last two dimensions by wrapping around."""

    n = 4


class CircularPad3d(_CircularPadNd):
    """Pad the last three dimensions by wrapping around."""

    n = 6
