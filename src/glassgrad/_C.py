"""``torch._C``: the few switches of PyTorch's C++ core that Python code calls directly."""

from __future__ import annotations

from glassgrad.autograd import forward_state as _fs

__all__ = ["_is_fwd_grad_enabled", "_set_fwd_grad_enabled"]


def _set_fwd_grad_enabled(enabled: bool) -> None:
    """Switch forward-mode AD on or off: off, ops neither compute nor read tangents."""
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool (got {type(enabled).__name__})")
    _fs.set_enabled(enabled)


def _is_fwd_grad_enabled() -> bool:
    """Whether forward-mode AD is on."""
    return _fs.ENABLED[0]
