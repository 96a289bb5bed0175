"""Causes: turn a record, an escape or a node's flow into (mechanism, source line, sentence).

``diagnose`` runs inside backward (registered as a flow observer) while a node's saved values
still exist: it says why a node sent on a zero gradient although a nonzero one reached it (a
dead ReLU, saturated sigmoid/tanh, clamp outside its range, a mask of zeros, an op whose
derivative is zero) or why a finite gradient came out NaN/inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassgrad.autograd import flows, introspect
from glassgrad.autograd.provenance import Record

__all__ = ["Cause", "of_record", "of_escape", "diagnose", "ZERO_DERIVATIVE"]

# ops whose derivative is zero wherever it exists: any gradient through them is exactly zero
ZERO_DERIVATIVE = {
    "RoundBackward0": "round",
    "RoundBackward1": "round",
    "FloorBackward0": "floor",
    "CeilBackward0": "ceil",
    "SignBackward0": "sign",
    "SgnBackward0": "sgn",
    "TruncBackward0": "trunc",
}


@dataclass
class Cause:
    """Why a gradient stops or arrives useless: the mechanism, the user's line, a sentence."""

    mechanism: str
    where: str
    text: str


def _where(record: Record) -> str:
    return "" if record.code is None else record.where


def of_record(record: Record) -> Cause:
    """The cause a provenance record stands for (a cut edge or a frozen leaf)."""
    kind, how, where = record.kind, record.how, record.where
    if kind == "detach":
        source = introspect.source_name(record) or "tensor"
        if how == ".data":
            text = f"the path to the output goes through `{source}.data` at {where}"
        elif how == "detach()":
            text = f"the only path to the output passes `{source}.detach()` at {where}"
        elif how == "detach_()":
            text = f"`{source}.detach_()` at {where} cut it out of the graph"
        else:
            text = f"its value left the graph and came back as a new tensor: {how} at {where}"
            if record.via is not None:
                text += f" (taken out at {record.via.where})"
        return Cause(how, _where(record), text)
    if kind in ("no_grad", "inference_mode"):
        text = f"the only path to the output was computed inside `{kind}()` at {where}"
        return Cause(how, _where(record), text + (f" (by {record.op})" if record.op else ""))
    if kind == "non_differentiable":
        text = f"the output reaches it only through {record.op} (not differentiable) at {where}"
        return Cause(record.op or "non-differentiable", _where(record), text)
    if kind == "frozen":
        if how == "detach_()":
            return Cause(how, _where(record), f"frozen by `detach_()` at {where}")
        return Cause(
            "requires_grad=False", _where(record), f"frozen: requires_grad=False (set at {where})"
        )
    return Cause(how, _where(record), f"the path stops at {where}")


def of_escape(record: Record) -> Cause:
    """The cause an escape stands for: a value computed from the tensor left the graph."""
    how = record.how
    kind = "a Python number" if how.endswith(("item()", "float()", "int()")) else "plain data"
    text = (
        f"a value computed from it left the graph through `{how}` at {record.where} "
        f"({kind} carries no gradient)"
    )
    return Cause(how, _where(record), text)


def _units(out) -> tuple:
    """(inactive units, units) of an activation output: axis 1 holds the units (features of a
    Linear's output, channels of a convolution's), every other axis is batch or position."""
    if out.ndim < 2:
        return int(not np.any(out > 0)), 1
    axes = tuple(i for i in range(out.ndim) if i != 1)
    active = np.any(out > 0, axis=axes)
    return int(active.size - np.count_nonzero(active)), int(active.size)


def _saved_arrays(node) -> list:
    values = introspect.saved_values(node) or ()
    return [np.asarray(v) for v in values if v is not None and hasattr(v, "shape")]


def _zeroed(node, arrays) -> tuple | None:
    """(mechanism, sentence) for a node that turned a nonzero gradient into zero."""
    name = introspect.name(node)
    if name in ZERO_DERIVATIVE:
        op = ZERO_DERIVATIVE[name]
        return op, f"it passes {op}, whose derivative is 0 everywhere"
    if name in ("ReluBackward0", "ThresholdBackward0") and arrays:
        dead, units = _units(arrays[-1])
        if not dead:
            return None
        what = f"all {units} units" if dead == units else f"{dead} of {units} units"
        return "ReLU", f"dead ReLU: {what} inactive (output 0 for every input of the batch)"
    if name == "SigmoidBackward0" and arrays:
        return "sigmoid", "saturated sigmoid: every output is 0 or 1, where its derivative is 0"
    if name == "TanhBackward0" and arrays:
        return "tanh", "saturated tanh: every output is -1 or 1, where its derivative is 0"
    if name.startswith(("Clamp", "Hardtanh")):
        return "clamp", f"every input of {name[:-9].lower()} lies outside its range"
    if name.startswith("MaskedFill"):
        return "mask", "masked_fill replaces every element (the mask is all True)"
    if name in ("MulBackward0", "DivBackward0") and any(not np.any(a) for a in arrays):
        return "mask", "it is multiplied by a tensor of zeros (a mask that masks out everything)"
    if name.startswith(("Addmm", "Mm", "Bmm", "Matmul", "Mv", "Convolution")) and any(
        not np.any(a) for a in arrays
    ):
        return _zero_input(node)
    if name.startswith(("Index", "Where", "MaskedSelect")):
        return "mask", f"{name[:-9]} selects nothing of it"
    return None


