"""The argument checks of the convolutions, with PyTorch's error messages word for word."""

from __future__ import annotations

import numpy as np

from glassgrad._tensor_info import _C_NAMES, _C_TYPES


def _type_name(tensor, short=False):
    return (_C_NAMES if short else _C_TYPES)[tensor.dtype.name]


def _uses_mkldnn(x, weight, groups):
    """Whether PyTorch's CPU convolution picks its MKLDNN kernel, whose dtype check has its own
    words (ATen's ``ConvParams::use_mkldnn``, for float32; the single-thread 1x1 case aside).
    1-d convolutions run as 2-d ones over a height of 1."""
    if x._data.dtype != np.float32:
        return False
    shape, kernel = x.shape, weight.shape
    if len(shape) == 3:
        shape, kernel = (*shape[:2], 1, shape[2]), (*kernel[:2], 1, kernel[2])
    return (
        groups > 1
        or (kernel[-1] > 3 and kernel[-2] > 3)
        or shape[0] > 1
        or shape[0] * shape[1] * shape[2] * shape[3] > 20480
    )


def check_types(x, weight, bias, transposed, groups=1, mkldnn=True, string_padding=False):
    """PyTorch's dtype errors for mismatched input, weight and bias.

    ``mkldnn``: nothing rules PyTorch's MKLDNN kernel out before its size heuristics;
    ``string_padding``: ``padding='same'``/``'valid'``, whose entry point skips the early bias
    check and treats the bias as the transposed kernels do."""
    dtype = x._data.dtype
    mkldnn = mkldnn and _uses_mkldnn(x, weight, groups)
    add_bias = transposed or string_padding  # (a bias of another width may just be added)
    if not add_bias and bias is not None and bias._data.dtype != dtype:
        # PyTorch's convolution compares the bias first
        raise RuntimeError(
            f"Input type ({_type_name(x, True)}) and bias type ({_type_name(bias, True)}) "
            "should be the same"
        )
    if weight._data.dtype != dtype:
        if not mkldnn:
            raise RuntimeError(
                f"expected scalar type {_type_name(x)} but found {_type_name(weight)}"
            )
        raise RuntimeError(
            f"Input type (torch.{_type_name(x)}Tensor) and weight type (torch."
            f"{_type_name(weight)}Tensor) should be the same or input should be a MKLDNN tensor "
            "and weight is a dense tensor"
        )
    if bias is not None and bias._data.dtype != dtype:
        if add_bias and not mkldnn:
            # PyTorch's 1-D and 2-D transposed kernels add a bias of another width; the 3-D one
            # refuses
            if transposed and weight.ndim == 5:
                raise RuntimeError(
                    f"expected scalar type {_type_name(x)} but found {_type_name(bias)}"
                )
            return
        if add_bias:
            raise RuntimeError(
                f"Input type (torch.{_type_name(x)}Tensor) and bias type (torch."
                f"{_type_name(bias)}Tensor) should be the same or input should be a MKLDNN "
                "tensor and bias is a dense tensor"
            )
        raise RuntimeError(
            f"Input type ({_type_name(x, True)}) and bias type ({_type_name(bias, True)}) "
            "should be the same"
        )


def check_dims(x, weight, name):
    """A batched input has as many dimensions as the weight, an unbatched one one fewer."""
    if x.ndim not in (weight.ndim, weight.ndim - 1):
        raise RuntimeError(
            f"Expected {weight.ndim - 1}D (unbatched) or {weight.ndim}D (batched) "
            f"input to {name}, but got input of size: {list(x.shape)}"
        )


def check_conv(x, weight, bias, groups):
    """The shape checks of a batched convolution, PyTorch's messages."""
    _check_weight_groups(weight, groups)
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{list(weight.shape)}] instead"
        )
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {weight.shape[1] * groups} channels, but got "
            f"{x.shape[1]} channels instead"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
            f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead"
        )


def check_geometry(x_shape, w_shape, padding, dilation):
    """The dilated kernel must fit in the padded input, PyTorch's message."""
    dims = len(w_shape) - 2
    padded = [x_shape[2 + i] + 2 * padding[i] for i in range(dims)]
    kernel = [dilation[i] * (w_shape[2 + i] - 1) + 1 for i in range(dims)]
    if any(k > p for k, p in zip(kernel, padded, strict=True)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, kernel))}). "
            "Kernel size can't be greater than actual input size"
        )


def expand(name, value, dims):
    """An int or a sequence as a ``dims``-tuple, with PyTorch's error for a wrong length."""
    if isinstance(value, (list, tuple)):
        values = tuple(int(v) for v in value)
        if len(values) == 1:
            return values * dims
        if len(values) != dims:
            raise RuntimeError(
                f"expected {name} to be a single integer value or a list of {dims} values to "
                f"match the convolution dimensions, but got {name}={list(values)}"
            )
        return values
    return (int(value),) * dims


def check_params(stride, padding, groups):
    """PyTorch's first checks, in its order: padding, stride, groups."""
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _check_weight_groups(weight, groups):
    if weight.shape[0] < groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {list(weight.shape)} instead"
        )


def check_transposed(x, weight, bias, groups, name):
    """The shape checks of a batched transposed convolution, PyTorch's messages."""
    _check_weight_groups(weight, groups)
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{list(weight.shape)}] instead"
        )
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {weight.shape[0]} channels, but got {x.shape[1]} "
            "channels instead"
        )
    out_channels = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
            f"1-dimensional with {out_channels} elements, but got bias of size "
            f"{list(bias.shape)} instead"
        )


_AXES = ("depth", "height", "width")


def _named(label, values):
    """PyTorch's ``label_height: v`` listing; a 1-D op reads as 2-D of height 1."""
    values = list(values)
    fill = 0 if label == "output_padding" else 1
    values = [fill] + values if len(values) == 1 else values
    return [f"{label}_{axis}: {v}" for axis, v in zip(_AXES[-len(values) :], values, strict=True)]


def check_dilation(dilation, transposed):
    """``dilation`` must be positive; transposed ops name each axis, as their kernels do."""
    if all(d > 0 for d in dilation):
        return
    if transposed:
        listing = ", ".join(_named("dilation", dilation))
        raise RuntimeError(f"dilation should be greater than zero, but got {listing}")
    shown = [1, *dilation] if len(dilation) == 1 else list(dilation)
    raise RuntimeError(f"dilation should be greater than zero, but got {shown}")


def check_transposed_geometry(in_sizes, out_sizes, stride, dilation, output_padding):
    """Output padding below stride or dilation, and an output of at least one element."""
    if any(p >= s and p >= d for p, s, d in zip(output_padding, stride, dilation, strict=True)):
        listing = _named("output_padding", output_padding)
        listing += _named("stride", stride) + _named("dilation", dilation)
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            + " ".join(listing)
        )
    if any(size < 1 for size in out_sizes):
        flat = len(in_sizes) == 1  # PyTorch runs a 1-D transposed conv as 2-D of height 1
        given = " x ".join(map(str, ([1] if flat else []) + list(in_sizes)))
        found = " x ".join(map(str, ([1] if flat else []) + list(out_sizes)))
        raise RuntimeError(
            f"Given input size per channel: ({given}). Calculated output size per channel: "
            f"({found}). Output size is too small"
        )
