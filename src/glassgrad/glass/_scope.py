"""Which ``nn.Module`` made each node: the scopes ``draw`` groups a real model's graph by.

While ``glass.record_modules()`` is on, two module hooks common to every module (PyTorch's
``register_module_forward_pre_hook``/``register_module_forward_hook``) note where each forward
begins (the next node number) and, when it returns, walk back from its outputs over the nodes and
no-grad records made since, tagging each untagged one with the module's path. Inner modules
return first, so every item carries its innermost module. Nothing is recorded while it is off:
the switch costs a walk per module call, which the P1/P2 budgets do not pay.
"""

from __future__ import annotations

import sys
import threading
import weakref
from dataclasses import dataclass

from glassgrad.autograd import introspect
from glassgrad.autograd.provenance import CutEdge, Record
from glassgrad.nn.modules import module as _module
from glassgrad.tensor import Tensor

__all__ = ["Scope", "kinds", "record_modules", "scope_of"]


@dataclass(frozen=True)
class Scope:
    """Where an item was made: the outermost module's identity, the path below it (``""`` for
    the outermost module's own ops) and the innermost module's class name."""

    root: int
    path: str
    kind: str
    root_kind: str


_tags: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node or record -> Scope
_local = threading.local()
_names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # parent -> {id(child): name}
kinds: dict = {}  # (id of the outermost module, path) -> class name, for cluster labels


def scope_of(item) -> Scope | None:
    """The scope recorded for a node or a record (None where nothing was recorded)."""
    try:
        return _tags.get(item)
    except TypeError:  # not weak-referenceable: never tagged
        return None


class record_modules:  # noqa: N801 - reads like the switch it is, as ``record_flows``
    """Record which ``nn.Module`` makes each node while on (``with glass.record_modules():``).

    ``draw`` then groups the graph into one cluster per module, labels nodes ``path: op`` and
    collapses modules below a chosen depth.
    """

    _handles: list = []

    def __init__(self, flag: bool = True) -> None:
        self.previous = bool(self._handles)
        _switch(bool(flag))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _switch(self.previous)


def _switch(flag: bool) -> None:
    handles = record_modules._handles
    if flag and not handles:
        handles.append(_module.register_module_forward_pre_hook(_pre))
        handles.append(_module.register_module_forward_hook(_post))
    elif not flag:
        while handles:
            handles.pop().remove()
        _stack().clear()  # frames of forwards that raised while recording


def _stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _open_frames(stack: list, caller) -> None:
    """Drop the frames of forwards that raised (their hook never ran): a frame is open while
    the call that entered it is still among ``caller``'s ancestors."""
    while stack:
        frame, target = caller, stack[-1][6]
        while frame is not None and frame is not target:
            frame = frame.f_back
        if frame is not None:
            return
        stack.pop()


def _pre(module, args) -> None:
    stack = _stack()
    caller = sys._getframe(1)  # the module call running this hook
    _open_frames(stack, caller)
    if stack:
        root, root_kind, parent_path, parent = stack[-1][:4]
        name = _child_name(parent, module)
        path = name if not parent_path else f"{parent_path}.{name}" if name else parent_path
    else:
        root, root_kind, path = id(module), type(module).__name__, ""
    kinds[(root, path)] = type(module).__name__
    stop = {id(item) for item in _items(args)}
    stack.append((root, root_kind, path, module, introspect.next_seq(), stop, caller))


def _child_name(parent, module) -> str:
    """``module``'s name below ``parent`` (``layers.0``), ``""`` if it is not a descendant."""
    names = _names.get(parent)
    if names is None or id(module) not in names:
        names = {id(child): name for name, child in parent.named_modules() if name}
        _names[parent] = names
    return names.get(id(module), "")


def _post(module, args, output) -> None:
    stack = _stack()
    # A forward that raised never reached its hook: drop its frame along with any above it.
    found = [i for i, frame in enumerate(stack) if frame[3] is module]
    if not found:
        return
    root, root_kind, path, _, start, stop, _ = stack[found[-1]]
    del stack[found[-1] :]
    scope = Scope(root, path, type(module).__name__, root_kind)
    pending, seen = list(_items(output)), set()
    while pending:
        item = pending.pop()
        if id(item) in seen or id(item) in stop:
            continue
        seen.add(id(item))
        if isinstance(item, Record):
            if item.kind in ("frozen", "by_hand"):
                continue
            links = [link() if isinstance(link, weakref.ref) else link for link in item.inputs]
        elif introspect.seq(item) < start or introspect.is_accumulator(item):
            continue
        else:
            links = [
                edge[0] if edge[0] is not None else getattr(edge, "record", None)
                for edge in item.next_functions
                if edge[0] is not None or isinstance(edge, CutEdge)
            ]
        if item not in _tags:
            _tags[item] = scope
        pending += [link for link in links if link is not None and not isinstance(link, Tensor)]


def _items(value):
    """The graph items (node or record) behind the tensors in ``value`` (nested containers)."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, Tensor):
            node, record = value.grad_fn, introspect.record(value)
            if node is not None:
                yield node
            elif record is not None:
                yield record
        elif isinstance(value, (tuple, list)):
            pending += list(value)
        elif isinstance(value, dict):
            pending += list(value.values())
