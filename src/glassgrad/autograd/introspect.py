"""The graph as ``glassgrad.glass`` reads it: a small, documented interface to nodes and records.

What a node is (``name``), what feeds it (``inputs``: the nodes and leaves behind each edge, and
the provenance record where a path was cut), what it saved and how big (``saved_values``,
``saved_bytes``), where it was made (``created_at``), what the last recorded backward sent
through it (``flow``), and why a tensor carries no gradient path (``record``). glass reads the
graph only through these and the public ``Record``/``CutEdge``/``Flow`` classes.

>>> import glassgrad as torch
>>> from glassgrad.autograd import introspect
>>> w = torch.ones(2, requires_grad=True)
>>> y = (w * 2).relu().sum()
>>> introspect.name(y.grad_fn), [introspect.name(n) for n, _ in introspect.inputs(y.grad_fn)]
('SumBackward0', ['ReluBackward0'])
"""

from __future__ import annotations

from glassgrad.autograd.flows import Flow, flow
from glassgrad.autograd.node import FREED, AccumulateGrad, Node
from glassgrad.autograd.provenance import CutEdge, Record, created_at

__all__ = [
    "Node",
    "Record",
    "Flow",
    "name",
    "inputs",
    "leaf",
    "node_of",
    "record",
    "saved_values",
    "saved_bytes",
    "created_at",
    "flow",
    "seq",
    "freed",
    "quiet",
    "accumulator",
    "array",
    "outputs",
]


def name(node) -> str:
    """The node's class name as PyTorch prints it in ``grad_fn`` (``MulBackward0``)."""
    return type(node).__name__


def inputs(node) -> list:
    """``(source, cut)`` per edge of ``node``: the input's node (a leaf's ``AccumulateGrad``
    counts as a node) or None, and the ``Record`` of a cut edge (None for a live edge)."""
    found = []
    for edge in node.next_functions:
        cut = edge.record if isinstance(edge, CutEdge) else None
        found.append((edge[0], cut))
    return found


def leaf(node):
    """The leaf tensor an ``AccumulateGrad`` adds into (None for other nodes, or a freed leaf)."""
    if isinstance(node, AccumulateGrad):
        return node.variable
    return None


def node_of(tensor):
    """The node a gradient of ``tensor`` enters: its ``grad_fn``, a leaf's ``AccumulateGrad``
    (made on demand, as PyTorch does), or None for a tensor that does not require grad."""
    if tensor._grad_fn is not None:
        return tensor._grad_fn
    if tensor.requires_grad:
        return tensor._edge()[0]
    return None


def array(tensor):
    """The array holding a tensor's values, shared, as stored (no copy, no escape recorded:
    glass reading a value is not the user taking it out of the graph)."""
    return tensor._data


def accumulator(tensor):
    """The ``AccumulateGrad`` node of a leaf that requires grad, if one exists (never made here:
    a leaf no graph used has none)."""
    edge = tensor._accum
    return None if edge is None else edge[0]


def outputs(node) -> int:
    """How many outputs the node's operation had (``unbind``: several)."""
    return node._n_outputs


def record(tensor) -> Record | None:
    """Why ``tensor`` carries no gradient path (detach, no_grad, frozen...), if it was recorded."""
    extra = tensor._extra
    return extra.prov if extra is not None else None


def saved_values(node):
    """The arrays (and scalars) the node saved for backward; None once backward freed them
    (``retain_graph=False``) or if it saved nothing."""
    checkpoint = node.__dict__.get("_ckpt")
    if checkpoint is not None:  # a checkpointed region holds its inputs, not what it saved
        return tuple(checkpoint.input_arrays)
    values = node._saved
    if values is None or values is FREED:
        return None
    return values


def saved_bytes(node) -> int:
    """How many bytes of arrays the node holds for backward (0 once freed)."""
    return sum(getattr(value, "nbytes", 0) for value in saved_values(node) or ())


def freed(node) -> bool:
    """Whether backward has released what this node saved (a second backward would fail)."""
    return node._saved is FREED


def quiet(node) -> int | None:
    """For a ReLU, sigmoid or tanh whose every output had derivative 0 when it ran (all units
    dead or saturated): how many units (the output's second axis); None otherwise."""
    return node._quiet


def seq(node) -> int:
    """The node's creation number (later nodes have larger numbers)."""
    return int(node._seq) if node._seq is not None else -1
