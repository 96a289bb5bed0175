"""PyTorch's error texts that more than one layer raises (the graph core, the ops, autograd's
``Function``), kept in one place so that they cannot drift apart."""

from __future__ import annotations

__all__ = ["INFERENCE_INPLACE", "INFERENCE_SAVE", "broadcast_error"]

INFERENCE_SAVE = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a clone "
    "to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`."
)
INFERENCE_INPLACE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone "
    "to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)


def broadcast_error(a_shape, b_shape) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast."""
    a_shape, b_shape = tuple(a_shape), tuple(b_shape)
    ndim = max(len(a_shape), len(b_shape))
    a_full = (1,) * (ndim - len(a_shape)) + a_shape
    b_full = (1,) * (ndim - len(b_shape)) + b_shape
    for dim in range(ndim - 1, -1, -1):
        x, y = a_full[dim], b_full[dim]
        if x != y and x != 1 and y != 1:
            return RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {dim}"
            )
    return RuntimeError(f"shapes {list(a_shape)} and {list(b_shape)} cannot be broadcast")
