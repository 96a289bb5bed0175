"""``explain``: one row per parameter: does a gradient arrive, is it any use, and if not, why.

Every row names a status, the mechanism and the user's source line. While the output's graph is
still whole (before ``backward()``, or with ``retain_graph=True``) explain runs its own backward
pass with flow statistics on (``autograd.grad`` with the user's hooks silenced: no ``.grad``
changes, no hook runs, every node is left as it was), so a zero or NaN gradient is traced to the
op that made it. Once backward freed the graph, the rows use ``.grad`` and whatever
``glass.record_flows()`` kept.
"""

from __future__ import annotations

import sys

import numpy as np

from glassgrad.autograd import escapes, flows, introspect, provenance
from glassgrad.creation import ones_like
from glassgrad.glass import _causes, _findings, _report
from glassgrad.glass._params import entries, named_tensors
from glassgrad.glass._report import STATUSES, Explanation, Finding, ModuleFlow, Row
from glassgrad.glass._walk import LIVE, Walk, walk
from glassgrad.tensor import Tensor

__all__ = [
    "explain",
    "Explanation",
    "Row",
    "ModuleFlow",
    "Finding",
    "STATUSES",
    "named_tensors",
    "why_not",
]


def explain(output: Tensor, params=None, *, optimizer=None, name: str | None = None) -> Explanation:
    """Say, for each parameter, whether a useful gradient of ``output`` reaches it, and if not why.

    Args:
        output: the loss (or any tensor) whose gradient flow is explained.
        params: an ``nn.Module``, a dict of named tensors or modules (nested dicts and
            ModuleDicts too), or a list; by default the leaves of the graph (named as found in
            the caller's variables).
        optimizer: also flag parameters that get a gradient but are in none of its param groups.
        name: what to call ``output`` in the table (found in the caller's variables otherwise).

    Returns:
        An ``Explanation``: ``print`` it, or read ``.rows``, ``.modules`` and ``.findings``.
    """
    frame = sys._getframe(1)
    found = walk([output])
    listed = entries(params)
    names = _caller_names(frame)
    if not listed:
        listed = entries({names.get(id(t), f"leaf{i}"): t for i, t in enumerate(found.leaves())})
    label = name or names.get(id(output), "the output")
    grads = _own_pass(output, listed, found)
    seq = introspect.seq(output.grad_fn) if output.grad_fn is not None else None
    escaped = escapes.escapes_before(seq)
    in_groups = _optimized(optimizer)
    owners = {id(e.tensor): e.module for e in listed}
    rows = [_row(e, found, grads, escaped, in_groups, names, owners) for e in listed]
    modules = _report.module_flows(rows)
    # (leaves missing from a whole model's parameters are news; from a hand-picked dict, not)
    whole = hasattr(params, "named_parameters")
    findings = _report.whole_output(output, label, found, rows if whole else [], modules, names)
    findings += _findings.shortened(found)
    if whole:
        findings += _findings.stale_optimizer(optimizer, listed, rows)
    return Explanation(label, rows, modules, findings)


def why_not(outputs, params) -> dict:
    """``{name: reason}``: why no gradient of ``outputs`` (a list of tensors) reaches each
    parameter, "" for those it reaches; for callers that already know who got none (DDP)."""
    found = walk(list(outputs))
    reasons = {}
    for entry in entries(params):
        row = _row(entry, found, None, escapes.escapes_before(None), None, {})
        for key in entry.names:
            reasons[key] = "" if row.receives else row.cause
    return reasons


def _own_pass(output: Tensor, listed: list, found: Walk):
    """``{id(tensor): gradient array or None}`` from a backward pass of explain's own, with
    flows recorded; None when the graph was freed (or there is nothing to differentiate)."""
    node = output.grad_fn
    targets = [e.tensor for e in listed if e.tensor.requires_grad]
    if node is None or not targets:
        return None
    if any(introspect.freed(n) for n in found.items.values() if isinstance(n, introspect.Node)):
        return None
    from glassgrad.autograd import grad as autograd_grad

    ones = ones_like(output)
    previous = flows.record_flows(True)
    try:
        with introspect.hooks_silenced([node]):
            got = autograd_grad(
                [output],
                targets,
                [ones],
                retain_graph=True,
                allow_unused=True,
                materialize_grads=False,
            )
    except Exception:  # a custom Function failed: fall back to .grad
        return None
    finally:
        flows.record_flows(previous)
    return {
        id(t): (None if g is None else g.numpy(force=True))
        for t, g in zip(targets, got, strict=True)
    }


