"""The argument checks of the convolutions, with PyTorch's error messages word for word."""

from __future__ import annotations

import numpy as np

_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half"}


def _type_name(tensor, short=False):
    name = _TYPE_NAMES.get(tensor._data.dtype.name, tensor._data.dtype.name)
    return {"Float": "float", "Double": "double"}.get(name, name) if short else name


def check_types(x, weight, bias, transposed):
    """PyTorch's dtype errors for mismatched input, weight and bias."""
    dtype = x._data.dtype
    if weight._data.dtype != dtype:
        if dtype == np.float64:
            raise RuntimeError(f"expected scalar type Double but found {_type_name(weight)}")
        raise RuntimeError(
            f"Input type (torch.{_type_name(x)}Tensor) and weight type (torch."
            f"{_type_name(weight)}Tensor) should be the same or input should be a MKLDNN tensor "
            "and weight is a dense tensor"
        )
    if bias is not None and bias._data.dtype != dtype:
        if transposed:
            raise RuntimeError(
                f"Input type (torch.{_type_name(x)}Tensor) and bias type (torch."
                f"{_type_name(bias)}Tensor) should be the same or input should be a MKLDNN "
                "tensor and bias is a dense tensor"
            )
        raise RuntimeError(
            f"Input type ({_type_name(x, True)}) and bias type ({_type_name(bias, True)}) "
            "should be the same"
        )


def check_conv(x, weight, bias, groups, name):
    if x.ndim != weight.ndim:
        raise RuntimeError(
            f"Expected {weight.ndim}D (unbatched) or {weight.ndim + 1}D (batched) "
            f"input to {name}, but got input of size: {list(x.shape)}"
        )
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


def check_geometry(x_shape, w_shape, stride, padding, dilation, flat):
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    padded = [x_shape[2 + i] + 2 * padding[i] for i in range(2)]
    kernel = [dilation[i] * (w_shape[2 + i] - 1) + 1 for i in range(2)]
    if any(k > p for k, p in zip(kernel, padded, strict=True)):
        dims = slice(1, 2) if flat else slice(0, 2)
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded[dims]))}). "
            f"Kernel size: ({' x '.join(map(str, kernel[dims]))}). "
            "Kernel size can't be greater than actual input size"
        )
