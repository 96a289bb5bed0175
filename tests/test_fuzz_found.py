"""Classes of mismatch the program fuzzer (tests/fuzz) found once its broad in-place/view excuse
was gone, each as a few lines run on PyTorch 2.13 and glassgrad: values (signed zeros
included), dtypes, shapes, flags, grad_fn names, gradients and exceptions must agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
from fuzz.compare import _differ
from fuzz.runner import raised, snapshot

X4 = [-0.0, 0.0, -1.0, 1.0]


def _grads_create_graph(lib, a, b, op):
    """``autograd.grad(create_graph=True)`` through a broadcast op: the gradients' nodes."""
    a = lib.tensor(a, dtype=lib.float64, requires_grad=True)
    b = lib.tensor(b, dtype=lib.float64, requires_grad=True)
    return lib.autograd.grad(op(a, b).sum(), [a, b], create_graph=True)


def _bmm_grads(lib):
    a = lib.ones(2, 2, 3, requires_grad=True)
    b = lib.ones(2, 3, 4, requires_grad=True)
    return lib.autograd.grad((lib.bmm(a, b) ** 2).sum(), [a, b], create_graph=True)


def _expanded_leaf_inplace(lib, write):
    leaf = lib.tensor([[0.77], [1.8], [0.65]], requires_grad=True)
    write(leaf.expand(2, 3, 4))


def _multi_view_setitem(lib, key, empty=False):
    base = lib.zeros((2, 0), requires_grad=True) if empty else lib.ones(2, 3).relu()
    if not empty:
        base.requires_grad_()
    part = base.unbind(0)[1]
    part[key] = 0.5


def _inference_unbind_inplace(lib):
    with lib.inference_mode():
        made = lib.index_select(lib.ones(3, 4), 1, lib.tensor([0, 3, 3]))
    made.unbind(0)[0].div_(lib.tensor(-1.5, requires_grad=True))


def _einsum_diagonal_inplace(lib):
    lib.einsum("ii->i", lib.ones(3, 3, requires_grad=True)).abs_()


def _polygamma(lib, n, dtype):
    x = [-2.0, -1.0, -0.0, 0.0, 0.5, 3.0, float("inf"), -float("inf"), float("nan")]
    return lib.special.polygamma(n, lib.tensor(x, dtype=getattr(lib, dtype)))


def _digamma_grad(lib):
    x = lib.tensor([-3.0, -1.0, 0.0, 2.5], dtype=lib.float64, requires_grad=True)
    lib.digamma(x).sum().backward()
    return x.grad


def _gammaincc_unneeded(lib):
    """No formula for the first input's gradient: PyTorch raises only when it is needed."""
    a = lib.tensor([1.5, 2.0], dtype=lib.float64, requires_grad=True)
    x = lib.tensor([0.5, 1.0], dtype=lib.float64, requires_grad=True)
    out = lib.special.gammaincc(a.exp(), x.clip(max=0.7)).sum()
    return lib.autograd.grad(out, [x], create_graph=True)


def _bce(lib, x, y):
    return lib.nn.functional.binary_cross_entropy(lib.tensor(x), lib.tensor(y))


def _view_then_requires_grad(lib):
    """A view made before its base was made to require grad, then multiplied."""
    base = lib.negative(lib.tensor(-1.25))
    view = base.t()
    base.requires_grad_()
    with lib.no_grad():
        base.atan_()
    (view * lib.tensor(0.5)).sum().backward(create_graph=True)
    return base.grad


def _inference_setitem(lib):
    """A write into an inference tensor outside inference mode: PyTorch writes the values, then
    refuses before the tensor joins a graph (no node, no requires_grad)."""
    with lib.inference_mode():
        made = lib.ones(2, 3, requires_grad=True) * 2
    try:
        made[::2] = lib.tensor(0.25, requires_grad=True)
    except RuntimeError as error:
        return str(error), made.requires_grad, lib.tanh(made)
    return None


