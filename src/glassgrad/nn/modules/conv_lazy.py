"""Lazy convolutions: ``LazyConv1d/2d/3d`` and ``LazyConvTranspose1d/2d/3d`` take
``in_channels`` from their first input, then become the eager layer."""

from __future__ import annotations

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.nn.modules import conv as C
from glassgrad.nn.modules.lazy import LazyModuleMixin
from glassgrad.nn.parameter import UninitializedParameter

__all__ = [
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
]


class _LazyConvXdMixin(LazyModuleMixin):
    """Materialise weight and bias once ``in_channels`` is known."""

    def _placeholders(self, out_channels, bias, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        """Reset as the eager layer does, once the placeholders have shapes."""
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """``in_channels`` from ``input``; materialise weight and bias and reset them."""
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._get_in_channels(input)
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        with no_grad():
            self.weight.materialize(self._weight_shape())
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _get_in_channels(self, input) -> int:
        unbatched = self._n + 1
        if input.dim() not in (unbatched, unbatched + 1):
            raise RuntimeError(
                f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
                f"{self.__class__.__name__}, but got input of size: {input.shape}"
            )
        return input.shape[1] if input.dim() == unbatched + 1 else input.shape[0]


class _LazyConv(_LazyConvXdMixin):
    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        # bias off: a placeholder replaces it (no tensor made only to be thrown away)
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype
        )
        self._placeholders(out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvXdMixin):
    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            0,
            0,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            False,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self._placeholders(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv, C.Conv1d):
    """``Conv1d`` with ``in_channels`` inferred from the first input."""

    cls_to_become = C.Conv1d


class LazyConv2d(_LazyConv, C.Conv2d):
    """``Conv2d`` with ``in_channels`` inferred from the first input."""

    cls_to_become = C.Conv2d


class LazyConv3d(_LazyConv, C.Conv3d):
    """``Conv3d`` with ``in_channels`` inferred from the first input."""

    cls_to_become = C.Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, C.ConvTranspose1d):
    """``ConvTranspose1d`` with ``in_channels`` inferred from the first input."""

    cls_to_become = C.ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, C.ConvTranspose2d):
    """``ConvTranspose2d`` with ``in_channels`` inferred from the first input."""

    cls_to_become = C.ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, C.ConvTranspose3d):
    """``ConvTranspose3d`` with ``in_channels`` inferred from the first input."""

    cls_to_become = C.ConvTranspose3d
