"""The table ``explain`` returns: rows per parameter, gradient norms per module, findings about
the whole output (vanishing or exploding gradients, where NaN/inf appeared, a leaf loss)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassgrad.autograd import introspect
from glassgrad.autograd.provenance import Record, describe
from glassgrad.glass import _causes
from glassgrad.glass._walk import root_item
from glassgrad.glass.report import explanation_html

__all__ = ["Row", "Explanation", "ModuleFlow", "Finding", "STATUSES"]

STATUSES = {
    "ok": "a nonzero, finite gradient arrives",
    "zero": "a gradient arrives but is exactly zero",
    "nonfinite": "the gradient holds NaN or inf",
    "pending": "a gradient will arrive (backward not run yet)",
    "not_in_optimizer": "a gradient arrives but no optimizer param group holds the tensor",
    "cut": "the tensor was used, but the path from the output stops on the way",
    "unused": "the output was not computed from the tensor",
    "no_path": "no gradient path, and provenance records were off, so why is unknown",
    "frozen": "requires_grad=False",
    "non_leaf": "the tensor is the result of an op; its .grad stays None",
}
"""Every status a row can have, with what it means."""

RECEIVES = ("ok", "zero", "nonfinite", "pending", "not_in_optimizer")
# first-to-last module gradient norm ratios beyond these are flagged
VANISHING, EXPLODING = 1e-3, 1e3


@dataclass
class Row:
    """One parameter (all its names, for a tied weight): status, cause, mechanism, line, norms."""

    names: tuple
    shape: tuple
    module: str
    status: str
    cause: str = ""
    mechanism: str = ""
    where: str = ""
    grad_norm: float | None = None
    grad_mean_abs: float | None = None
    grad_max_abs: float | None = None
    tensors: tuple = field(default=(), repr=False, compare=False)

    @property
    def name(self) -> str:
        """The first name the tensor was found under."""
        return self.names[0]

    @property
    def receives(self) -> bool:
        """Whether a gradient of the output reaches the tensor's ``.grad``."""
        return self.status in RECEIVES

    @property
    def reason(self) -> str:
        """The cause ("" when a useful gradient arrives)."""
        return self.cause

    @property
    def reasons(self) -> list:
        """The cause as a list (empty when a useful gradient arrives)."""
        return self.cause.split("; and ") if self.cause else []

    def set(self, status: str, cause) -> Row:
        """Record ``status`` and a ``Cause``; return the row."""
        self.status, self.cause, self.mechanism, self.where = (
            status,
            cause.text,
            cause.mechanism,
            cause.where,
        )
        return self

    def measure(self, grad) -> None:
        """Fill in the norms from the gradient array."""
        magnitude = np.abs(grad)
        self.grad_norm = float(np.sqrt(np.vdot(grad, grad).real))
        self.grad_mean_abs = float(magnitude.mean()) if magnitude.size else 0.0
        self.grad_max_abs = float(magnitude.max()) if magnitude.size else 0.0


@dataclass
class ModuleFlow:
    """Gradient size of the parameters one module owns directly, in model order."""

    name: str
    n_params: int
    grad_norm: float
    grad_mean_abs: float
    grad_max_abs: float


@dataclass
class Finding:
    """Something about the whole output: vanishing/exploding gradients, NaN, a leaf loss."""

    kind: str
    cause: str
    mechanism: str = ""
    where: str = ""


@dataclass
class Explanation:
    """The table ``explain`` returns: printable, and its rows as data."""

    output: str
    rows: list
    modules: list = field(default_factory=list)
    findings: list = field(default_factory=list)

    @property
    def notes(self) -> list:
        """The findings as sentences."""
        return [finding.cause for finding in self.findings]

    def __str__(self) -> str:
        head = ("parameter", "shape", "gradient", "status", "why")
        body = [
            (
                " = ".join(r.names),
                "x".join(map(str, r.shape)) or "scalar",
                _grad_text(r),
                r.status,
                r.cause,
            )
            for r in self.rows
        ]
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(4)]
        lines = [f"gradient flow to {self.output}:"]
        for row in [head, *body]:
            cells = [text.ljust(width) for text, width in zip(row[:4], widths, strict=True)]
            lines.append("  ".join([*cells, row[4]]).rstrip())
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """Jupyter shows the table as HTML."""
        return explanation_html(self)

    def __getitem__(self, name: str) -> Row:
        for row in self.rows:
            if name in row.names:
                return row
        raise KeyError(name)


def _grad_text(row: Row) -> str:
    if row.grad_norm is None:
        return "-"
    return f"norm {row.grad_norm:.4g}"


