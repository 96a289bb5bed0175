"""What a failed backward leaves behind: the gradients of the leaves it had finished, as PyTorch.

PyTorch runs a leaf's ``AccumulateGrad`` as soon as every edge into it has delivered, so when a
node's backward raises, the leaves whose gradients were complete by then already hold them in
``.grad`` and the others hold nothing new. glassgrad's engines do no dependency counting while
all goes well (nodes run newest first, see ``engine._propagate``); only when a node fails is
the graph walked here to find which leaves were complete: those whose every incoming edge comes
from a node newer than the failing one (those ran, the failing one and older ones did not).
"""

from __future__ import annotations

from glassgrad.autograd.node import AccumulateGrad


def incomplete_leaves(starts, failed):
    """The ``AccumulateGrad`` nodes below ``starts`` that an edge from a node that did not run
    (``failed`` or any node created before it) leads to."""
    limit = failed._seq if failed is not None and failed._seq is not None else None
    if limit == _RUN_AT_ONCE:
        limit = _last_parent(starts, failed)
    incomplete: set = set()
    seen: set = set()
    stack = [node for node in starts if node is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        ran = limit is not None and node is not failed and (node._seq or 0) > limit
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            if nxt.__class__ is AccumulateGrad:
                if not ran:
                    incomplete.add(nxt)
            elif nxt not in seen:
                stack.append(nxt)
    return incomplete


# The number PyTorch gives the nodes it runs as soon as they are ready (AccumulateGrad, the
# error nodes of ops without a derivative): such a node ran right after the last of the nodes
# feeding it, which is the oldest of them (nodes run newest first).
_RUN_AT_ONCE = 2**64 - 1


def _last_parent(starts, failed):
    """One less than the oldest creation number among the nodes with an edge into ``failed``:
    every node numbered above it had run when ``failed`` did."""
    oldest = None
    seen: set = set()
    stack = [node for node in starts if node is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for nxt, _ in node.next_functions:
            if nxt is failed and node._seq is not None:
                oldest = node._seq if oldest is None else min(oldest, node._seq)
            elif nxt is not None and nxt not in seen and nxt.__class__ is not AccumulateGrad:
                stack.append(nxt)
    return None if oldest is None else oldest - 1


def keep_complete(leaves, starts, failed, eager=()):
    """Drop from ``leaves`` (``AccumulateGrad`` -> pending gradient) the leaves that were not
    complete when ``failed`` raised, and undo the plain engine's early writes into them.

    ``eager``: ``(node, variable, previous .grad)`` for each gradient the plain engine stored as
    it arrived (0-d leaves without hooks), in order.
    """
    incomplete = incomplete_leaves(starts, failed)
    for node in [node for node in leaves if node in incomplete]:
        del leaves[node]
    undone: set = set()
    for node, variable, previous in eager:
        if node in incomplete and node not in undone:
            undone.add(node)  # the first record holds the value from before this backward
            variable._grad = previous
