"""Forward-mode AD's state: the live dual levels and where a tensor keeps its tangents.

A tangent lives in the tensor's ``_Extra.fw``, a dict from a level's token to the tangent tensor.
Each entered level gets a fresh token, so exiting a level drops all of its tangents at once
(lookups ignore tokens of dead levels) without walking every tensor. ``ACTIVE[0]`` is the
number of levels ops propagate tangents on now: 0 outside any level, which is the one check the
ops' hot paths pay (see ``autograd.record``). While a level's rules run, ``ACTIVE[0]`` is lowered
to that level, so a rule's own ops propagate the outer levels' tangents only.

The tangent of a view is a view of its base's tangent, as in PyTorch: a base's tangent has the
base's memory layout, so the view's tangent is found at the view's offset and strides.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd import bound

__all__ = ["ACTIVE", "LEVELS", "get", "put", "layout_like", "view_tangent"]

ACTIVE = [0]
LEVELS: list = []  # the live levels' tokens, outermost first (PyTorch's level i is LEVELS[i])
ENABLED = [True]  # ``torch._C._set_fwd_grad_enabled``: off, no op propagates nor reads tangents


def set_enabled(mode: bool) -> None:
    """Switch forward grad on or off (the tangents already made are kept for later)."""
    ENABLED[0] = bool(mode)
    reset()


def reset() -> None:
    """``ACTIVE`` for the live levels, as the flag allows."""
    ACTIVE[0] = len(LEVELS) if ENABLED[0] else 0


NONE = object()  # stored for a level: "no tangent here", not even one derived from the base


class Level:
    """A dual level's token (identity only)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def propagate(outputs, cls, inputs, saved, args) -> None:
    """Give an op's ``outputs`` their tangents: ``forward_rules.propagate``, which binds itself
    here when it is imported (``install_rules``): the recorder calls it while a level is active."""
    raise RuntimeError("glassgrad.autograd.forward_rules is not loaded")


def install_rules(rules) -> None:
    """Bind forward mode's ``propagate(outputs, cls, inputs, saved, args)`` (once, at import)."""
    global propagate
    propagate = rules


def get(tensor, token):
    """``tensor``'s tangent at the level ``token`` (None if it has none)."""
    extra = tensor._extra
    if extra is None:
        return None
    fw = extra.fw
    if fw is not None:
        found = fw.get(token)
        if found is not None:
            return None if found is NONE else found
    base = extra.base
    if base is not None and base._extra is not None and base._extra.fw is not None:
        root = base._extra.fw.get(token)
        if root is not None and root is not NONE:
            derived = view_tangent(tensor, base, root)
            if derived is not None:
                _store(tensor, token, derived)
            return derived
    return None


def is_dual(tensor) -> bool:
    """Whether ``tensor`` has a tangent at a level ops propagate on now (ops that keep what
    their backward rule needs only for inputs that require grad keep it for these too)."""
    if tensor._extra is None:
        return False
    return any(get(tensor, token) is not None for token in LEVELS[: ACTIVE[0]])


def put(tensor, token, tangent) -> None:
    """Give ``tensor`` the tangent ``tangent`` at level ``token`` (its layout made like the
    tensor's: a copy only where it differs, as PyTorch's ``make_dual``)."""
    data = tensor._data
    if type(data) is not np.ndarray or type(tangent._data) is not np.ndarray:
        pass  # (a batch under vmap has no layout of its own to match)
    elif (tangent._data.shape != data.shape or tangent._data.strides != data.strides) and not (
        0 in data.strides and data.size > 1
    ):  # (an expanded primal keeps the tangent as computed: its elements share memory)
        tangent = layout_like(tangent, data)
    _store(tensor, token, tangent)


def _store(tensor, token, tangent) -> None:
    extra = tensor._x()
    fw = extra.fw
    if fw is None:
        extra.fw = {token: tangent}
    else:
        for dead in [key for key in fw if key not in LEVELS]:
            del fw[dead]
        fw[token] = tangent


def drop(tensor, token) -> None:
    extra = tensor._extra
    if extra is not None and extra.fw is not None:
        extra.fw.pop(token, None)


def layout_like(tangent, primal):
    """``tangent`` (a tensor) copied into an array laid out as ``primal`` (same strides), keeping
    its graph (a differentiable copy) when it has one."""
    _make = bound.make
    data = tangent._data
    if data.shape != primal.shape:
        data = np.broadcast_to(data, primal.shape)
    out = _empty_like_layout(primal, data.dtype)
    np.copyto(out, data)
    if tangent.requires_grad:
        # a differentiable copy of the tangent, so that gradients flow back to it
        made = tangent.expand(primal.shape) * 1
        made._data = out
        return made
    return _make(out)


_byte_bounds = getattr(np, "byte_bounds", None) or np.lib.array_utils.byte_bounds


def _empty_like_layout(primal, dtype):
    """An array of ``dtype`` with ``primal``'s shape and strides (over a fresh buffer)."""
    if primal.flags.c_contiguous or not primal.size:
        return np.empty(primal.shape, dtype)
    if primal.flags.f_contiguous:
        return np.empty(primal.shape, dtype, order="F")
    low, high = _byte_bounds(primal)
    itemsize = primal.itemsize
    if any(s % itemsize for s in primal.strides) or np.dtype(dtype).itemsize != itemsize:
        return np.empty(primal.shape, dtype)
    start = primal.__array_interface__["data"][0]
    buffer = np.empty((high - low) // itemsize, dtype)
    return np.lib.stride_tricks.as_strided(
        buffer[(start - low) // itemsize :], primal.shape, primal.strides, writeable=True
    )


def share_view(view, base) -> None:
    """A new view of ``base``: where the tangent its op computed has no graph, use the view of
    ``base``'s tangent instead, which shares its memory (in-place writes then reach both)."""
    if view._extra is None or not view._extra.fw:
        return
    for token in LEVELS[: ACTIVE[0]]:
        own = view._extra.fw.get(token)
        if own is None or own is NONE or own.requires_grad:
            continue
        root = get(base, token)
        shared = None if root is None else view_tangent(view, base, root)
        if shared is not None:
            _store(view, token, shared)


def view_tangent(view, base, root):
    """The view of ``root`` (``base``'s tangent, laid out as ``base``) that ``view`` is of
    ``base``; None where the two layouts cannot be related (then no tangent is shared)."""
    _make = bound.make
    data, base_data, tangent = view._data, base._data, root._data
    if not (type(data) is type(base_data) is type(tangent) is np.ndarray):
        return None  # (batched under vmap: the view's own rule gives its tangent)
    if tangent.strides != base_data.strides or tangent.dtype.itemsize != data.itemsize:
        return None
    offset = data.__array_interface__["data"][0] - base_data.__array_interface__["data"][0]
    start = tangent.__array_interface__["data"][0] + offset
    owner = tangent
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not owner.flags.c_contiguous:
        return None
    try:
        array = np.ndarray(
            data.shape,
            tangent.dtype,
            buffer=owner,
            offset=start - owner.__array_interface__["data"][0],
            strides=data.strides,
        )
    except (TypeError, ValueError):
        return None
    if not tangent.flags.writeable:
        array.flags.writeable = False
    return _make(array)
