"""PyTorch's argument checks of ``nll_loss`` and ``cross_entropy``, in its order and words.

PyTorch checks the shapes first (``nll_loss_nd``), then the weight, the target's dtype and last
the input's dtype (the kernel's dispatch); a 3-D or 5-D input is reshaped to the 4-D
(``nll_loss2d``) case, whose messages differ from the 1-D and 2-D ones.
"""

from __future__ import annotations

import numpy as np

from glassgrad._bfloat16 import floating as _floating
from glassgrad._tensor_info import _c_type


def check_nll(input, target, weight) -> None:
    """Raise PyTorch's error for ``nll_loss(input, target, weight)`` arguments it refuses."""
    data, tdata = input._data, target._data
    if data.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {data.ndim})")
    if data.ndim != 1 and tdata.ndim and data.shape[0] != tdata.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({data.shape[0]}) to match target "
            f"batch_size ({tdata.shape[0]})."
        )
    spatial = data.ndim > 2
    if data.ndim == 4:
        if tdata.ndim != 3:
            raise RuntimeError(
                "only batches of spatial targets supported (3D tensors) but got targets of "
                f"dimension: {tdata.ndim}"
            )
    elif spatial:
        if tdata.shape[1:] != data.shape[2:]:
            expected = [data.shape[0], *data.shape[2:]]
            raise RuntimeError(f"Expected target size {expected}, got {list(tdata.shape)}")
    else:
        if tdata.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if not (data.ndim == 1 and tdata.ndim == 0) and data.shape[0] != tdata.shape[0]:
            raise ValueError(
                f"Expected input batch_size ({data.shape[0]}) to match target "
                f"batch_size ({tdata.shape[0] if tdata.ndim else 1})."
            )
    classes = data.shape[1] if data.ndim > 1 else data.shape[0]
    if weight is not None and (weight._data.ndim != 1 or weight._data.size != classes):
        if spatial:
            raise RuntimeError("weight tensor should be defined either for all or no classes")
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    if tdata.dtype not in (np.int64, np.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_c_type(target.dtype)}"
        )
    if not _floating(data):
        kernel = "nll_loss2d_forward_out_frame" if spatial else "nll_loss_out_frame"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_c_type(input.dtype)}'")
    if weight is not None and weight._data.dtype != data.dtype:
        raise RuntimeError(
            f"expected scalar type {_c_type(input.dtype)} but found {_c_type(weight.dtype)}"
        )


def check_probabilities(input, target, weight, ignore_index) -> None:
    """``cross_entropy``'s checks where ``target`` has ``input``'s shape (class probabilities)."""
    if not _floating(target._data):
        raise RuntimeError(
            "Expected floating point type for target with class probabilities, got "
            f"{_c_type(target.dtype)}"
        )
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None and (weight._data.ndim != 1 or weight._data.size != classes):
        raise RuntimeError(
            f"cross_entropy: weight tensor should be defined either for all {classes} classes "
            f"or no classes but got weight tensor of shape: {list(weight.shape)}"
        )