def _zero_input(node) -> tuple:
    """A layer whose input is all zeros: say where the zeros came from, if an op made them."""
    for src, _ in introspect.inputs(node):
        while src is not None and introspect.name(src) in ("TBackward0", "ViewBackward0"):
            src = introspect.inputs(src)[0][0]
        if src is None or introspect.leaf(src) is not None:
            continue
        found = _zeroed(src, _saved_arrays(src))
        if found is not None:
            where = introspect.created_at(src) or ""
            return found[0], f"the layer's input is all zeros; it comes from a {found[1]}", where
    return "zeros", "the layer's input is all zeros"


def diagnose(node, grad_inputs, grad_outputs):
    """Flow observer: a note ``(mechanism, sentence)`` for a node that turned a finite gradient
    into NaN/inf or zeroed a nonzero one; None for the others."""
    found = flows.flow(node)
    if found is None:
        return None
    op = introspect.name(node)
    if found.finite_in and not found.finite_out:
        arrays = introspect.saved_values(node) or ()
        if op == "DivBackward0" and len(arrays) == 2 and _has_zero(arrays[1]):
            return "division", "division by zero (the divisor holds 0)"
        return op[: op.rfind("Backward")].lower(), f"{op} turned a finite gradient into NaN/inf"
    # (an edge with no gradient path, a mask's, counts as zero in zero_each: not a cause)
    live = [src is not None for src, _ in introspect.inputs(node)]
    zeroed = [z and alive for z, alive in zip(found.zero_each, live, strict=False)]
    if not found.zero_in and any(zeroed):
        if any(shape is not None and 0 in shape for shape in introspect.input_shapes(node)):
            return _empty(node)
        return _zeroed(node, _saved_arrays(node)) or (
            op[: op.rfind("Backward")].lower(),
            f"{op} passes on a zero gradient",
        )
    return None


def _has_zero(value) -> bool:
    return value is not None and hasattr(value, "shape") and bool((np.asarray(value) == 0).any())


def _empty(node) -> tuple:
    """A reduction of an empty tensor (``loss[mask].mean()`` with a mask that selects
    nothing): name the op that made it empty, and its line."""
    src = introspect.inputs(node)[0][0]
    made = introspect.name(src) if src is not None else "an op"
    where = introspect.created_at(src) if src is not None else None
    text = f"its input is empty: {made[: made.rfind('Backward')]} selected no element (a mask "
    return "mask", text + "that selects nothing)", where or ""


_QUIET_TEXT = {
    "ReluBackward0": ("ReLU", "dead ReLU: all {} units inactive (output 0 for every input)"),
    "MulBackward0": (
        "mask",
        "it is multiplied by a tensor of zeros ({} elements: a mask that masks out everything)",
    ),
    "SigmoidBackward0": ("sigmoid", "saturated sigmoid: all {} units output 0 or 1"),
    "TanhBackward0": ("tanh", "saturated tanh: all {} units output -1 or 1"),
}


def _quiet(node):
    units = introspect.quiet(node)
    if units is None:
        return None
    mechanism, text = _QUIET_TEXT[introspect.name(node)]
    return mechanism, text.format(units), introspect.created_at(node) or ""


def structural(node):
    """What a node alone says about a zero gradient without flows (after backward freed the
    graph): a zero-derivative op, an activation that was all dead or saturated when it ran, or a
    layer whose input came from one."""
    name = introspect.name(node)
    op = ZERO_DERIVATIVE.get(name)
    if op is not None:
        return op, f"it passes {op}, whose derivative is 0 everywhere", ""
    found = _quiet(node)
    if found is not None:
        return found
    if name.startswith(("Addmm", "Mm", "Bmm", "Matmul", "Mv", "Convolution")):
        for src, _ in introspect.inputs(node):
            while src is not None and introspect.name(src) in ("TBackward0", "ViewBackward0"):
                src = introspect.inputs(src)[0][0]
            found = _quiet(src) if src is not None else None
            if found is not None:
                text = f"the layer's input is all zeros; it comes from a {found[1]}"
                return found[0], text, found[2]
    return None


if diagnose not in flows.observers:
    flows.observers.append(diagnose)


def nonfinite_forward(node):
    """Why ``node``'s forward made NaN/inf from finite inputs, from what it saved; or None."""
    name = introspect.name(node)
    if name.startswith("Mean") and any(
        shape is not None and 0 in shape for shape in introspect.input_shapes(node)
    ):
        return "mean of an empty tensor (a mask that selects nothing?)"
    arrays = _saved_arrays(node)
    if not arrays:
        return None
    if name.startswith("Log") and name[3:4] in ("B", "2", "1") and not name.startswith("LogS"):
        x = arrays[0]
        if np.isfinite(x).all() and (x <= 0).any():
            return f"log of {'a negative number' if (x < 0).any() else 'zero'}"
    values = introspect.saved_values(node) or ()
    if name == "DivBackward0" and len(values) == 2 and values[1] is not None:
        divisor = np.asarray(values[1])
        if np.isfinite(divisor).all() and (divisor == 0).any():
            return "division by zero"
    if name in ("SqrtBackward0", "RsqrtBackward0", "PowBackward0", "DivBackward0"):
        if any(not np.isfinite(a).all() for a in arrays):
            return f"{name[:-9].lower()} made NaN/inf"
    return None
