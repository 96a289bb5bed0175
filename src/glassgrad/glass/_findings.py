"""Findings about a program rather than one parameter: a cut that only shortens the gradient's
path (truncated backpropagation through time), an optimizer holding tensors the model no longer
has (made before a layer was replaced), a frozen normalisation layer left in train mode."""

from __future__ import annotations

from glassgrad.autograd.provenance import Record
from glassgrad.glass._report import Finding
from glassgrad.glass._walk import LIVE, Walk

__all__ = ["shortened", "stale_optimizer", "train_mode_note"]


def shortened(found: Walk) -> list:
    """A ``detach()`` on a live path whose leaves all still get a gradient some other way (the
    history of truncated BPTT, a detached target): say so, without calling it a bug."""
    findings, seen = [], set()
    for edge in found.edges:
        record = edge.cut
        if record is None or record.kind != "detach" or found.first_cut.get(edge.dst) is not LIVE:
            continue
        if record.where in seen:
            continue
        leaves = [leaf for leaf in (link() for link in _behind(record)) if leaf is not None]
        if not leaves or any(found.first_cut.get(id(leaf)) is not LIVE for leaf in leaves):
            continue
        seen.add(record.where)
        text = (
            f"`{record.how}` at {record.where} cuts the gradient's path through it (as "
            "truncated backpropagation through time, or a detached target, does on purpose): "
            "every parameter behind it still gets a gradient by another path, so none is "
            "missing; only the part through the cut is left out"
        )
        findings.append(Finding("partial_cut", text, record.how, record.where))
    return findings


def _behind(record) -> tuple:
    """The leaves behind a cut: an op on a detached tensor (``h[0]`` inside an LSTM) carries
    a record linked back to the ``detach()``'s own, which knows them."""
    while not record.behind and record.inputs and isinstance(record.inputs[0], Record):
        record = record.inputs[0]
    return record.behind


def stale_optimizer(optimizer, listed: list, rows: tuple = ()) -> list:
    """Tensors the optimizer updates that are not among the model's parameters; a row whose
    tensor is in no param group while a stale one of its shape is gets that said too."""
    if optimizer is None:
        return []
    known = {id(entry.tensor) for entry in listed}
    stale = [p for group in optimizer.param_groups for p in group["params"] if id(p) not in known]
    if not stale:
        return []
    shapes = {tuple(p.shape) for p in stale}
    for row in rows:
        if row.status == "not_in_optimizer" and tuple(row.shape) in shapes:
            row.cause += (
                "; the optimizer holds an older tensor of this shape: was it made before "
                "this layer was replaced?"
            )
    shapes = ", ".join("x".join(map(str, p.shape)) or "scalar" for p in stale[:6])
    text = (
        f"the optimizer holds {len(stale)} tensor(s) that are not parameters of the model "
        f"({shapes}{', ...' if len(stale) > 6 else ''}): it was probably made before a layer "
        "was replaced; make the optimizer after the model is final"
    )
    return [Finding("stale_optimizer", text, "optimizer")]


def train_mode_note(owner) -> str:
    """For a frozen parameter of a normalisation layer still in train mode: what still moves."""
    kind = type(owner).__name__
    if owner is None or not getattr(owner, "training", False) or "Norm" not in kind:
        return ""
    if getattr(owner, "running_mean", None) is None:
        return ""
    return (
        f"; its {kind} is still in train mode, so it normalises with each batch's statistics "
        "and keeps updating running_mean/running_var (call .eval() on it to freeze it fully)"
    )
