"""``torch.autograd.forward_ad``: dual tensors and forward-mode AD, as PyTorch has it.

Inside ``with dual_level():``, ``make_dual(x, t)`` gives a tensor aliasing ``x`` that carries the
tangent ``t``; every op on it computes its result's tangent with the op's JVP rule (see
``forward_rules``), and ``unpack_dual(y)`` reads it back. Exiting the level drops its tangents.
As in PyTorch, only one level can be active (``torch.func.jvp`` nests its own).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from glassgrad.autograd import forward_state as _fs
from glassgrad.autograd.grad_mode import _DecoratorContextManager

__all__ = [
    "UnpackedDualTensor",
    "_is_fwd_grad_enabled",
    "_set_fwd_grad_enabled",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
    "dual_level",
]

_current_level = -1


def enter_dual_level():
    """Enter a new forward grad level and make it the current one; returns its index."""
    global _current_level
    if _fs.LEVELS:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    new_level = _enter()
    if new_level != _current_level + 1:
        raise RuntimeError(
            "Entering a new forward AD level but the current level "
            "is not valid. Make sure you did not modify it directly."
        )
    _current_level = new_level
    return new_level


def exit_dual_level(*, level=None):
    """Exit the last entered forward grad level, deleting the tangents made at it."""
    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError(
            "Trying to exit a forward AD level that was not the last one "
            "that was created. This is not supported."
        )
    _exit(level)
    _current_level = level - 1


def _enter() -> int:
    """Open a level (any depth: ``torch.func`` nests them); returns its index."""
    token = _fs.Level(len(_fs.LEVELS))
    _fs.LEVELS.append(token)
    _fs.reset()
    return token.index


def _exit(level: int) -> None:
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if level != len(_fs.LEVELS) - 1:
        raise RuntimeError(
            "Exiting a forward AD level that is not the last that was created is not support. "
            "Ensure they are released in the reverse order they were created."
        )
    _fs.LEVELS.pop()
    _fs.reset()


def _token(level: int, what: str):
    if level < 0 or level >= len(_fs.LEVELS):
        raise RuntimeError(f"Invalid level given to {what}")
    return _fs.LEVELS[level]


def make_dual(tensor, tangent, *, level=None):
    """A new tensor aliasing ``tensor`` that carries ``tangent`` as its forward gradient at
    ``level`` (the current one by default); differentiable in both for backward.

    Raises:
        RuntimeError: outside a level, for a tangent of another size, or for a ``tensor`` that
            already has a tangent at this level.
        ValueError: for a primal or tangent that is not floating point or complex.
    """
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level "
            "exists, make sure to enter_dual_level() first."
        )
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(
            f"Expected primal to be floating point or complex, but got: {tensor.dtype}"
        )
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(
            f"Expected tangent to be floating point or complex, but got: {tangent.dtype}"
        )
    return _make_dual(tensor, tangent, level)


def _make_dual(tensor, tangent, level):
    token = _token(level, "_make_dual")
    if _fs.get(tensor, token) is not None:
        raise RuntimeError(
            "Making a dual Tensor based on a Tensor that already has a forward gradient at the "
            f"same level {level} is not supported."
        )
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            "original Tensor, this is not supported. Tensor is of size "
            f"{list(tensor.shape)} while the given forward gradient is of size "
            f"{list(tangent.shape)}."
        )
    dual = _alias(tensor, "ViewBackward0", level)
    _fs.put(dual, token, tangent)  # (kept with forward grad off too: read once it is back on)
    return dual


def _alias(tensor, name, level):
    """A view of all of ``tensor`` carrying its tangents of the levels outside ``level`` only
    (PyTorch's ``_make_dual`` returns a ``ViewBackward0`` view, ``_unpack_dual`` an alias),
    differentiable for backward."""
    saved = _fs.ACTIVE[0]
    _fs.ACTIVE[0] = min(saved, level)  # the alias inherits the outer levels' tangents only
    try:
        if name == "ViewBackward0" and tensor.is_contiguous():
            out = tensor.view(tuple(tensor.shape))
        else:
            out = tensor[...]
    finally:
        _fs.ACTIVE[0] = saved
    extra = out._x()
    if extra.fw is None:
        extra.fw = {}
    for token in _fs.LEVELS[level:]:
        extra.fw[token] = _fs.NONE  # (not even the base's tangent, seen through the view)
    return out


class UnpackedDualTensor(NamedTuple):
    """Namedtuple returned by :func:`unpack_dual`: the primal and tangent of a dual tensor."""

    primal: Any
    tangent: Any


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor`` at ``level``: the primal a view of ``tensor`` without
    the tangent, the tangent as stored (None where there is none)."""
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    from glassgrad.tensor import Tensor, _type_name

    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"_unpack_dual(): argument 'dual' (position 1) must be Tensor, not {_type_name(tensor)}"
        )
    token = _token(level, "_unpack_dual")
    tangent = _fs.get(tensor, token) if _fs.ENABLED[0] else None
    return UnpackedDualTensor(_alias(tensor, "AliasBackward0", level), tangent)


class dual_level(_DecoratorContextManager):  # noqa: N801 - PyTorch's name
    """Context manager for forward AD: make and unpack dual tensors inside it; the tangents made
    inside are deleted on exit."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        exit_dual_level()


def _is_fwd_grad_enabled() -> bool:
    """Whether forward grad is on (``torch._C._is_fwd_grad_enabled``)."""
    return _fs.ENABLED[0]


class _set_fwd_grad_enabled(_DecoratorContextManager):  # noqa: N801 - PyTorch's name
    """Switch forward grad on or off now, and back to what it was on leaving the block."""

    def __init__(self, mode: bool) -> None:
        self.prev = _is_fwd_grad_enabled()
        _fs.set_enabled(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        _fs.set_enabled(self.prev)


def _jacobian_forward(func, inputs):
    """``autograd.functional.jacobian``'s ``strategy="forward-mode"`` (see forward_checks)."""
    from glassgrad.autograd.forward_checks import jacobian_forward

    return jacobian_forward(func, inputs)
