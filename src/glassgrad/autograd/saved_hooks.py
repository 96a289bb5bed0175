"""``saved_tensors_hooks``, ``save_on_cpu``, ``disable_saved_tensors_hooks``, and the node
creation counter that anomaly mode and those hooks swap in.

Ops save arrays straight into their node on the hot path, so the hooks are not called there.
While hooks are active the creation counter is replaced: each new node is noted (it is the
``node`` of the frame that numbers it), and once it has finished saving (when the next node is
numbered, when the hooks' context exits or a backward pass starts) every tensor it saved goes
through ``pack_hook``; the node then holds only what ``pack_hook`` returned, and backward runs
``unpack_hook`` before the node's rule. Outside such contexts nothing changes.
"""

from __future__ import annotations

import contextlib
import sys
import weakref

from glassgrad.autograd import bound
from glassgrad.autograd import node as _node
from glassgrad.autograd.record import saved_record

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_plain_seq = _node.next_seq
tracing = [None]  # anomaly mode's traced counter while it is on
_stack: list = []  # active (pack_hook, unpack_hook), innermost last
_pending: list = []  # (node, hooks) made under hooks, not packed yet
_disabled = [None]  # the error message while saved tensor hooks are disabled


def _counter():
    seq = tracing[0]() if tracing[0] is not None else _plain_seq()
    if _stack:
        flush()
        made = sys._getframe(1).f_locals.get("node")
        if isinstance(made, _node.Node):
            _pending.append((made, _stack[-1]))
    return seq


def refresh() -> None:
    """Swap the counter at every place nodes are made: plain unless a feature needs it."""
    _node.set_counter(_counter if (_stack or tracing[0] is not None) else _plain_seq)


def flush() -> None:
    """Pack what the nodes made so far under hooks saved."""
    while _pending:
        node, hooks = _pending.pop(0)
        _pack(node, hooks)


def _pack(node, hooks) -> None:
    _make = bound.make
    records = node._vars
    if not records or node._saved is None or node._saved is _node.FREED:
        return
    pack, unpack = hooks
    packed = {}
    values = list(node._saved)
    for _counter, _version, owner, index in records:
        tensor = owner() if isinstance(owner, weakref.ReferenceType) else owner
        if tensor is None:
            tensor = _make(values[index], node, 0)
        packed[index] = (pack(tensor), unpack)
        values[index] = None
    node._saved, node._vars = tuple(values), None
    node._packed = packed
    inner = node.__dict__.get("apply")
    node.apply = _Unpack(node, inner)
    node._custom_apply = node._special = True


def unpack(node) -> None:
    """Put the unpacked tensors back into ``node`` (before its rule runs)."""
    packed = node.__dict__.pop("_packed", None)
    if not packed or node._saved is _node.FREED:
        return
    values, records = list(node._saved), []
    for index, (value, unpack_hook) in packed.items():
        tensor = unpack_hook(value)
        _check_unpacked(tensor)
        values[index] = tensor._data
        if tensor._vc is not None:
            records.append(saved_record(tensor, index))
        else:  # an inference tensor: no version to check (PyTorch takes it)
            records.append(([0], 0, tensor, index))
    node._saved, node._vars = tuple(values), tuple(records)


def _check_unpacked(tensor) -> None:
    if not isinstance(tensor, bound.Tensor):
        raise TypeError(
            "Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
            f"{type(tensor).__name__}"
        )


class _Unpack:
    __slots__ = ("node", "inner")

    def __init__(self, node, inner) -> None:
        self.node, self.inner = node, inner

    def __call__(self, grad, create_graph):
        unpack(self.node)
        if self.inner is not None:
            return self.inner(grad, create_graph)
        return type(self.node).apply(self.node, grad, create_graph)


def _flush_before_backward(roots, capture) -> None:
    flush()


class saved_tensors_hooks:
    """Context manager: tensors saved for backward go through ``pack_hook`` and come back
    through ``unpack_hook`` when backward needs them."""

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        from glassgrad.autograd import engine_entry

        if _disabled[0] is not None:
            raise RuntimeError(_disabled[0])
        flush()
        _stack.append((self.pack_hook, self.unpack_hook))
        if _flush_before_backward not in engine_entry.on_backward:
            engine_entry.on_backward.append(_flush_before_backward)
            engine_entry.install()
        refresh()
        return self

    def __exit__(self, *args) -> None:
        flush()
        _stack.pop()
        refresh()


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept as CPU copies (glassgrad's tensors already live there)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor):
            if not pin_memory:
                return tensor.device, tensor.cpu()
            packed = tensor.detach().clone()  # pinned memory means nothing on NumPy
            return tensor.device, packed

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device, non_blocking=pin_memory)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str):
    """Context manager (and decorator) in which saved tensor hooks raise ``error_message``."""
    previous = _disabled[0]
    try:
        _disabled[0] = error_message
        yield
    finally:
        _disabled[0] = previous
