"""Mismatches the program fuzzer (tests/fuzz) found, each run on PyTorch 2.13 and glassgrad:
values, dtypes, shapes, flags, grad_fn names, gradients and exceptions must agree."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import torch

import glassgrad
from fuzz.compare import _differ
from fuzz.runner import raised, snapshot


def _setitem(lib, key, value, zero_d=False):
    x = lib.tensor(1.5 if zero_d else [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = x * 1
    y[key] = value(lib) if callable(value) else value
    y.sum().backward()
    return y, x.grad


def _hook_create_graph(lib):
    x = lib.tensor([[-1.5], [-1.6]], dtype=lib.float64, requires_grad=True)
    x.register_hook(lambda g: g * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (x * 3).sum().backward(create_graph=True)
    return x.grad


def _mvlgamma_grad(lib, p):
    x = lib.tensor([-0.0, 0.0, 1.5], dtype=lib.float64, requires_grad=True)
    (grad,) = lib.autograd.grad(lib.mvlgamma(x, p).sum(), x)
    return grad


def _kl_div(lib, reduction):
    x = lib.tensor([[-0.8, 0.2, 0.0], [0.5, -0.1, 1.9]], dtype=lib.float64, requires_grad=True)
    t = lib.tensor([[-0.5, 0.1, 0.3], [0.5, 1.0, 2.0]], dtype=lib.float64)
    out = lib.nn.functional.kl_div(x, t, reduction=reduction)
    out.sum().backward()
    return out, x.grad


def _inplace_method(lib, name, args):
    x = lib.tensor([[0.3, 1.7], [2.5, 0.9]], dtype=lib.float64, requires_grad=True)
    y = x * 1
    assert getattr(y, name)(*[a(lib) if callable(a) else a for a in args]) is y
    y.sum().backward()
    return y, x.grad, y._version


def _bce_logits(lib, first, reduction):
    a = lib.tensor([[0.5, -1.9], [0.4, 1.7]], requires_grad=True)
    b = lib.tensor([[1.0, 0.6], [-1.1, 1.7]], dtype=lib.float64, requires_grad=True)
    x, y = (a, b) if first == "float32" else (b, a)
    out = lib.nn.functional.binary_cross_entropy_with_logits(x, y, reduction=reduction)
    out.sum().backward()
    return out, x.grad, y.grad


def _rot90_copy(lib):
    v = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
    lib.rot90(v, 4).add_(1)
    return v


M22 = [[1.0, 2.0], [0.5, -1.0]]
X4 = [0.35, -0.94, 1.62, 1.52]


def _t_zero_d(lib):
    x = lib.tensor(0.685, dtype=lib.float64, requires_grad=True)
    y = x.frac()
    y.t_()
    (y * 2).backward()
    return x.grad


def _partial_before_error(lib):
    """The failing node (no derivative: PyTorch runs it as soon as it is ready) runs after the
    newer branch into ``b`` finished, so ``b.grad`` is written and ``a.grad`` is not."""
    a = lib.tensor([-0.5, 1.5, 0.1], requires_grad=True)
    b = lib.tensor([-1.8, 1.9, 1.0], dtype=lib.float64, requires_grad=True)
    loss = a.heaviside(a).sum() + (b * 3).sum()
    try:
        loss.backward()
    except RuntimeError as error:
        return (str(error), a.grad, b.grad)
    return None


CASES = {
    # in-place forms PyTorch has that glassgrad lacked (AttributeError)
    **{
        f"Tensor.{name}": functools.partial(_inplace_method, name=name, args=args)
        for name, args in [
            ("copysign_", (lambda m: m.tensor(M22, dtype=m.float64),)),
            ("cumprod_", (1,)),
            ("cumsum_", (0,)),
            ("deg2rad_", ()),
            ("rad2deg_", ()),
            ("digamma_", ()),
            ("lgamma_", ()),
            ("erfc_", ()),
            ("erfinv_", ()),
            ("i0_", ()),
            ("sinc_", ()),
            ("logit_", (0.1,)),
            ("mvlgamma_", (2,)),
            ("hypot_", (lambda m: m.tensor(M22, dtype=m.float64),)),
            ("xlogy_", (lambda m: m.tensor(M22, dtype=m.float64).abs(),)),
            ("addmm_", (lambda m: m.tensor(M22, dtype=m.float64),) * 2),
        ]
    },
    # binary_cross_entropy_with_logits builds its loss in target's dtype
    "bce_with_logits float32 input": lambda lib: _bce_logits(lib, "float32", "none"),
    "bce_with_logits float64 input": lambda lib: _bce_logits(lib, "float64", "mean"),
    "margin_ranking_loss node": lambda lib: lib.nn.functional.margin_ranking_loss(
        lib.tensor(X4, requires_grad=True),
        lib.tensor(X4[::-1]),
        lib.tensor([1.0, -1, 1, -1]),
        reduction="none",
    ),
    "sign of NaN": lambda lib: lib.tensor([float("nan"), -1.0, 0.0]).sign(),
    "rot90 k=4 copies": _rot90_copy,
    # x[full slices] = v writes into x itself (PyTorch's indexing returns x): FillBackward3 for a
    # number or a 0-d tensor, CopyBackwards for a tensor with dimensions or a 0-d x
    "setitem [:] number": lambda lib: _setitem(lib, slice(None), 0.5),
    "setitem [...] 0-d": lambda lib: _setitem(lib, ..., lambda m: m.tensor(2.0)),
    "setitem [:, :5] row": lambda lib: _setitem(
        lib, (slice(None), slice(None, 5)), lambda m: m.tensor([1.0, 2, 3])
    ),
    "setitem [0:] number": lambda lib: _setitem(lib, (slice(0, None),), 0.5),
    "setitem [-2:] number": lambda lib: _setitem(lib, slice(-2, None), 0.5),
    "setitem [None] number": lambda lib: _setitem(lib, None, 0.5),
    "setitem 0-d [()]": lambda lib: _setitem(lib, (), 0.5, zero_d=True),
    "setitem 0-d [...] tensor": lambda lib: _setitem(
        lib, ..., lambda m: m.tensor([0.5]), zero_d=True
    ),
    "setitem leaf [:]": lambda lib: lib.ones(2, requires_grad=True).__setitem__(slice(None), 0.0),
    # a hook returning a new gradient under create_graph (glassgrad: TypeError on the dtype)
    "hook under create_graph": _hook_create_graph,
    # torch.<loss>: ATen's int reduction, unreduced by default (glassgrad: nn.functional's)
    "torch.margin_ranking_loss": lambda lib: lib.margin_ranking_loss(
        lib.tensor(X4), lib.tensor(X4[::-1]), lib.tensor([1.0, -1, 1, -1])
    ),
    "torch.margin_ranking_loss sum": lambda lib: lib.margin_ranking_loss(
        lib.tensor(X4), lib.tensor(X4[::-1]), lib.tensor([1.0, -1, 1, -1]), 0.1, 2
    ),
    "torch.kl_div": lambda lib: lib.kl_div(lib.tensor(X4), lib.tensor(X4).abs()),
    "torch.kl_div str": lambda lib: lib.kl_div(lib.tensor(X4), lib.tensor(X4), "mean"),
    "torch.bce_with_logits": lambda lib: lib.binary_cross_entropy_with_logits(
        lib.tensor(X4), lib.tensor(X4).sigmoid()
    ),
    "torch.bce_with_logits keyword str": lambda lib: lib.binary_cross_entropy_with_logits(
        lib.tensor(X4), lib.tensor(X4), reduction="none"
    ),
    "torch.cosine_embedding_loss": lambda lib: lib.cosine_embedding_loss(
        lib.ones(3, 4), lib.tensor([[1.0, 2, 3, 4]] * 3), lib.tensor([1, -1, 1])
    ),
    "torch.cosine_embedding_loss mean": lambda lib: lib.cosine_embedding_loss(
        lib.ones(3, 4), lib.tensor([[1.0, 2, 3, 4]] * 3), lib.tensor([1, -1, 1]), 0.0, 1
    ),
    # kl_div's target * log(target) is NaN for a negative target (glassgrad: 0)
    "kl_div negative target none": lambda lib: _kl_div(lib, "none"),
    "kl_div negative target batchmean": lambda lib: _kl_div(lib, "batchmean"),
    # result dtypes: block_diag's 0-d inputs only raise the category; huber_loss keeps input's
    "block_diag 0-d float64": lambda lib: lib.block_diag(
        lib.ones(1, 2), lib.tensor(0.5, dtype=lib.float64)
    ),
    "block_diag 2-d float64": lambda lib: lib.block_diag(
        lib.ones(1, 2), lib.ones(1, 1, dtype=lib.float64)
    ),
    "huber_loss float32 input": lambda lib: lib.nn.functional.huber_loss(
        lib.ones(1, 2), lib.zeros(1, 2, dtype=lib.float64), reduction="sum"
    ),
    "huber_loss float64 input": lambda lib: lib.nn.functional.huber_loss(
        lib.ones(1, 2, dtype=lib.float64), lib.zeros(1, 2), reduction="none"
    ),
    # mvlgamma's gradient at -0.0: PyTorch adds its offsets (+0.0), so digamma(+0) = -inf
    "mvlgamma grad p=1": lambda lib: _mvlgamma_grad(lib, 1),
    "mvlgamma grad p=2": lambda lib: _mvlgamma_grad(lib, 2),
    "heaviside number input": lambda lib: lib.heaviside(-2.0, lib.tensor(0.5)),
    "t_ of a 0-d tensor in the graph": _t_zero_d,
    "nanmedian of an empty dim": lambda lib: lib.zeros((0,), dtype=lib.float64).nanmedian(-1),
    "leaf finished before a node without derivative fails": _partial_before_error,
}


def outcome(lib, case):
    try:
        with np.errstate(all="ignore"):
            return snapshot(CASES[case](lib))
    except Exception as error:  # noqa: BLE001 - the type and message are compared
        return raised(error)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fuzz_regressions(case):
    want, got = outcome(torch, case), outcome(glassgrad, case)
    assert _differ(got, want) is None, (_differ(got, want), got, want)


def _view_read_then_base_requires_grad(lib):
    base = lib.tensor([[0.548, -0.921], [0.427, 0.918]])
    view = lib.unflatten(base, 1, (2, 1))
    view.abs_()
    seen = [(view.grad_fn is None, view.is_leaf)]  # read while nothing requires grad
    base.requires_grad_()
    seen.append((view.requires_grad, view.is_leaf, type(view.grad_fn).__name__))
    view.sum().backward()
    return seen, base.grad


def test_view_read_before_its_base_requires_grad_regenerates_later():
    """A view changed in place and read while nothing required grad: once its base requires
    grad, the view's grad_fn is regenerated (AsStridedBackward0), as in PyTorch."""
    ours, ours_grad = _view_read_then_base_requires_grad(glassgrad)
    theirs, theirs_grad = _view_read_then_base_requires_grad(torch)
    assert ours == theirs
    np.testing.assert_array_equal(ours_grad.numpy(), theirs_grad.numpy())
