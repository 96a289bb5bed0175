"""``embedding_bag``'s argument checks, in PyTorch's order and with PyTorch's messages."""

from __future__ import annotations

import numpy as np

from glassgrad._bfloat16 import floating as _floating

_MODES = {"sum": 0, "mean": 1, "max": 2}
UNCHECKED = (
    "Expected i < index_size to be true, but got false.  (Could this error message be improved?"
    "  If so, please report an enhancement request to PyTorch.)"
)


def split_bags(input_size, offsets, include_last_offset):
    """Each bag's start and size, and how many leading input positions the bags use."""
    if include_last_offset:
        if not len(offsets):
            raise RuntimeError("include_last_offset: number of offset should be at least 1")
        # the last offset ends the last bag (CSR), as PyTorch's float32 sum and mean kernel
        # has it; its other kernels (max, padding_idx, float64) run on to the input's end
        starts, end = offsets[:-1], int(offsets[-1])
    else:
        starts, end = offsets, input_size
    end = end if len(starts) else 0
    if len(offsets) and offsets[0] != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {int(offsets[0])}\n[ {_offsets_type(offsets)}{{}} ]"
        )
    if len(offsets) and offsets.min() < 0:
        raise IndexError("index out of range in self")
    if len(offsets) and offsets[-1] > input_size:
        raise RuntimeError(
            f"offsets[-1] can not be greater than input's length {input_size} but got "
            f"offsets[-1] of {int(offsets[-1])}"
        )
    sizes = np.diff(np.append(starts, end))
    if len(sizes) and sizes.min() < 0:
        raise RuntimeError(UNCHECKED)
    return starts, sizes, end


def _offsets_type(offsets):
    # PyTorch promotes indices and offsets to a common type first: Long unless both are Int
    return "torch.LongTensor" if offsets.dtype == np.int64 else "torch.IntTensor"


def check_kernel_args(weight, indices, offsets, per_sample_weights, padding_idx):
    """PyTorch's kernel checks, in its order: padding_idx, then the dtypes."""
    rows = weight.shape[0]
    if padding_idx is not None and not -rows <= padding_idx < rows:
        raise RuntimeError(
            f"padding_idx must be within the number of embeddings, -{rows} through {rows - 1}, "
            f"but got {padding_idx}"
        )
    for array in (indices, offsets):
        if array.dtype.kind not in "iub":
            raise RuntimeError(
                "Expected tensor for argument #1 'indices' to have one of the following scalar "
                f"types: Long, Int; but got {_type(array)} instead (while checking arguments "
                "for embedding_bag)"
            )
    if not _floating(weight._data):
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have one of the following scalar types: "
            f"Half, BFloat16, Float, Double; but got {weight.type()} instead (while checking "
            "arguments for embedding_bag)"
        )
    if per_sample_weights is not None and per_sample_weights.dtype != weight.dtype:
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have the same type as tensor for "
            f"argument #1 'per_sample_weights'; but type {weight.type()} does not equal "
            f"{per_sample_weights.type()} (while checking arguments for embedding_bag)"
        )
    return None if padding_idx is None else padding_idx % rows


def _type(array):
    from glassgrad.tensor import Tensor

    return Tensor._from_array(array).type()


def check_indices(used, rows, columns):
    """PyTorch's error for the first index, among those the bags use, outside the table."""
    if not len(used):
        return
    if not rows or not columns:
        raise RuntimeError(UNCHECKED)
    bad = np.flatnonzero((used < 0) | (used >= rows))
    if len(bad):
        raise RuntimeError(
            f"Index {bad[0]} of input takes value {used[bad[0]]} which is not in the valid range "
            f"[0, {rows})"
        )


def flatten(input, offsets, include_last_offset):
    """Flat indices and bag offsets for a 2-d (fixed-size bags) or 1-d (offsets) input."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{_class_name(offsets)}"
            )
        if input.shape[1] == 0:
            raise RuntimeError("step must be nonzero")
        data = input._data
        return data.reshape(-1), np.arange(0, data.size, data.shape[1]), False
    if input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        return input._data, offsets._data, include_last_offset
    raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")


def _class_name(value):
    name = str(type(value))
    return name.replace("glassgrad.tensor.Tensor", "torch.Tensor").replace("'glassgrad.", "'torch.")


def mode_number(mode, scale_grad_by_freq, sparse):
    """PyTorch's number for ``mode`` (0 sum, 1 mean, 2 max), refusing what max cannot do."""
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    return _MODES[mode]
