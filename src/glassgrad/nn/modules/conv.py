"""Convolutions: ``Conv1d``, ``Conv2d``, ``Conv3d`` and ``ConvTranspose1d/2d/3d``."""

from __future__ import annotations

from glassgrad import creation
from glassgrad.nn import functional as F
from glassgrad.nn.modules.linear import _kaiming_reset, _optional_bias
from glassgrad.nn.modules.module import Module
from glassgrad.nn.parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


def _ntuple(value, n: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


def _check_settings(in_channels, out_channels, stride, padding, groups, padding_mode):
    """PyTorch's constructor checks, in its order."""
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


def _reversed_padding(padding, kernel_size, dilation) -> list:
    """The padding in ``F.pad``'s order (last dim first, each side), 'same' split as PyTorch."""
    if not isinstance(padding, str):
        return [p for p in reversed(padding) for _ in range(2)]
    pads = [0, 0] * len(kernel_size)
    if padding == "same":
        for i, (d, k) in enumerate(zip(reversed(dilation), reversed(kernel_size), strict=True)):
            total = d * (k - 1)
            pads[2 * i], pads[2 * i + 1] = total // 2, total - total // 2
    return pads


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
        _check_settings(in_channels, out_channels, stride, padding, groups, padding_mode)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.transposed = dilation, transposed
        self.output_padding, self.groups, self.padding_mode = output_padding, groups, padding_mode
        self._reversed_padding_repeated_twice = _reversed_padding(padding, kernel_size, dilation)
        self.weight = Parameter(creation.empty(self._weight_shape(), dtype=dtype))
        _optional_bias(self, bias, out_channels, dtype)
        self.reset_parameters()

    def _weight_shape(self) -> tuple:
        groups = self.groups
        if self.transposed:
            return (self.in_channels, self.out_channels // groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // groups, *self.kernel_size)

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

    def _conv_forward(self, input, weight, bias):
        conv = getattr(F, self._fn)
        padding = self.padding
        if self.padding_mode != "zeros":
            # a non-zero mode pads explicitly, then the convolution pads with nothing
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = (0,) * self._n
        return conv(input, weight, bias, self.stride, padding, self.dilation, self.groups)

    def forward(self, input):
        """The convolution of ``input`` with this layer's weight and bias."""
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over ``(N, C, L)`` inputs."""

    _n = 1
    _fn = "conv1d"


class Conv2d(_Conv):
    """2-D convolution over ``(N, C, H, W)`` inputs."""

    _n = 2
    _fn = "conv2d"


class Conv3d(_Conv):
    """3-D convolution over ``(N, C, D, H, W)`` inputs."""

    _n = 3
    _fn = "conv3d"


class _ConvTransposeNd(_ConvNd):
    _n = 2
    _fn = "conv_transpose2d"

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
        n = self._n
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, n),
            _ntuple(stride, n),
            _ntuple(padding, n),
            _ntuple(dilation, n),
            True,
            _ntuple(output_padding, n),
            groups,
            bias,
            padding_mode,
            dtype,
        )

    def _output_padding(self, input, output_size, stride, padding, kernel_size, dims, dilation):
        """The output padding that gives ``output_size``, with PyTorch's range check."""
        if output_size is None:
            return self.output_padding
        lead = 2 if input.dim() == dims + 2 else 1
        if len(output_size) == lead + dims:
            output_size = output_size[lead:]
        if len(output_size) != dims:
            raise ValueError(
                f"ConvTranspose{dims}D: for {input.dim()}D input, output_size must have {dims} "
                f"or {lead + dims} elements (got {len(output_size)})"
            )
        smallest = [
            (input.size(d + lead) - 1) * stride[d]
            - 2 * padding[d]
            + dilation[d] * (kernel_size[d] - 1)
            + 1
            for d in range(dims)
        ]
        largest = [smallest[d] + stride[d] - 1 for d in range(dims)]
        for size, low, high in zip(output_size, smallest, largest, strict=True):
            if size < low or size > high:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range "
                    f"from {smallest} to {largest} (for an input of {input.size()[2:]})"
                )
        return [output_size[d] - smallest[d] for d in range(dims)]

    def forward(self, input, output_size=None):
        """The transposed convolution of ``input``; ``output_size`` picks among valid sizes."""
        if self.padding_mode != "zeros":
            raise ValueError(f"Only `zeros` padding mode is supported for {type(self).__name__}")
        output_padding = self._output_padding(
            input, output_size, self.stride, self.padding, self.kernel_size, self._n, self.dilation
        )
        return getattr(F, self._fn)(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """The gradient of ``Conv1d`` with respect to its input, used as a layer (upsampling)."""

    _n = 1
    _fn = "conv_transpose1d"


class ConvTranspose2d(_ConvTransposeNd):
    """The gradient of ``Conv2d`` with respect to its input, used as a layer (upsampling)."""

    _n = 2
    _fn = "conv_transpose2d"


class ConvTranspose3d(_ConvTransposeNd):
    """The gradient of ``Conv3d`` with respect to its input, used as a layer (upsampling)."""

    _n = 3
    _fn = "conv_transpose3d"
