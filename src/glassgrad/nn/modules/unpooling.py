"""Max unpooling layers: ``MaxUnpool1d``, ``MaxUnpool2d``, ``MaxUnpool3d`` (the partial
inverses of the max pools, given their indices)."""

from __future__ import annotations

from glassgrad.nn import functional as F
from glassgrad.nn.modules.module import Module

__all__ = ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]


def _ntuple(value, n: int) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


class _MaxUnpoolNd(Module):
    """Settings the unpooling layers share; they are stored as tuples, as PyTorch stores them."""

    _n = 2
    _function = "max_unpool2d"

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, self._n)
        self.stride = _ntuple(stride if stride is not None else kernel_size, self._n)
        self.padding = _ntuple(padding, self._n)

    def forward(self, input, indices, output_size=None):
        return getattr(F, self._function)(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Each value of an (N, C, L) input at its max-pool index, zeros elsewhere."""

    _n = 1
    _function = "max_unpool1d"


class MaxUnpool2d(_MaxUnpoolNd):
    """Each value of an (N, C, H, W) input at its max-pool index, zeros elsewhere."""

    _n = 2
    _function = "max_unpool2d"


class MaxUnpool3d(_MaxUnpoolNd):
    """Each value of an (N, C, D, H, W) input at its max-pool index, zeros elsewhere."""

    _n = 3
    _function = "max_unpool3d"
