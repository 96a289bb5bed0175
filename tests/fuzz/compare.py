"""Compares two traces of one program, and reduces a failing program to its needed lines."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import torch

import glassgrad

from .runner import Program, run

FIELDS = ("kind", "dtype", "shape", "requires_grad", "is_leaf", "grad_fn", "values")
TOLERANCE = {"float32": 2e-3, "float64": 1e-6, "float16": 2e-2, "bfloat16": 5e-2}


@dataclass(frozen=True)
class Mismatch:
    """Where two traces first differ: the step (or ``final``/``grad``/``hooks``), what differs."""

    where: str
    tag: str
    field: str
    detail: str

    @property
    def cls(self) -> str:
        """The mismatch class: which variant and which property."""
        return f"{self.tag} / {self.field}"


# Deliberate departures from PyTorch: (variant regex, field regex, detail regex, reason). A
# mismatch matching one is not a failure. Keep each with its reason; remove it once it is gone.
DEPARTURES = [
    (
        r"^(kthvalue|topk|sort|argsort|msort|median|nanmedian|mode|cummax|cummin|max|min):",
        r"values",
        r"^(\[0\])?\[1\]",
        "which index PyTorch reports among equal values depends on its kernel (not stable)",
    ),
    (r"^(bucketize|searchsorted):", r"values", r"", "boundaries drawn unsorted: undefined"),
    (r"^unique:", r"values", r"NaN", "unique(dim=...) orders slices holding NaN as its sort does"),
    (
        r"^special_\w*polynomial",
        r"values",
        r"NaN at different places",
        "PyTorch's special polynomials return leftover memory for NaN input (chebyshev_u(nan, 3)"
        " gives 2.9e-08, legendre_p(nan, 3) 4.6e-41): glassgrad gives NaN",
    ),
    (
        r"^(median|nanmedian):",
        r"values",
        r"",
        "PyTorch's median/nanmedian of an expand()ed input sorts the aliased memory in place and "
        "returns wrong values ([1.25, -1.83].expand(2, 2).nanmedian(0) gives [-1.83, -1.83])",
    ),
    (
        r"^(maximum|minimum|fmax|fmin|max|min|clamp|amax|amin|aminmax|kthvalue|median|nanmedian|"
        r"mode|sort|msort|topk|unique|cummax|cummin|max_pool\w*|adaptive_max_pool\w*):",
        r"values",
        r"^(\[\d\])*signs of zero differ",
        "which of two equal values -0.0 and 0.0 PyTorch returns depends on its kernel: "
        "maximum(-0.0, 0.0) is -0.0 for 4 elements and 0.0 for 64 (the vectorised loop returns "
        "the second operand), and sorts and selections are not stable",
    ),
    (
        r"^softshrink:",
        r"values",
        r"^(\[\d\])*signs of zero differ",
        "PyTorch's softshrink gives +0.0 for |x| <= lambd inside its vectorised loop (whole blocks "
        "of 8 float64 or 16 float32 on AVX2) and x's own sign in the scalar tail: the zero's sign "
        "depends on the element's position and on the CPU's vector width",
    ),
    (
        r"^(pinverse|linalg_pinv|pinv):",
        r"values",
        r"values differ \(max error \d(\.\d+)?e\+(0[3-9]|[1-9]\d)\)",
        "pinverse (rcond=1e-15) of an exactly rank-deficient float32 matrix (the fuzzer's "
        "index_select repeats columns): the 'zero' singular values are rounding noise near "
        "1e-8, above the cutoff, and their inverses (~1e8) dominate; their size depends on the "
        "LAPACK build's rounding (MKL's vs NumPy's OpenBLAS), not on semantics",
    ),
    (
        r"^qr:",
        r"values",
        r"",
        "QR of a rank-deficient matrix (the fuzzer's in-place fills make equal rows): the "
        "columns of Q past the rank are any orthonormal completion, and which one LAPACK's "
        "Householder steps give depends on rounding",
    ),
    (
        r"^inplace:copy$",
        r"values",
        r"",
        "copy_ from a view of the destination itself (x.copy_(x.unbind(-1)[2])): PyTorch's "
        "kernel copies element by element in memory order, so later elements read values it "
        "has already overwritten; glassgrad copies the source as it was before the write",
    ),
    (
        r"^(remainder|fmod):",
        r"values",
        r"values differ \(max error \d(\.\d+)?e-0[5-9]\)",
        "remainder/fmod multiply a float32 rounding difference (1 ulp) in an earlier result by "
        "their quotient: remainder(1.82, -0.0518) turns 1.2e-7 into 4e-6",
    ),
    (
        r"",
        r"missing raise",
        r"ZeroTensors are immutable",
        "PyTorch's sgn/sign backward stores an internal ZeroTensor as .grad, and a second "
        "backward that accumulates into it raises; glassgrad's .grad is ordinary zeros",
    ),
    (
        r"",
        r"values",
        r"Cannot convert a ZeroTensor",
        "PyTorch's sgn/sign backward gives an internal ZeroTensor (as .grad or from "
        "autograd.grad), which .numpy() refuses; glassgrad gives ordinary zeros",
    ),
]

# Mismatch classes that other work on issue 11 owns; listed so the fast profile stays green
# meanwhile. Each entry goes once its fix lands.
PENDING = [
    (
        r"",
        r"grad_fn",
        r"vs AsStridedBackward0",
        "issue 11 views: a view's node once its base changed in place (after base.detach_() "
        "too) is AsStridedBackward0 in PyTorch",
    ),
]

# Found by this fuzzer and not fixed yet: each entry says exactly what differs and why.
OPEN = [
    (
        r"^matmul:",
        r"exception message",
        r"addmv input tensors must have the same dtype",
        "matmul of a float64 vector and a float32 batch: PyTorch's message comes from addmv "
        "(mixed dtypes: another helper's area)",
    ),
    (
        r"^autograd.grad$",
        r"^grad_fn$",
        r" vs \w*Backward\w*Backward0$",
        "a create_graph gradient through an op whose backward is one fused ATen kernel "
        "(softplus_backward, elu_backward, _softmax_backward_data, native_layer_norm_backward, "
        "convolution_backward...) ends in that kernel's own node (SoftplusBackwardBackward0); "
        "glassgrad records the elementary ops of the same formula (MulBackward0)",
    ),
]


# Lines whose values are gradients (see ``_differ``'s ``zeros``).
GRADIENT_TAGS = {"autograd.grad", "autograd.grad2", "backward"}  # (second order too)


def excused(mismatch: Mismatch) -> str | None:
    for tag, field, detail, reason in DEPARTURES + PENDING + OPEN:
        if (
            re.search(tag, mismatch.tag)
            and re.search(field, mismatch.field)
            and re.search(detail, mismatch.detail)
        ):
            return reason
    return None


def _close(got, want, dtype, zeros=True) -> str | None:
    if got.shape != want.shape:
        return f"value shape {got.shape} vs {want.shape}"
    if got.dtype.kind not in "fc" or want.dtype.kind not in "fc":
        return None if np.array_equal(got, want) else f"{got!r} vs {want!r}"
    got, want = got.astype(np.float64), want.astype(np.float64)
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return f"NaN at different places: {got!r} vs {want!r}"
    finite = np.isfinite(want)
    if not np.array_equal(got[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)]):
        return f"infinities differ: {got!r} vs {want!r}"
    if not np.array_equal(np.isfinite(got), finite):
        return f"finite vs infinite: {got!r} vs {want!r}"
    both = (got == 0) & (want == 0)
    if zeros and not np.array_equal(np.signbit(got[both]), np.signbit(want[both])):
        return f"signs of zero differ: {got!r} vs {want!r}"
    if not finite.any():
        return None
    rtol = TOLERANCE.get(dtype.replace("torch.", ""), 1e-6)
    scale = max(1.0, float(np.abs(want[finite]).max()))
    error = np.abs(got[finite] - want[finite])
    if (error <= rtol * (np.abs(want[finite]) + scale)).all():
        return None
    return f"values differ (max error {error.max():.3g}): {got!r} vs {want!r}"


def _differ(got, want, path="", zeros=True) -> tuple[str, str] | None:
    """``(field, detail)`` of the first difference between two snapshots, else None.

    ``zeros``: whether the signs of zeros count. Not in gradients: which of +-0.0 a backward
    formula gives depends on the order of its products (grad * 0 * -x), not on semantics."""
    if got[0] != want[0] or len(got) != len(want):
        return "kind", f"{path}{_short(got)} vs {_short(want)}"
    if got[0] == "raise":
        if got[1] != want[1]:
            return "exception type", f"{path}{got[1]}: {got[2]} vs {want[1]}: {want[2]}"
        if got[2] != want[2]:
            return "exception message", f"{path}{got[2]!r} vs {want[2]!r}"
        return None
    if got[0] == "seq":
        if len(got[2]) != len(want[2]):
            return "length", f"{path}{len(got[2])} vs {len(want[2])}"
        for index, (g, w) in enumerate(zip(got[2], want[2], strict=True)):
            found = _differ(g, w, f"{path}[{index}]", zeros)
            if found:
                return found
        return None
    if got[0] in ("py", "other"):
        return None if got[1:] == want[1:] else ("value", f"{path}{got[1:]} vs {want[1:]}")
    for name, g, w in zip(FIELDS[1:], got[1:], want[1:], strict=True):
        if (
            isinstance(w, tuple)
            and w[:1] == ("raise",)
            or isinstance(g, tuple)
            and g[:1] == ("raise",)
        ):
            if repr(g) != repr(w):
                return name, f"{path}{_short(g)} vs {_short(w)}"
            continue
        if name == "values":
            problem = _close(g, w, str(want[1]), zeros)
            if problem:
                return "values", path + problem
        elif g != w:
            return name, f"{path}{g} vs {w}"
    return None


def _short(value):
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."


def compare(program: Program, want=None, got=None) -> Mismatch | None:
    """The first difference between PyTorch's and glassgrad's runs of ``program``."""
    if os.environ.get("FUZZ_LAST"):  # a crash in either library leaves its program here
        with open(os.environ["FUZZ_LAST"], "w") as file:
            file.write(program.source())
    want = run(torch, program) if want is None else want
    got = run(glassgrad, program) if got is None else got
    for line, outcome in zip(program.lines, want[0], strict=True):
        line.raises = outcome[0] == "raise"
    for index, (line, w, g) in enumerate(zip(program.lines, want[0], got[0], strict=True)):
        if w[0] != g[0]:
            field = "missing raise" if w[0] == "raise" else "unexpected raise"
            return Mismatch(f"line {index + 1}", line.tag, field, f"{_short(g)} vs {_short(w)}")
        zeros = line.tag not in GRADIENT_TAGS
        found = (
            _differ(("seq", True, g[1]), ("seq", True, w[1]), zeros=zeros)
            if w[0] == "ok"
            else _differ(g, w)
        )
        if found:
            return Mismatch(f"line {index + 1}", line.tag, found[0], found[1])
    for part, w_items, g_items in (("final", want[1], got[1]), ("grad", want[2], got[2])):
        for expr, w, g in zip(program.watch, w_items, g_items, strict=True):
            zeros = part == "final" and _last_tag(program, expr) not in GRADIENT_TAGS
            found = _differ(g, w, zeros=zeros)
            if found:
                return Mismatch(
                    f"{part} {expr}", _last_tag(program, expr), part + " " + found[0], found[1]
                )
    w_log, g_log = want[3], got[3]
    if [t for t, _ in w_log] != [t for t, _ in g_log]:
        return Mismatch("hooks", "hooks", "hook calls", f"{g_log} vs {w_log}")
    for (tag, w), (_, g) in zip(w_log, g_log, strict=True):
        found = _differ(g, w, zeros=False)
        if found:
            return Mismatch(f"hook {tag}", "hooks", "hook " + found[0], found[1])
    return None


def _last_tag(program, expr):
    """The variant of the last line that defined or touched ``expr``'s variable."""
    root = expr.split("[")[0]
    for line in reversed(program.lines):
        if re.search(rf"\b{root}\b", line.src.split("=")[0]) or root in line.snap:
            return line.tag
    return "?"


def reduce(program: Program, mismatch: Mismatch) -> Program:
    """Drop lines (and watched expressions) while the same mismatch class still shows."""
    current = program
    changed = True
    while changed:
        changed = False
        for index in reversed(range(len(current.lines))):
            lines = current.lines[:index] + current.lines[index + 1 :]
            trial = Program(lines, list(current.watch))
            if _same_class(trial, mismatch):
                current, changed = trial, True
        for index in reversed(range(len(current.watch))):
            watch = current.watch[:index] + current.watch[index + 1 :]
            trial = Program(list(current.lines), watch)
            if _same_class(trial, mismatch):
                current, changed = trial, True
    return current


def _same_class(program, mismatch):
    try:
        found = compare(program)
    except Exception:  # noqa: BLE001 - a harness error is not the same mismatch
        return False
    return found is not None and found.cls == mismatch.cls
