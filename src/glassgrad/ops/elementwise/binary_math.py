"""Two-input elementwise math: ``logaddexp``, ``logaddexp2``, ``hypot``, ``xlogy``,
``copysign``, ``fmax``, ``fmin``, ``heaviside``, and the one-input ``signbit``.

Operands promote as in the arithmetic ops (``binary._promote``); the float-only ops refuse two
integer operands with PyTorch's NotImplementedError, and those that compute integers in floats
(``xlogy``, ``copysign``) use the default float dtype.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, needs_grad, result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import binary_samples, scalar_samples, shaped
from glassgrad.ops.elementwise.arith import NotImplementedNode, _need_tensor
from glassgrad.ops.elementwise.binary import _promote
from glassgrad.ops.elementwise.unary import elementwise
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor

_LN2 = math.log(2.0)


def _floats(name, input, other, integers="refuse"):
    """Promoted arrays; integer results refused (``"refuse"``) or computed in the default float."""
    ad, bd = _promote(input, other)
    if not _floating(ad):
        if integers == "refuse":
            raise NotImplementedError(
                f"\"{name}_cpu\" not implemented for '{input.dtype._legacy[:-6]}'"
            )
        ad = ad.astype(_dt.get_default_dtype().np)
        bd = bd.astype(ad.dtype) if isinstance(bd, np.ndarray) else bd
    return ad, bd


def _two(name, forward, cls, input, other):
    """The body of a float-only op of two tensors that saves both inputs."""
    _need_tensor(name, input, other)
    ad, bd = _floats(name, input, other)
    with np.errstate(all="ignore"):
        out = forward(ad, bd)
    return result(out, cls, (input, other), (input, other))


# -- logaddexp, logaddexp2, hypot ------------------------------------------------------------
def _softmax_pair(grad, a, b, exp):
    # d/da log(e^a + e^b) = 1 / (1 + e^(b - a)): PyTorch's grad / (1 + exp(b - a)), whose last
    # node is a division; exp overflow to inf gives 0 as it should
    return grad / (1 + exp(b - a)), grad / (1 + exp(a - b))


LogaddexpBackward0 = node_class(
    "LogaddexpBackward0",
    quiet(lambda ctx, grad, a, b: _softmax_pair(grad, a, b, D.exp)),
    jvp=ELEMENTWISE,
)
Logaddexp2Backward0 = node_class(
    "Logaddexp2Backward0",
    quiet(lambda ctx, grad, a, b: _softmax_pair(grad, a, b, lambda x: D.exp(x * _LN2))),
    jvp=ELEMENTWISE,
)


def logaddexp(input, other):
    """``log(exp(input) + exp(other))`` without overflow."""
    return _two("logaddexp", np.logaddexp, LogaddexpBackward0, input, other)


def logaddexp2(input, other):
    """``log2(2**input + 2**other)`` without overflow."""
    return _two("logaddexp2", np.logaddexp2, Logaddexp2Backward0, input, other)


def _hypot_backward(ctx, grad, a, b, out):
    # PyTorch's grad * a / result (its last node a division)
    return (None if a is None else grad * a / out), (None if b is None else grad * b / out)


HypotBackward0 = node_class("HypotBackward0", quiet(_hypot_backward), jvp=ELEMENTWISE)


def hypot(input, other):
    """``sqrt(input**2 + other**2)`` without overflow."""
    _need_tensor("hypot", input, other)
    ad, bd = _floats("hypot", input, other)
    # as in PyTorch, each operand is saved only for its own gradient
    saved = (input if needs_grad(input) else None, other if needs_grad(other) else None, OUT)
    return result(np.hypot(ad, bd), HypotBackward0, (input, other), saved)


# -- xlogy -----------------------------------------------------------------------------------
def _xlogy_self(grad, x, y):
    # PyTorch's xlogy(grad, y): 0 where grad is 0 (a log(y) of nan or -inf there does not
    # leak), nan where y is; then 0 where x is 0 and y <= 0. Recorded as those two ops.
    data = [v if D._is_array(v) or not isinstance(v, Tensor) else v._data for v in (x, y)]
    zero = (data[0] == 0) & (data[1] <= 0)
    if D._is_array(grad):
        with np.errstate(all="ignore"):
            values = _xlogy_values(grad, data[1])
        return np.where(zero, 0, values).astype(values.dtype, copy=False)
    from glassgrad.creation import as_tensor

    return xlogy(grad, y).masked_fill(as_tensor(zero), 0.0)


XlogyBackward0 = node_class(
    "XlogyBackward0",
    quiet(lambda ctx, grad, x, y: (_xlogy_self(grad, x, y), grad * x / y)),
    jvp=ELEMENTWISE,
)
XlogyBackward1 = node_class(
    "XlogyBackward1", quiet(lambda ctx, grad, y: (grad * ctx._args / y,)), jvp=ELEMENTWISE
)
XlogyBackward2 = node_class(
    "XlogyBackward2",
    quiet(lambda ctx, grad, x: (_xlogy_self(grad, x, ctx._args),)),
    jvp=ELEMENTWISE,
)


def _xlogy_values(x, y):
    return np.where(np.isnan(y), np.nan, np.where(x == 0, 0.0, x * np.log(y))).astype(
        np.result_type(x, y), copy=False
    )


def xlogy(input, other):
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is nan)."""
    if not isinstance(input, Tensor):  # a number times the log of a tensor
        ad, bd = _floats("xlogy", other, input, integers="float")
        with np.errstate(all="ignore"):
            values = _xlogy_values(np.asarray(bd, ad.dtype), ad)
        return result(values, XlogyBackward1, (other,), (other,), args=input)
    ad, bd = _floats("xlogy", input, other, integers="float")
    with np.errstate(all="ignore"):
        values = _xlogy_values(ad, as_data(bd, ad.dtype))
    if not isinstance(other, Tensor):
        return result(values, XlogyBackward2, (input,), (input,), args=other)
    return result(values, XlogyBackward0, (input, other), (input, other))


