"""The transposed convolutions ``conv_transpose1d``, ``conv_transpose2d``, ``conv_transpose3d``.

Each is the input-adjoint of the matching convolution, run forward through the one convolution
primitive of ``conv.py`` (so the node is ``ConvolutionBackward0``, as in PyTorch).
"""

from __future__ import annotations

from glassgrad.ops.nn.conv import checks as C
from glassgrad.ops.nn.conv.conv import _convolution
from glassgrad.ops.registry import register


def _conv_transposed(input, weight, bias, stride, padding, output_padding, groups, dilation, name):
    C.check_dims(input, weight, name)
    unbatched = input.ndim == weight.ndim - 1
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    dims = weight.ndim - 2
    stride, padding = C.expand("stride", stride, dims), C.expand("padding", padding, dims)
    output_padding = C.expand("output_padding", output_padding, dims)
    dilation = C.expand("dilation", dilation, dims)
    C.check_params(stride, padding, groups)
    C.check_transposed(input, weight, bias, groups, name)
    C.check_dilation(dilation, True)
    in_sizes, kernel = input.shape[2:], weight.shape[2:]
    out_sizes = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + extra + 1
        for size, k, s, p, d, extra in zip(
            in_sizes, kernel, stride, padding, dilation, output_padding, strict=True
        )
    )
    C.check_transposed_geometry(in_sizes, out_sizes, stride, dilation, output_padding)
    # (PyTorch's MKLDNN kernel declines an output padding as large as the stride)
    mkldnn = all(extra < s for extra, s in zip(output_padding, stride, strict=True))
    params = (stride, padding, dilation, groups)
    out = _convolution(input, weight, bias, params, out_sizes, mkldnn=mkldnn)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The adjoint of ``conv1d`` in its input: ``weight`` is (C_in, C_out/groups, k)."""
    return _conv_transposed(
        input, weight, bias, stride, padding, output_padding, groups, dilation, "conv_transpose1d"
    )


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The adjoint of ``conv2d`` in its input: ``weight`` is (C_in, C_out/groups, kh, kw)."""
    return _conv_transposed(
        input, weight, bias, stride, padding, output_padding, groups, dilation, "conv_transpose2d"
    )


def conv_transpose3d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The adjoint of ``conv3d`` in its input: ``weight`` is (C_in, C_out/groups, kd, kh, kw)."""
    return _conv_transposed(
        input, weight, bias, stride, padding, output_padding, groups, dilation, "conv_transpose3d"
    )


def _samples_1d(rng):
    x = rng.standard_normal((2, 4, 5))
    return [
        ((x, rng.standard_normal((4, 2, 3))), {"stride": 2, "padding": 1, "output_padding": 1}),
        (
            (x, rng.standard_normal((4, 1, 2)), rng.standard_normal(2)),
            {"groups": 2, "dilation": 3, "output_padding": 2},
        ),
        ((x[0], rng.standard_normal((4, 3, 2))), {}),
    ]


def _samples_2d(rng):
    x = rng.standard_normal((2, 4, 3, 3))
    return [
        ((x, rng.standard_normal((4, 2, 3, 3))), {"stride": 2, "padding": 1, "output_padding": 1}),
        (
            (x, rng.standard_normal((4, 1, 2, 2)), rng.standard_normal(2)),
            {"groups": 2, "dilation": 2},
        ),
    ]


def _samples_3d(rng):
    x = rng.standard_normal((2, 4, 3, 2, 3))
    return [
        (
            (x, rng.standard_normal((4, 2, 2, 3, 2))),
            {"stride": (2, 1, 2), "padding": (1, 0, 0), "output_padding": (1, 0, 1)},
        ),
        (
            (x, rng.standard_normal((4, 1, 2, 2, 2)), rng.standard_normal(2)),
            {"groups": 2, "dilation": (2, 1, 1)},
        ),
    ]


register("conv_transpose1d", conv_transpose1d, method=False, nin=2, samples=_samples_1d)
register("conv_transpose2d", conv_transpose2d, method=False, nin=2, samples=_samples_2d)
register("conv_transpose3d", conv_transpose3d, method=False, nin=2, samples=_samples_3d)
