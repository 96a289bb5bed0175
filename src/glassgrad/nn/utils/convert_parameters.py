"""Flatten parameters into one vector and back."""

from __future__ import annotations

from glassgrad.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """One 1-D tensor holding every parameter, flattened and concatenated (differentiable)."""
    import glassgrad

    return glassgrad.cat([param.reshape(-1) for param in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Overwrite each parameter's data with its slice of the 1-D tensor ``vec``."""
    if not isinstance(vec, Tensor):
        from glassgrad.nn.modules.module import typename

        raise TypeError(f"expected torch.Tensor, but got: {typename(vec)}")
    pointer = 0
    for param in parameters:
        count = param.numel()
        param.data = Tensor._from_array(vec._data[pointer : pointer + count].reshape(param.shape))
        pointer += count