def _not_implemented_first(lib):
    """A node with no derivative fails the backward before newer nodes write any .grad."""
    x = lib.tensor([1.0, -1.0], requires_grad=True)
    steps = x.heaviside(lib.tensor([0.5, 0.5]))
    a = lib.tensor([[1.5, 0.1], [0.7, 0.3]], requires_grad=True)
    loss = lib.logdet(a) + steps.sum()
    try:
        loss.backward()
    except RuntimeError as error:
        return str(error), a.grad, x.grad
    return None


def _saved_order(lib, op):
    """Both saved operands changed in place: PyTorch reports ``other`` first (name order)."""
    a = lib.tensor(0.5) * 1
    b = lib.tensor(-0.8, dtype=lib.float64, requires_grad=True)
    out = op(lib)(a, b)
    with lib.no_grad():
        b.mul_(2)
        a.mul_(2)
    return lib.autograd.grad(out, [b])


def _hardtanh_then_inplace(lib):
    """hardtanh_ saves a clone of its input: changing its result in place after is fine."""
    x = lib.tensor([[-0.44, -1.27, 1.99], [0.2, 3.0, -0.5]], dtype=lib.float64, requires_grad=True)
    y = x * 2
    lib.nn.functional.hardtanh(y, inplace=True)
    y.masked_fill_(y > 0, 0.0)
    (y * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    return y, x.grad


def _zero_then_grad(lib, write):
    """The gradient through zero_/fill_ is zeros_like(grad): a constant under create_graph."""
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = lib.tensor(2.0, requires_grad=True)
    y = x * 2
    write(y, v)
    return lib.autograd.grad((y * 3).sum(), [x, v], create_graph=True, allow_unused=True)


def _on_zeros(fn):
    return lambda lib: fn(lib, lib.tensor(X4))


CASES = {
    # the broadcast-undo records ATen's sum_to: sum() for a 0-d input, sum(dims, keepdim) else
    "grad_fn 0-d / vector": lambda lib: _grads_create_graph(
        lib, 2.0, [1.0, 2, 3], lambda a, b: a / b
    ),
    "grad_fn vector / 0-d": lambda lib: _grads_create_graph(
        lib, [1.0, 2, 3], 2.0, lambda a, b: a / b
    ),
    "grad_fn [1,3] * [3,1]": lambda lib: _grads_create_graph(
        lib, [[1.0, 2, 3]], [[1.0], [2], [3]], lambda a, b: a * b
    ),
    "grad_fn [3] + [2,3]": lambda lib: _grads_create_graph(
        lib, [1.0, 2, 3], [[1.0, 2, 3], [4, 5, 6]], lambda a, b: a * b
    ),
    "grad_fn bmm": _bmm_grads,
    # autograd's checks (leaf, view of a leaf) come before the kernel's overlap check
    "expand of a leaf add_": lambda lib: _expanded_leaf_inplace(lib, lambda v: v.add_(0.5)),
    "expand of a leaf div_": lambda lib: _expanded_leaf_inplace(
        lib, lambda v: v.div_(lib.tensor([1.3, -0.5, 0.8, -0.1]))
    ),
    "expand of a leaf setitem": lambda lib: _expanded_leaf_inplace(
        lib, lambda v: v.__setitem__((slice(None), slice(None), slice(-3, None)), 1.0)
    ),
    # x[key] = v on an output of unbind: the refusal names the view x[key] makes
    "unbind output [None] = v": lambda lib: _multi_view_setitem(lib, None, empty=True),
    "unbind output [-1] = v": lambda lib: _multi_view_setitem(lib, -1),
    "unbind output [1:] = v": lambda lib: _multi_view_setitem(lib, slice(1, None)),
    # a view of an inference tensor has no CreationMeta: the inference refusal, not the view's
    "inference tensor's unbind in place": _inference_unbind_inplace,
    "einsum diagonal is a view": _einsum_diagonal_inplace,
    "inference tensor setitem": _inference_setitem,
    "gammaincc input's gradient unneeded": _gammaincc_unneeded,
    "no-derivative node runs first": _not_implemented_first,
    "hardtanh_ then masked_fill_": _hardtanh_then_inplace,
    "zero_ then create_graph": lambda lib: _zero_then_grad(lib, lambda y, v: y.zero_()),
    "fill_ number then create_graph": lambda lib: _zero_then_grad(lib, lambda y, v: y.fill_(2.0)),
    "fill_ tensor then create_graph": lambda lib: _zero_then_grad(lib, lambda y, v: y.fill_(v)),
    **{
        f"saved operands checked other first: {name}": (
            lambda lib, name=name: _saved_order(lib, lambda m: getattr(m, name))
        )
        for name in ("atan2", "div", "mul", "maximum", "fmin")
    },
    "view, then base.requires_grad_(), then mul": _view_then_requires_grad,
    # messages
    "bce target checked per element": lambda lib: _bce(lib, [0.5, 2.0], [1.5, 0.5]),
    "bce input first in its element": lambda lib: _bce(lib, [1.5, 0.2], [1.5, 0.5]),
    "bce NaN target": lambda lib: _bce(lib, [0.5, 0.2], [0.5, float("nan")]),
    "0-d unbind(-1)": lambda lib: lib.tensor(1.0).unbind(-1),
    "0-d unbind(1)": lambda lib: lib.tensor(1.0).unbind(1),
    "amin dim as given": lambda lib: lib.zeros(0).amin(-1),
    "max dim wrapped": lambda lib: lib.zeros(2, 0).max(-1),
    "argmin dim wrapped": lambda lib: lib.zeros(2, 0).argmin(-1),
    "amax dims as given": lambda lib: lib.zeros(2, 0).amax((0, -1)),
    "index message counts None": lambda lib: lib.zeros(3, 4)[None, 3, ...],
    "index message counts Nones": lambda lib: lib.zeros(3, 4)[None, None, 1, 5],
    # polygamma as PyTorch's kernels: trigamma's finite poles, the zeta's infinities
    **{
        f"polygamma({n}) {dtype}": (lambda lib, n=n, dtype=dtype: _polygamma(lib, n, dtype))
        for n in range(5)
        for dtype in ("float32", "float64")
    },
    "digamma grad at poles": _digamma_grad,
    # signed zeros: PyTorch replaces only what lies strictly outside a bound
    "relu": _on_zeros(lambda lib, x: lib.relu(x)),
    "clamp min 0": _on_zeros(lambda lib, x: lib.clamp(x, min=0.0)),
    "clamp max 0": _on_zeros(lambda lib, x: lib.clamp(x, max=0.0)),
    "clamp min -0.0": _on_zeros(lambda lib, x: lib.clamp(x, min=-0.0)),
    "clamp tensor bound": _on_zeros(lambda lib, x: lib.clamp(x, min=lib.zeros(4))),
    "hardtanh": _on_zeros(lambda lib, x: lib.nn.functional.hardtanh(x)),
    "hardtanh_": _on_zeros(lambda lib, x: lib.nn.functional.hardtanh(x.clone(), inplace=True)),
    "relu6": _on_zeros(lambda lib, x: lib.nn.functional.relu6(x)),
    "elu": _on_zeros(lambda lib, x: lib.nn.functional.elu(x)),
    "elu_": _on_zeros(lambda lib, x: lib.nn.functional.elu(x.clone(), inplace=True)),
    "selu": _on_zeros(lambda lib, x: lib.selu(x)),
    "erf": _on_zeros(lambda lib, x: lib.erf(x)),
    "bessel_j1": _on_zeros(lambda lib, x: lib.special.bessel_j1(x)),
    "i1": _on_zeros(lambda lib, x: lib.special.i1(x)),
    "i1e": _on_zeros(lambda lib, x: lib.special.i1e(x)),
    "remainder": _on_zeros(lambda lib, x: lib.remainder(x, 1.5)),
    "remainder negative": _on_zeros(lambda lib, x: lib.remainder(x, -1.5)),
    "cumsum": _on_zeros(lambda lib, x: lib.cumsum(x, 0)),
}


def outcome(lib, case):
    try:
        with np.errstate(all="ignore"):
            return snapshot(CASES[case](lib))
    except Exception as error:  # noqa: BLE001 - the type and message are compared
        return raised(error)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fuzz_found(case):
    want, got = outcome(torch, case), outcome(glassgrad, case)
    assert _differ(got, want) is None, (_differ(got, want), got, want)
