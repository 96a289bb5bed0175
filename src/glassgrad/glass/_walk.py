"""One iterative walk over a graph and the provenance records behind its cut edges.

``draw``, ``explain`` and ``cost`` all read the same picture of the graph: the live nodes that
backward would run, the leaves they reach, and, behind every cut edge (an input that carried a
provenance record instead of a gradient path), what the gradient would have reached had it not
stopped there. Never recursive, so graphs of any depth walk in linear time.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from glassgrad.autograd import introspect
from glassgrad.autograd.provenance import Record
from glassgrad.tensor import Tensor

LIVE = None  # ``Walk.first_cut`` value of an item reached along a path that gradients follow


@dataclass
class Edge:
    """An edge from ``src`` (feeding) to ``dst`` (consuming), keyed as in ``Walk.items``.

    ``cut`` is the record of a stopped path (detach, frozen leaf, no_grad result) and ``shadow``
    marks an edge inside a region computed without a graph; ``output_nr`` picks which output of
    a multi-output node flows along it.
    """

    src: int
    dst: int
    cut: Record | None = None
    shadow: bool = False
    output_nr: int = 0


@dataclass
class Walk:
    """What the walk found; items are keyed by ``id`` and held strongly while the walk lives.

    Attributes:
        items: key -> a live ``Node``, a leaf ``Tensor`` or a ``Record`` (an op run without a
            graph, or a freed tensor).
        edges: every edge found, in discovery order.
        first_cut: key -> the record of the first cut met on the way from the outputs (``LIVE``
            for items reached along gradient paths).
        roots: the keys of the outputs' own items.
    """

    items: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    first_cut: dict = field(default_factory=dict)
    roots: list = field(default_factory=list)

    def leaves(self) -> list[Tensor]:
        """Every leaf tensor found, live or behind a cut."""
        return [obj for obj in self.items.values() if isinstance(obj, Tensor)]


def _deref(link):
    """A record's input link as an item: a Record, a live Node or a leaf Tensor (or None)."""
    if isinstance(link, weakref.ReferenceType):
        return link()
    return link


def _item(obj):
    """Canonical item: a leaf's AccumulateGrad is drawn as the leaf tensor itself."""
    if isinstance(obj, Tensor):
        return obj
    leaf = introspect.leaf(obj)
    return obj if leaf is None else leaf


def root_item(tensor):
    """The item an output tensor starts from: its node, its record, or the leaf itself."""
    node = tensor.grad_fn
    if node is not None:
        return node
    record = introspect.record(tensor)
    if record is not None:
        if not tensor.requires_grad:
            return record
        if record.kind == "by_hand" and record.inputs and isinstance(record.inputs[0], Record):
            return record.inputs[0]  # a leaf made by hand: explain where its own path stopped
    return tensor


def walk(outputs) -> Walk:
    """Walk the graphs of ``outputs`` (tensors), live edges first, then behind each cut."""
    result = Walk()
    pending = []  # (item, first_cut) to visit
    for tensor in outputs:
        item = root_item(tensor)
        result.roots.append(id(item))
        first = item if isinstance(item, Record) and item.kind != "by_hand" else LIVE
        pending.append((item, first))
    # Two passes: live paths first, so an item reached both ways counts as live.
    behind = []
    _visit(result, pending, behind)
    _visit(result, behind, [])
    return result


def _visit(result: Walk, stack: list, behind: list) -> None:
    items, first_cut = result.items, result.first_cut
    while stack:
        item, cut = stack.pop()
        key = id(item)
        if key in items:
            continue
        items[key] = item
        first_cut[key] = cut
        for src, edge in _inputs(item):
            if src is None:
                continue
            src = _item(src)
            result.edges.append(Edge(id(src), key, edge.cut, edge.shadow, edge.output_nr))
            if id(src) in items:
                continue
            if cut is LIVE and edge.cut is not None and edge.cut.kind not in ("frozen", "by_hand"):
                behind.append((src, edge.cut))
            else:
                stack.append((src, cut))


def _inputs(item):
    """``(source item, Edge template)`` for everything feeding ``item``."""
    if isinstance(item, Record):
        shadow = item.kind not in ("detach", "frozen", "by_hand")
        for link in item.inputs:
            src = _deref(link)
            if isinstance(src, Record):
                src = _record_source(src)
            if src is not None:
                yield src, Edge(0, 0, shadow=shadow)
        if any(_deref(link) is None for link in item.inputs):
            for link in item.behind:  # the graph behind is gone; its leaves are known
                src = link()
                if src is not None:
                    yield src, Edge(0, 0)
        return
    if isinstance(item, Tensor):
        return
    for (src, cut), edge in zip(introspect.inputs(item), item.next_functions, strict=True):
        if src is not None:
            yield src, Edge(0, 0, output_nr=edge[1])
        elif cut is not None:
            yield _record_source(cut), Edge(0, 0, cut=cut)


def _record_source(record: Record):
    """What a cut edge comes from: the detached source, the frozen leaf, or the record itself."""
    if record.kind == "detach":
        source = _deref(record.inputs[0]) if record.inputs else None
        return source if source is not None else record
    if record.kind in ("frozen", "by_hand"):
        return _frozen_leaf(record)
    return record


def _frozen_leaf(record: Record):
    """The leaf a frozen record stands for. An op on a frozen leaf (``weight.t()`` in ``Linear``)
    passes the record on, linked back; the picture shows the leaf the user froze, not each
    temporary made from it (often freed by now)."""
    while record.inputs:
        links = [_deref(link) for link in record.inputs]
        behind = [
            src for src in links if isinstance(src, Record) and src.kind in ("frozen", "by_hand")
        ]
        if not behind:
            break
        record = behind[0]
    tensor = record.tensor()
    return tensor if tensor is not None else record
