"""``expand``, ``expand_as``, ``broadcast_to``: views that repeat a tensor's size-1 dimensions
without copying (a stride of 0), writable as PyTorch's are (split from view.py)."""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.forward_rules import expanded
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops.registry import register
from glassgrad.ops.shape.view import _samples, _shape_arg, as_view

# (the engine sums the gradient back to the input's shape)
ExpandBackward0 = node_class("ExpandBackward0", lambda ctx, grad: (grad,), jvp=expanded)


def expand(input, *sizes):
    """Broadcast ``input`` to a larger shape without copying (``-1`` keeps a size)."""
    data = input._data
    sizes = _shape_arg(sizes)
    if len(sizes) < data.ndim:
        raise RuntimeError(
            f"expand(torch.{input.dtype._legacy}{{{list(data.shape)}}}, size={list(sizes)}): the "
            "number of sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({data.ndim})"
        )
    lead = len(sizes) - data.ndim
    target = list(sizes)
    for i in range(len(sizes) - 1, -1, -1):  # PyTorch checks from the last dimension
        size = data.shape[i - lead] if i >= lead else 1
        if sizes[i] == -1:
            if i < lead:
                raise RuntimeError(
                    "The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            target[i] = size
        elif size != sizes[i] and size != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({sizes[i]}) must match the existing "
                f"size ({size}) at non-singleton dimension {i}.  Target sizes: "
                f"{list(sizes)}.  Tensor sizes: {list(data.shape)}"
            )
    target = tuple(target)
    if any(size < 0 for size in target):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(target)}: {list(target)}"
        )
    out = np.broadcast_to(data, target)
    if data.flags.writeable and data.__class__ is np.ndarray:  # (not a vmap batch)
        # Writable, as PyTorch's expand is: writes through a view of it that has no two
        # elements on one memory location (``b[0] = v``) reach every row; the others are
        # refused by ``check_inplace`` (NumPy's broadcast_to is read-only).
        out = np.lib.stride_tricks.as_strided(data, out.shape, out.strides, writeable=True)
    return as_view(result(out, ExpandBackward0, (input,)), input)


def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, other.shape)


def broadcast_to(input, size):
    """``input.expand(size)``."""
    return expand(input, size)


register(
    "expand",
    expand,
    function=False,
    reference=np.broadcast_to,
    samples=_samples((1, ((3, 1), (2, 3, 4)), {})),
)
register(
    "expand_as",
    expand_as,
    function=False,
    nin=2,
    reference=lambda x, y: np.broadcast_to(x, y.shape),
    samples=_samples((1, ((3, 1), np.zeros((2, 3, 4))), {})),
)
register(
    "broadcast_to",
    broadcast_to,
    reference=np.broadcast_to,
    samples=_samples((1, ((3, 1), (2, 3, 4)), {})),
)


# PyTorch's ``*_copy`` ops record their own node, named after the view's with ``_copy``
ExpandBackward0_copy = node_class("ExpandBackward0_copy", lambda ctx, grad: (grad,), jvp=expanded)


def expand_copy(input, size):
    """``input.expand(size)`` as a new, contiguous tensor."""
    view = expand(input.detach(), size)
    return result(view._data.copy(), ExpandBackward0_copy, (input,))


register(
    "expand_copy",
    expand_copy,
    method=False,
    reference=lambda x, size: np.broadcast_to(x, size).copy(),
    samples=_samples((1, ((3, 1), (2, 3, 4)), {})),
    # (PyTorch records a node for inputs that require grad, and refuses an out that does)
    out={
        "dtype": "expected",
        "grad_name": None,
        "out_grad_name": "aten::expand_copy(): functions with out=... arguments don't support "
        "automatic differentiation, but one of the arguments requires grad.",
    },
)
