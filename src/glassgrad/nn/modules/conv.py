"""Convolutions: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d``."""

from __future__ import annotations

from glassgrad import creation
from glassgrad.nn import functional as F
from glassgrad.nn.modules.linear import _kaiming_reset, _optional_bias
from glassgrad.nn.modules.module import Module
from glassgrad.nn.parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


def _ntuple(value, n: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    """Shared settings, parameters and initialisation of the convolution layers."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        transposed,
        output_padding,
        groups,
        bias,
        padding_mode,
        dtype=None,
    ) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            valid = {"same", "valid"}
            if padding not in valid:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {valid}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in modes:
            raise ValueError(
                f"padding_mode must be one of {modes}, but got padding_mode='{padding_mode}'"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.transposed = dilation, transposed
        self.output_padding, self.groups, self.padding_mode = output_padding, groups, padding_mode
        shape = (
            (in_channels, out_channels // groups)
            if transposed
            else (out_channels, in_channels // groups)
        )
        self.weight = Parameter(creation.empty((*shape, *kernel_size), dtype=dtype))
        _optional_bias(self, bias, out_channels, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming uniform (a=sqrt(5)) weight and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias."""
        _kaiming_reset(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            text += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            text += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            text += ", output_padding={output_padding}"
        if self.groups != 1:
            text += ", groups={groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += ", padding_mode={padding_mode}"
        return text.format(**self.__dict__)

    def _padded(self, input):
        """Apply a non-zero ``padding_mode`` explicitly (the conv then pads with nothing)."""
        pads = []
        for pad in reversed(self.padding):
            pads += [pad, pad]
        return F.pad(input, pads, mode=self.padding_mode)


class _Conv(_ConvNd):
    _n = 2
    _fn = "conv2d"

    def __init__(
        self,
        in_channels: int,
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
        n = self._n
        padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, n),
            _ntuple(stride, n),
            padding,
            _ntuple(dilation, n),
            False,
            _ntuple(0, n),
            groups,
            bias,
            padding_mode,
            dtype,
        )

    def forward(self, input):
        padding = self.padding
        if self.padding_mode != "zeros":
            input, padding = self._padded(input), (0,) * self._n
        conv = getattr(F, self._fn)
        return conv(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over ``(N, C, L)`` inputs."""

    _n = 1
    _fn = "conv1d"


class Conv2d(_Conv):
    """2-D convolution over ``(N, C, H, W)`` inputs."""

    _n = 2
    _fn = "conv2d"


class ConvTranspose2d(_ConvNd):
    """The gradient of ``Conv2d`` with respect to its input, used as a layer (upsampling)."""

    def __init__(
        self,
        in_channels: int,
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
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, 2),
            _ntuple(stride, 2),
            _ntuple(padding, 2),
            _ntuple(dilation, 2),
            True,
            _ntuple(output_padding, 2),
            groups,
            bias,
            padding_mode,
            dtype,
        )

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        output_size = list(output_size)[-2:]
        extra = []
        for d in range(2):
            size = input.size(d - 2)
            smallest = (
                (size - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            extra.append(output_size[d] - smallest)
        return tuple(extra)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )
