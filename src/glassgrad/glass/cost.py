"""``cost``: what a graph holds in memory for backward, and what ``detach()`` shared."""

from __future__ import annotations

from dataclasses import dataclass

from glassgrad.autograd import introspect
from glassgrad.autograd.provenance import Record
from glassgrad.glass._walk import LIVE, walk
from glassgrad.tensor import Tensor

__all__ = ["cost", "Cost"]


@dataclass
class Cost:
    """Graph size and memory: nodes, bytes saved for backward, bytes ``detach()`` shared."""

    nodes: int
    saved_bytes: int
    detach_shared_bytes: int
    detach_copied_bytes: int = 0  # detach() never copies: kept so the answer is in the data

    def __str__(self) -> str:
        return (
            f"{self.nodes} graph nodes, {self.saved_bytes:,} bytes held for backward, "
            f"{self.detach_shared_bytes:,} bytes shared by detach() "
            f"({self.detach_copied_bytes} bytes copied)"
        )


def cost(output: Tensor) -> Cost:
    """Count the nodes of ``output``'s graph and the bytes it holds for backward.

    Saved arrays are counted once even when several nodes keep the same array, and arrays that
    are views of one buffer count that buffer once.
    """
    found = walk([output])
    nodes = 0
    buffers: dict = {}
    shared = 0
    for key, item in found.items.items():
        # Only the live graph is held by ``output``; what lies behind a cut is held by others.
        if isinstance(item, Record) or found.first_cut[key] is not LIVE:
            continue
        if isinstance(item, Tensor):  # a leaf: its AccumulateGrad node, if it requires grad
            nodes += item.requires_grad
            continue
        nodes += 1
        for value in introspect.saved_values(item) or ():
            nbytes = getattr(value, "nbytes", None)
            if nbytes is None:
                continue
            base = value.base if getattr(value, "base", None) is not None else value
            buffers[id(base)] = max(buffers.get(id(base), 0), base.nbytes)
    seen = set()
    for edge in found.edges:
        record = edge.cut
        if record is None or record.kind != "detach" or id(record) in seen:
            continue
        seen.add(id(record))
        tensor = record.tensor()
        if tensor is not None:
            shared += tensor.nbytes
    return Cost(nodes, sum(buffers.values()), shared)
