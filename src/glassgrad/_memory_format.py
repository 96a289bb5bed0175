"""``torch.memory_format``: row-major (``contiguous_format``) and channels-last layouts.

A tensor's data is a NumPy array, whose strides can be anything, so the layouts are real: a
``channels_last`` tensor has PyTorch's strides (``(60, 1, 15, 3)`` for shape ``(2, 3, 4, 5)``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["memory_format", "contiguous_format", "channels_last", "channels_last_3d"]


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory layout: ``torch.contiguous_format``, ``channels_last``, ...."""

    __module__ = "glassgrad"

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickles as the module-level singleton


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
_RANK = {channels_last: 4, channels_last_3d: 5}


def check(value, op: str):
    """``value`` if it is a memory format (or None), else PyTorch's TypeError."""
    if value is None or isinstance(value, memory_format):
        return value
    raise TypeError(
        f"{op}(): argument 'memory_format' must be torch.memory_format, not {type(value).__name__}"
    )


def _order(fmt, ndim: int) -> tuple:
    """The axes from outermost to innermost in memory for a channels-last format."""
    if ndim != _RANK[fmt]:
        raise RuntimeError(f"required rank {_RANK[fmt]} tensor to use {fmt._name} format")
    return (0, *range(2, ndim), 1)


def is_in(array: np.ndarray, fmt) -> bool:
    """``tensor.is_contiguous(memory_format=fmt)``: size-1 dimensions' strides do not count."""
    if fmt in (None, contiguous_format, preserve_format):
        return bool(array.flags.c_contiguous)
    if array.ndim != _RANK[fmt]:
        return False
    expected = array.itemsize
    for axis in reversed(_order(fmt, array.ndim)):
        if array.shape[axis] != 1:
            if array.strides[axis] != expected:
                return False
            expected *= array.shape[axis]
    return True


def arrange(array: np.ndarray, fmt, *, copy: bool) -> np.ndarray:
    """``array``'s values laid out in ``fmt`` (a copy when ``copy`` or when the layout differs)."""
    if fmt is preserve_format or fmt is None:
        return array.copy(order="K") if copy else array
    if fmt is contiguous_format:
        return array.copy() if copy or not array.flags.c_contiguous else array
    order = _order(fmt, array.ndim)
    strides = [0] * array.ndim
    step = array.itemsize
    for axis in reversed(order):  # PyTorch's strides, size-1 dimensions included
        strides[axis] = step
        step *= array.shape[axis]
    if not copy and list(array.strides) == strides:
        return array
    packed = np.ascontiguousarray(array.transpose(order))
    return np.lib.stride_tricks.as_strided(packed, array.shape, strides)