def module_flows(rows: list) -> list:
    """Per owning module (in the rows' order), the size of its parameters' gradients."""
    grouped: dict = {}
    for row in rows:
        if row.grad_norm is not None:
            grouped.setdefault(row.module, []).append(row)
    flows = []
    for name, members in grouped.items():
        count = sum(int(np.prod(r.shape)) for r in members)
        norm = float(np.sqrt(sum(r.grad_norm**2 for r in members)))
        mean = sum(r.grad_mean_abs * int(np.prod(r.shape)) for r in members) / max(count, 1)
        flows.append(
            ModuleFlow(name, len(members), norm, mean, max(r.grad_max_abs for r in members))
        )
    return flows


def whole_output(output, label: str, found, rows: list, modules: list, names=None) -> list:
    """Findings about the output as a whole."""
    findings = _leaf_output(output, label)
    findings += _unlisted(found, rows, names or {})
    findings += _ratio(modules)
    if not np.isfinite(output.numpy(force=True)).all():
        findings.append(_forward_nonfinite(label, found))
    return findings


def _unlisted(found, rows: list, names: dict) -> list:
    """Leaves that require grad and get a gradient of the output but are not among the listed
    parameters: often weights kept in a plain list or dict, so no optimizer sees them."""
    if not rows:
        return []
    listed = {id(t) for row in rows for t in row.tensors}
    extra = [
        item
        for key, item in found.items.items()
        if found.first_cut.get(key, 0) is None
        and key not in listed
        and hasattr(item, "requires_grad")
        and item.requires_grad
        and item.grad_fn is None
    ]
    if not extra:
        return []
    shown = ", ".join(
        f"`{names[id(t)]}`" if id(t) in names else "x".join(map(str, t.shape)) or "scalar"
        for t in extra
    )
    text = (
        f"{len(extra)} more tensor(s) that require grad feed the output but are not among the "
        f"parameters explained ({shown}): if they are weights, register them (nn.Parameter, "
        "nn.ParameterList or nn.ModuleList instead of a plain list) so optimizers see them"
    )
    return [Finding("unlisted", text, "unregistered")]


def _ratio(modules: list) -> list:
    sized = [m for m in modules if m.grad_norm > 0 and np.isfinite(m.grad_norm)]
    if len(sized) < 2:
        return []
    first, last = sized[0], sized[-1]
    ratio = first.grad_norm / last.grad_norm
    if VANISHING <= ratio <= EXPLODING:
        return []
    kind = "vanishing" if ratio < VANISHING else "exploding"
    return [
        Finding(
            kind,
            f"{kind} gradients: the first module with parameters ({first.name or 'top level'}, "
            f"norm {first.grad_norm:.3g}) gets {ratio:.3g} times the gradient of the last "
            f"({last.name or 'top level'}, norm {last.grad_norm:.3g})",
            kind,
        )
    ]


def _forward_nonfinite(label: str, found) -> Finding:
    """The oldest node whose saved values hold NaN/inf: the forward pass had them by then."""
    nodes = sorted(
        (n for n in found.items.values() if isinstance(n, introspect.Node)), key=introspect.seq
    )
    for node in nodes:
        made = _causes.nonfinite_forward(node)
        if made is not None:
            where = introspect.created_at(node) or ""
            text = f"{label} is NaN/inf; it first appears at {introspect.name(node)}: {made}"
            return Finding("nonfinite", text + (f" ({where})" if where else ""), "nonfinite", where)
        values = introspect.saved_values(node) or ()
        if any(
            hasattr(v, "dtype") and v.dtype.kind in "fc" and not np.isfinite(v).all()
            for v in values
        ):
            where = introspect.created_at(node) or ""
            op = introspect.name(node)
            text = f"{label} is NaN/inf; the forward pass first holds NaN/inf at {op}"
            return Finding("nonfinite", text + (f" ({where})" if where else ""), "nonfinite", where)
    return Finding(
        "nonfinite",
        f"{label} is NaN/inf (run the forward under torch.autograd.detect_anomaly() to find "
        "the op)",
        "nonfinite",
    )


def _leaf_output(output, label: str) -> list:
    """The classic leaf loss made to require grad by hand; an output with no gradient path."""
    if output.grad_fn is not None:
        return []
    record = introspect.record(output)
    if output.requires_grad:
        by_hand = record is not None and record.kind == "by_hand"
        where = f" (requires_grad set by hand at {record.where})" if by_hand else ""
        text = (
            f"{label} is a leaf tensor that requires grad{where}: backward() runs but reaches no "
            "parameter; compute the loss from the model's output without detach(), .item() or "
            "no_grad() instead"
        )
        return [Finding("leaf_loss", text, "requires_grad=True", record.where if by_hand else "")]
    item = root_item(output)
    if isinstance(item, Record):
        return [Finding("no_path", f"{label} has no gradient path: {describe(item)}", item.how)]
    return [Finding("no_path", f"{label} depends on no tensor that requires grad")]