def _optimized(optimizer):
    if optimizer is None:
        return None
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


def _row(entry, found: Walk, grads, escaped, in_groups, names, owners=None) -> Row:
    tensor = entry.tensor
    row = Row(tuple(entry.names), tuple(tensor.shape), entry.module, "ok", tensors=(tensor,))
    if not tensor.requires_grad:
        _frozen(row, tensor)
        row.cause += _findings.train_mode_note(entry.owner)
        cut = found.first_cut.get(id(tensor), LIVE)
        if cut is not LIVE:  # frozen, and behind a cut as well: say both
            row.cause += f"; and {_causes.of_record(cut).text}"
        return row
    if tensor.grad_fn is not None:
        return _non_leaf(row, tensor, names)
    key = id(tensor)
    reached = key in found.items
    cut = found.first_cut.get(key) if reached else None
    if reached and cut is not LIVE:
        return row.set("cut", _causes.of_record(cut))
    if not reached:
        for record in escaped:
            if any(link() is tensor for link in record.behind):
                return row.set("cut", _causes.of_escape(record))
        if _records_off(found):
            text = (
                "no gradient path from this output (glass.provenance is off, so a cut on the way "
                "could not be recorded)"
            )
            return row.set("no_path", _causes.Cause("", "", text))
        return row.set("unused", _causes.Cause("", "", "not used by this output"))
    grad = grads.get(key) if grads is not None else _stored(tensor)
    if grad is None:
        return row.set("pending", _causes.Cause("", "", "backward() not run yet"))
    row.measure(grad)
    if not np.isfinite(grad).all():
        row.set("nonfinite", _trace(tensor, found, "nonfinite", owners))
    elif not np.any(grad):
        row.set("zero", _trace(tensor, found, "zero", owners))
    if in_groups is not None and key not in in_groups and row.status == "ok":
        row.set(
            "not_in_optimizer",
            _causes.Cause(
                "optimizer",
                "",
                "it gets a gradient but is in no param group of the "
                "optimizer, so step() never changes it",
            ),
        )
    return row


def _frozen(row: Row, tensor: Tensor) -> None:
    record = introspect.record(tensor)
    if record is not None and record.kind == "frozen":
        row.set("frozen", _causes.of_record(record))
    else:
        row.set("frozen", _causes.Cause("requires_grad=False", "", "frozen: requires_grad=False"))


def _stored(tensor: Tensor):
    grad = tensor.grad
    return None if grad is None else grad.numpy(force=True)


def _non_leaf(row: Row, tensor: Tensor, names) -> Row:
    """A "parameter" made by an op (``.to()``, ``* 1``): its ``.grad`` stays None."""
    node = tensor.grad_fn
    op = introspect.name(node)
    how = {"ToCopyBackward0": ".to()", "MulBackward0": "* 1", "CloneBackward0": ".clone()"}.get(
        op, op
    )
    leaves, stack, seen = [], [node], set()
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        leaf = introspect.leaf(item)
        if leaf is not None:
            shape = "x".join(map(str, leaf.shape)) or "scalar"
            leaves.append(f"`{names[id(leaf)]}`" if id(leaf) in names else f"a leaf ({shape})")
        elif introspect.is_accumulator(item):
            leaves.append("a leaf that nothing holds any more")
        stack += [src for src, _ in introspect.inputs(item)]
    where = introspect.created_at(node) or ""
    source = ", ".join(leaves) or "a leaf"
    text = (
        f"not a leaf: made from {source} by {how}"
        + (f" at {where}" if where else "")
        + f" ({op}), so its .grad stays None; the gradient goes to {source} (make the "
        "tensor with requires_grad=True after the cast, or keep and optimize that leaf)"
    )
    return row.set("non_leaf", _causes.Cause(how, where, text))


_ACTIVATIONS = ("ReLU", "sigmoid", "tanh")
_ACTIVATION_NODES = ("ReluBackward0", "ThresholdBackward0", "SigmoidBackward0", "TanhBackward0")


