"""In-place array updates for optimizer steps: each writes its result into the tensor's own
array with one temporary at most (instead of building the new value and copying it over), in
the order of operations of the ATen kernel it stands for, so the roundings are PyTorch's.
Each counts as one in-place op on the tensor's version counter."""

from __future__ import annotations

import numpy as np


def temporary(value) -> np.ndarray:
    """A ufunc result as an array that can take ``out=`` (0-d results come back as scalars)."""
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def _bump(tensor) -> None:
    if tensor._vc is not None:
        tensor._vc[0] += 1


def add_scaled_(tensor, alpha, other) -> None:
    """``tensor.add_(other, alpha=alpha)``: ``tensor + alpha * other``."""
    scaled = temporary(np.multiply(other, alpha))
    np.add(tensor._data, scaled, out=tensor._data, casting="unsafe")
    _bump(tensor)


def addcdiv_(tensor, value, numerator, denominator) -> None:
    """``tensor.addcdiv_(numerator, denominator, value=value)``: ``tensor + value * n / d``."""
    update = temporary(np.multiply(value, numerator))
    np.divide(update, denominator, out=update)
    np.add(tensor._data, update, out=tensor._data, casting="unsafe")
    _bump(tensor)


def decay_addcmul_(tensor, decay, value, factor) -> None:
    """``tensor.mul_(decay).addcmul_(factor, factor, value=value)``."""
    np.multiply(tensor._data, decay, out=tensor._data, casting="unsafe")
    square = temporary(np.multiply(value, factor))
    np.multiply(square, factor, out=square)
    np.add(tensor._data, square, out=tensor._data, casting="unsafe")
    _bump(tensor)


def lerp_(tensor, end, weight) -> None:
    """``tensor.lerp_(end, weight)`` with ATen's two-branch formula (exact at both ends)."""
    data = tensor._data
    gap = temporary(np.subtract(end, data))
    if abs(weight) < 0.5:
        np.multiply(gap, weight, out=gap)
        np.add(data, gap, out=data, casting="unsafe")
    else:
        np.multiply(gap, 1.0 - weight, out=gap)
        np.subtract(end, gap, out=data, casting="unsafe")
    _bump(tensor)


def scale_(tensor, factor) -> None:
    """``tensor.mul_(factor)``."""
    np.multiply(tensor._data, factor, out=tensor._data, casting="unsafe")
    _bump(tensor)