# -- copysign, fmax, fmin --------------------------------------------------------------------
def _copysign_self(grad, a, out):
    # PyTorch's out / a, masked to 0 where a == 0 (so +-inf gives NaN, as there)
    zero = (a if D._is_array(a) else a._data) == 0
    return grad * D.where(zero, D.zeros_like(out), out / D.where(zero, D.zeros_like(a) + 1, a))


CopysignBackward0 = node_class(
    "CopysignBackward0",
    lambda ctx, grad, a, out: (
        None if a is None else _copysign_self(grad, a, out),
        D.zeros_like(grad),
    ),
    jvp=ELEMENTWISE,
)
CopysignBackward1 = node_class(
    "CopysignBackward1", lambda ctx, grad, a, out: (_copysign_self(grad, a, out),), jvp=ELEMENTWISE
)


def copysign(input, other):
    """The magnitude of ``input`` with the sign of ``other`` (integers compute in floats)."""
    ad, bd = _floats("copysign", input, other, integers="float")
    values = as_data(np.copysign(ad, bd)).astype(ad.dtype, copy=False)
    if isinstance(other, Tensor):
        # PyTorch saves input for input's gradient only, and its result always (a later
        # in-place write to the result fails the backward even when only other needs a grad)
        saved = (input if needs_grad(input) else None, OUT)
        return result(values, CopysignBackward0, (input, other), saved)
    return result(values, CopysignBackward1, (input,), (input, OUT))


def _pick_backward(ctx, grad, a, b):
    # the first operand wins ties and wherever the second is nan (PyTorch's masks)
    first = (a >= b if ctx._args else a <= b) | D.call("isnan", b)
    zero = D.zeros_like(grad)
    return D.where(first, grad, zero), D.where(first, zero, grad)


FmaxBackward0 = node_class("FmaxBackward0", _pick_backward, jvp=ELEMENTWISE)
FminBackward0 = node_class("FminBackward0", _pick_backward, jvp=ELEMENTWISE)
FmaxBackward0._other_first = FminBackward0._other_first = True  # (see Node)


def _pick(a, b, larger):
    # PyTorch's kernel keeps the first operand on ties (fmax(-0.0, 0.0) is -0.0) and where the
    # second is nan; np.fmax may return either zero
    with np.errstate(invalid="ignore"):
        first = (a >= b if larger else a <= b) | np.isnan(b)
    return np.where(first, a, b)


def fmax(input, other):
    """Elementwise maximum that ignores nan (nan only where both are nan)."""
    _need_tensor("fmax", input, other)
    ad, bd = _promote(input, other)
    return result(_pick(ad, bd, True), FmaxBackward0, (input, other), (input, other), args=True)


def fmin(input, other):
    """Elementwise minimum that ignores nan (nan only where both are nan)."""
    _need_tensor("fmin", input, other)
    ad, bd = _promote(input, other)
    return result(_pick(ad, bd, False), FminBackward0, (input, other), (input, other), args=False)


# -- heaviside, signbit ----------------------------------------------------------------------
def heaviside(input, values):
    """The step function: 0 below zero, 1 above, ``values`` at zero (no derivative)."""
    if not isinstance(input, (Tensor, np.generic)):  # (NumPy scalars fail elsewhere, as in PyTorch)
        raise TypeError(
            f"heaviside(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )
    if not isinstance(values, Tensor):
        raise TypeError(
            "heaviside(): argument 'values' (position 2) must be Tensor, not "
            f"{type(values).__name__}"
        )
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    ad, bd = _promote(input, values)
    steps = np.where(ad == 0, bd, (ad > 0)).astype(ad.dtype, copy=False)
    return result(steps, NotImplementedNode, (input, values), args="heaviside")


signbit = elementwise("signbit", np.signbit, None, None, kind="any", out="signbit")


def _xlogy_samples(make, shape):
    zeros = np.where(make(shape) > 0, make(shape), 0.0)  # x == 0 exercises the mask
    return scalar_samples(make, shape, 0.5, 2.0) + [((zeros, make(shape, low=0.5)), {})]


def _fm_edges(rng):
    nan = np.nan
    a = np.array([1.0, nan, 2.0, nan, 0.5])
    b = np.array([1.0, 3.0, nan, nan, -0.5])
    return [((a, b), {})]


for _name, _fn, _samples, _reference in (
    ("logaddexp", logaddexp, binary_samples, np.logaddexp),
    ("logaddexp2", logaddexp2, binary_samples, np.logaddexp2),
    ("hypot", hypot, binary_samples, np.hypot),
    ("xlogy", xlogy, _xlogy_samples, lambda x, y: _xlogy_values(np.asarray(x), np.asarray(y))),
    ("copysign", copysign, scalar_samples, np.copysign),
    ("fmax", fmax, binary_samples, np.fmax),
    ("fmin", fmin, binary_samples, np.fmin),
):
    register(
        _name,
        _fn,
        nin=2,
        samples=shaped(_samples),
        reference=_reference,
        any_shape=True,
        edge_samples=_fm_edges if _name in ("fmax", "fmin") else None,
        out="cast",
    )
register(
    "heaviside",
    heaviside,
    nin=2,
    samples=shaped(lambda make, shape: [((np.round(make(shape)), make(shape)), {})]),
    reference=lambda x, v: np.where(x == 0, v, x > 0).astype(x.dtype),
    any_shape=True,
    differentiable=False,
    out={"dtype": "heaviside", "out_grad_name": "aten::heaviside"},
)