def _layer(node, mechanism: str, owners) -> str:
    """`` on the output of layer `encoder.0` ``: for an activation, the module whose parameters
    made its input (the nearest found within a few nodes), if it is among those explained."""
    if mechanism not in _ACTIVATIONS or not owners:
        return ""
    # (a layer whose input a dead activation zeroed: start from that activation)
    hops = 0
    while node is not None and introspect.name(node) not in _ACTIVATION_NODES and hops < 4:
        sources = [src for src, _ in introspect.inputs(node) if src is not None]
        node = next((s for s in sources if introspect.leaf(s) is None), None)
        hops += 1
    if node is None or introspect.name(node) not in _ACTIVATION_NODES:
        return ""
    stack, seen = [src for src, _ in introspect.inputs(node)][:1], set()
    while stack and len(seen) < 8:
        item = stack.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        leaf = introspect.leaf(item)
        if leaf is not None:
            if owners.get(id(leaf)):
                return f" on the output of layer `{owners[id(leaf)]}`"
            continue
        stack += [src for src, _ in introspect.inputs(item)]
    return ""


def _trace(tensor: Tensor, found: Walk, kind: str, owners=None) -> _causes.Cause:
    """Where on the paths to ``tensor`` a gradient became zero (or NaN/inf); ``owners``: the
    module path of each explained tensor (by id), to name an activation's layer."""
    nodes, keys = _on_paths(id(tensor), found)
    for node in nodes:
        flow = introspect.flow(node)
        if flow is None or flow.note is None:
            continue
        mechanism, text, *known = flow.note
        if kind == "zero":
            toward = [i for i, (src, _) in enumerate(introspect.inputs(node)) if _key(src) in keys]
            made_here = not flow.zero_in and all(
                i < len(flow.zero_each) and flow.zero_each[i] for i in toward
            )
        else:
            made_here = flow.finite_in and not flow.finite_out
        if made_here:
            where = known[0] if known else introspect.created_at(node) or ""
            text += _layer(node, mechanism, owners)
            return _causes.Cause(mechanism, where, _at(f"gradient is {kind}: {text}", where))
    for node in nodes:
        hint = _causes.structural(node) if kind == "zero" else None
        if hint is not None:
            where = hint[2] or introspect.created_at(node) or ""
            text = hint[1] + _layer(node, hint[0], owners)
            return _causes.Cause(hint[0], where, _at(f"gradient is zero: {text}", where))
    what = "exactly zero" if kind == "zero" else "NaN/inf"
    return _causes.Cause(
        "",
        "",
        f"the gradient is {what}; where it became so is known only when explain runs "
        "before backward() or under glass.record_flows()",
    )


def _at(text: str, where: str) -> str:
    return f"{text} at {where}" if where else text


def _records_off(found: Walk) -> bool:
    """Whether provenance records were off while the output's graph was made (or are now)."""
    if not provenance.enabled:
        return True
    numbers = [introspect.seq(n) for n in found.items.values() if isinstance(n, introspect.Node)]
    numbers = [number for number in numbers if number >= 0]  # (leaves' nodes have none)
    return bool(numbers) and provenance.off_between(min(numbers), max(numbers))


def _key(src) -> int | None:
    """The walk's key of an edge's source (a leaf's AccumulateGrad is keyed by the leaf)."""
    if src is None:
        return None
    leaf = introspect.leaf(src)
    return id(leaf if leaf is not None else src)


def _on_paths(key: int, found: Walk) -> tuple:
    """The live nodes on some path from the output to item ``key``, nearest first, and the keys
    of every item on those paths."""
    consumers: dict = {}
    for edge in found.edges:
        if edge.cut is None and not edge.shadow:
            consumers.setdefault(edge.src, []).append(edge.dst)
    order, stack, seen = [], [key], {key}
    while stack:
        current = stack.pop(0)
        for dst in consumers.get(current, ()):
            if dst not in seen and found.first_cut.get(dst, 0) is LIVE:
                seen.add(dst)
                order.append(found.items[dst])
                stack.append(dst)
    return [item for item in order if isinstance(item, introspect.Node)], seen


def _caller_names(frame) -> dict:
    """``id(tensor) -> variable name`` for tensors bound in ``frame`` and the frames above it."""
    names: dict = {}
    while frame is not None:
        for key, value in list(frame.f_locals.items()):
            if isinstance(value, Tensor):
                names.setdefault(id(value), key)
                if value.grad_fn is not None:
                    names.setdefault(id(value.grad_fn), key)
                record = introspect.record(value)
                if record is not None:
                    names.setdefault(id(record), key)
        frame = frame.f_back
    return names
