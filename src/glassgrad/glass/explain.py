"""``explain``: one row per parameter: did it get a gradient, and if not, why not."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from glassgrad.autograd.provenance import Record
from glassgrad.glass._walk import LIVE, Walk, root_item, walk
from glassgrad.tensor import Tensor, grad_tensor

__all__ = ["explain", "Explanation", "Row", "named_tensors", "why_not"]


@dataclass
class Row:
    """One parameter: its name, whether a gradient reaches it, its norm, and why not."""

    name: str
    shape: tuple
    receives: bool
    grad_norm: float | None
    reasons: list

    @property
    def reason(self) -> str:
        """The reasons joined into one sentence ("" when the gradient arrives)."""
        return "; and ".join(self.reasons)


@dataclass
class Explanation:
    """The table ``explain`` returns: printable, and its rows as data."""

    output: str
    rows: list
    notes: list

    def __str__(self) -> str:
        head = ("parameter", "shape", "gradient", "why not")
        body = [
            (r.name, "x".join(map(str, r.shape)) or "scalar", _grad_text(r), r.reason)
            for r in self.rows
        ]
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(3)]
        lines = [f"gradient flow to {self.output}:"]
        for row in [head, *body]:
            cells = [text.ljust(width) for text, width in zip(row[:3], widths, strict=True)] + [
                row[3]
            ]
            lines.append("  ".join(cells).rstrip())
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def __getitem__(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)


def _grad_text(row: Row) -> str:
    if not row.receives:
        return "none"
    return "yes (backward not run)" if row.grad_norm is None else f"norm {row.grad_norm:.4g}"


def named_tensors(params) -> dict:
    """``{name: tensor}`` from a dict, an ``nn.Module`` (its named parameters) or a list."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        return dict(params.named_parameters())
    if isinstance(params, dict):
        return dict(params)
    return {f"param[{i}]": t for i, t in enumerate(params)}


def explain(output: Tensor, params=None, *, name: str | None = None) -> Explanation:
    """Say, for each parameter, whether a gradient of ``output`` reaches it, and if not why.

    Args:
        output: the loss (or any tensor) whose gradient flow is explained.
        params: a dict of named tensors, an ``nn.Module``, or a list; by default the leaves of
            the graph (named as found in the caller's variables).
        name: what to call ``output`` in the table (found in the caller's variables otherwise).

    Returns:
        An ``Explanation``: ``print`` it, or read ``.rows``.
    """
    found = walk([output])
    named = named_tensors(params)
    if not named:
        names = _caller_names(sys._getframe(1))
        named = {names.get(id(t), f"leaf{i}"): t for i, t in enumerate(found.leaves())}
    label = name or _caller_names(sys._getframe(1)).get(id(output), "the output")
    rows = [_row(key, tensor, found) for key, tensor in named.items()]
    return Explanation(label, rows, _notes(output, label))


def why_not(outputs, params) -> dict:
    """``{name: reason}``: why no gradient of ``outputs`` (a list of tensors) reaches each
    parameter, "" for those it reaches; for callers that already know who got none (DDP)."""
    found = walk(list(outputs))
    return {key: _row(key, t, found).reason for key, t in named_tensors(params).items()}


def _row(name: str, tensor: Tensor, found: Walk) -> Row:
    key = id(tensor)
    reached = key in found.items
    cut = found.first_cut.get(key) if reached else None
    receives = reached and cut is LIVE and tensor.requires_grad
    norm = None
    grad = grad_tensor(tensor) if receives else None
    if grad is not None:
        data = grad._data
        norm = float(np.sqrt(np.vdot(data, data).real))
    reasons = []
    if not tensor.requires_grad:
        reasons.append(_frozen(tensor))
    if reached and cut is not LIVE:
        reasons.append(_cut_reason(cut))
    if not reached and tensor.requires_grad:
        reasons.append("not used by this output")
    return Row(name, tuple(tensor.shape), receives, norm, reasons)


def _frozen(tensor: Tensor) -> str:
    extra = tensor._extra
    record = extra.prov if extra is not None else None
    if record is not None and record.kind == "frozen":
        return f"frozen: requires_grad=False (set at {record.where})"
    return "frozen: requires_grad=False"


def _cut_reason(record: Record) -> str:
    kind = record.kind
    if kind == "detach":
        return f"the only path to the output passes `{_source(record)}.detach()` at {record.where}"
    if kind in ("no_grad", "inference_mode"):
        return f"the only path to the output was computed inside `{kind}()` at {record.where}"
    if kind == "non_differentiable":
        return (
            f"the output reaches it only through {record.op} (not differentiable) at {record.where}"
        )
    return f"the path stops at {record.where}"


def _source(record: Record) -> str:
    from glassgrad.autograd.provenance import _source_name

    return _source_name(record) or "tensor"


def _notes(output: Tensor, label: str) -> list:
    """Whole-output findings: the classic leaf loss made to require grad by hand."""
    if output._grad_fn is not None:
        return []
    extra = output._extra
    record = extra.prov if extra is not None else None
    if output._requires_grad:
        where = (
            f" (requires_grad set by hand at {record.where})"
            if (record is not None and record.kind == "by_hand")
            else ""
        )
        return [
            f"{label} is a leaf tensor that requires grad{where}: backward() runs but "
            "reaches no parameter; compute the loss from the model's output without "
            "detach(), .item() or no_grad() instead"
        ]
    item = root_item(output)
    if isinstance(item, Record):
        from glassgrad.autograd.provenance import describe

        return [f"{label} has no gradient path: {describe(item)}"]
    return [f"{label} depends on no tensor that requires grad"]


def _caller_names(frame) -> dict:
    """``id(tensor) -> variable name`` for tensors bound in ``frame`` and the frames above it."""
    names: dict = {}
    while frame is not None:
        for key, value in list(frame.f_locals.items()):
            if isinstance(value, Tensor):
                names.setdefault(id(value), key)
                if value._grad_fn is not None:
                    names.setdefault(id(value._grad_fn), key)
                extra = value._extra
                if extra is not None and extra.prov is not None:
                    names.setdefault(id(extra.prov), key)
        frame = frame.f_back
    return names
