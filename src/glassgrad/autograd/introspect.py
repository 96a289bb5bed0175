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

import contextlib
import os

from glassgrad.autograd.flows import Flow, flow
from glassgrad.autograd.node import FREED, AccumulateGrad, Node, next_seq
from glassgrad.autograd.provenance import CutEdge, Record, _source_name, _user_frame, created_at

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
    "is_accumulator",
    "source_name",
    "user_line",
    "hooks_silenced",
    "next_seq",
    "input_shapes",
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
    """For a ReLU whose every output had derivative 0 when it ran (all units dead): how many
    units (the output's second axis); for a product with a tensor of zeros (``loss * mask``,
    the mask all zeros): how many elements that tensor had; None otherwise."""
    return node._quiet


def input_shapes(node) -> list:
    """The shape of each input of ``node`` (None for an argument that is not a tensor)."""
    return [None if meta is None or meta is False else meta[0] for meta in node._input_meta()]


def seq(node) -> int:
    """The node's creation number (later nodes have larger numbers)."""
    return int(node._seq) if node._seq is not None else -1


def is_accumulator(node) -> bool:
    """Whether ``node`` is a leaf's ``AccumulateGrad`` (alive or not)."""
    return isinstance(node, AccumulateGrad)


def source_name(record: Record) -> str | None:
    """The variable name of the tensor a ``detach`` record's tensor was detached from, if known."""
    return _source_name(record)


def user_line() -> str:
    """``file.py:12``: the line running now in the user's code (the first frame outside
    glassgrad, from the caller up); ``?`` if there is none."""
    frame, _ = _user_frame(2)
    if frame is None:
        return "?"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


# what registering a hook (the user's, or flows' and anomaly mode's own) sets on a node
_HOOKED = ("_pre_hooks", "_post_hooks", "_retain", "_flow_hooked")
_KEPT = (*_HOOKED, "apply", "_custom_apply", "_special", "_prov")


@contextlib.contextmanager
def hooks_silenced(roots):
    """Within the block, backward through the graph behind the nodes ``roots`` runs none of
    the hooks registered on its tensors and nodes (``register_hook``, ``retain_grad``, module
    backward hooks, post-accumulate hooks); afterwards every node and leaf is as it was, and
    hooks registered inside the block (``glass.record_flows``'s own) are gone again.

    For a pass of glass's own (``explain``): it must not run what the user registered.
    """
    nodes, stack, seen = [], list(roots), set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack += [edge[0] for edge in node.next_functions]
    kept, posts, leaves = [], [], []
    for node in nodes:
        own = node.__dict__
        kept.append((node, {key: own[key] for key in _KEPT if key in own}))
        for key in _HOOKED:
            own.pop(key, None)
        post = own.get("apply")
        if isinstance(getattr(post, "hooks", None), dict):  # node.register_hook's wrapper
            posts.append((post, dict(post.hooks)))
            post.hooks.clear()
        variable = node.variable if isinstance(node, AccumulateGrad) else None
        extra = variable._extra if variable is not None else None
        if extra is not None:
            leaves.append((extra, extra.hooks, extra.post_hooks))
            extra.hooks = extra.post_hooks = None
    try:
        yield
    finally:
        for node, fields in kept:
            own = node.__dict__
            for key in _KEPT:
                own.pop(key, None)
            own.update(fields)
        for post, hooks in posts:
            post.hooks.clear()
            post.hooks.update(hooks)
        for extra, hooks, post_hooks in leaves:
            extra.hooks, extra.post_hooks = hooks, post_hooks
