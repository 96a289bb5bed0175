"""Gradient flow statistics: what reached each node in backward, and what it passed on.

Off by default, so backward pays nothing. While on (``glass.record_flows()``, or ``glass.explain``
for its own pass), each backward first hooks every node of its graph through the engine's
watched entry (``engine_entry.on_backward``) and the nodes' public hooks; each node then keeps
a ``Flow``: a summary of the gradient that reached it (a scalar's value, else shape and norm),
whether that gradient and the ones it sent on were zero or held NaN/inf, and what the
``observers`` (``glassgrad.glass`` registers its diagnosis) noted while the node's saved values
were still there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassgrad.autograd import engine_entry
from glassgrad.autograd.node import AccumulateGrad

__all__ = ["Flow", "record_flows", "flow", "observers"]

observers: list = []
"""Callables ``(node, grad_inputs, grad_outputs) -> note | None`` run after each hooked node
while its saved values still exist; the first note given is kept as ``Flow.note``."""

_on = [False]


@dataclass
class Flow:
    """What one backward pass sent through a node.

    Attributes:
        summary: the incoming gradient: a float for one element, else ``(shape, norm)``; a tuple
            of those for a node with several outputs.
        zero_in, zero_out: every incoming / outgoing gradient was zero (or absent).
        zero_each: per input edge, whether the gradient sent along it was zero (or absent).
        finite_in, finite_out: no NaN or inf in the incoming / outgoing gradients.
        note: what an observer found (why a nonzero gradient came out zero, say).
    """

    summary: object = None
    zero_in: bool = True
    zero_out: bool = True
    finite_in: bool = True
    finite_out: bool = True
    note: object = None
    zero_each: tuple = ()


def flow(node) -> Flow | None:
    """The ``Flow`` the last recorded backward left on ``node`` (None if none)."""
    return node.__dict__.get("_flow")


def record_flows(flag: bool = True) -> bool:
    """Make every backward keep a ``Flow`` on each node; return the previous setting."""
    previous = _on[0]
    _on[0] = bool(flag)
    if flag and _arm not in engine_entry.on_backward:
        engine_entry.on_backward.append(_arm)
        engine_entry.install()
    elif not flag and _arm in engine_entry.on_backward:
        engine_entry.on_backward.remove(_arm)
    return previous


def _summary(grad):
    data = getattr(grad, "_data", grad)
    if data is None:
        return None
    data = np.asarray(data)
    if data.size == 1:
        return float(data.reshape(()))
    return (tuple(data.shape), float(np.sqrt(np.vdot(data, data).real)))


def _zero(grads) -> bool:
    return all(g is None or not np.any(getattr(g, "_data", g)) for g in grads)


def _finite(grads) -> bool:
    return all(g is None or np.isfinite(getattr(g, "_data", g)).all() for g in grads)


def _as_tuple(grads) -> tuple:
    return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)


def _incoming(node, grads) -> Flow:
    grads = _as_tuple(grads)
    summaries = tuple([None if g is None else _summary(g) for g in grads])
    found = Flow(summaries[0] if len(summaries) == 1 else summaries)
    found.zero_in, found.finite_in = _zero(grads), _finite(grads)
    node.__dict__["_flow"] = found
    node._prov = found.summary  # (what ``glass.draw`` labels edges with)
    return found


def _arm(roots, capture=None) -> None:
    """Before a backward: hook every node behind ``roots`` once."""
    stack, seen = list(roots), set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if not node.__dict__.get("_flow_hooked"):
            node.__dict__["_flow_hooked"] = True
            if node.__class__ is AccumulateGrad or isinstance(node, AccumulateGrad):
                node.register_prehook(_LeafHook(node))
            else:
                node.register_hook(_NodeHook(node))
        stack += [edge[0] for edge in node.next_functions]


class _LeafHook:
    __slots__ = ("node",)

    def __init__(self, node) -> None:
        self.node = node

    def __call__(self, grads):
        if _on[0]:
            found = _incoming(self.node, grads)
            found.zero_out, found.finite_out = found.zero_in, found.finite_in
            found.zero_each = (found.zero_in,)


class _NodeHook:
    __slots__ = ("node",)

    def __init__(self, node) -> None:
        self.node = node

    def __call__(self, grad_inputs, grad_outputs):
        if not _on[0]:
            return
        node = self.node
        found = _incoming(node, grad_outputs)
        grad_inputs = _as_tuple(grad_inputs)
        found.zero_each = tuple([_zero((g,)) for g in grad_inputs])
        found.zero_out, found.finite_out = all(found.zero_each), _finite(grad_inputs)
        for observer in observers:
            note = observer(node, grad_inputs, _as_tuple(grad_outputs))
            if note is not None:
                found.note = note
                break
