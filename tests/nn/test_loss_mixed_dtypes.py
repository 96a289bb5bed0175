"""Losses whose input and target have different float dtypes, against PyTorch: the result's
dtype, and whether backward works or fails (huber_loss's backward kernel takes one dtype)."""

from __future__ import annotations

import itertools

import pytest
import torch

import glassgrad

LOSSES = {
    "mse_loss": lambda f, a, b, r: f.mse_loss(a, b, reduction=r),
    "l1_loss": lambda f, a, b, r: f.l1_loss(a, b, reduction=r),
    "smooth_l1_loss": lambda f, a, b, r: f.smooth_l1_loss(a, b, reduction=r),
    "huber_loss": lambda f, a, b, r: f.huber_loss(a, b, reduction=r),
    "binary_cross_entropy": lambda f, a, b, r: f.binary_cross_entropy(
        a.sigmoid(), b.sigmoid(), reduction=r
    ),
    "bce_with_logits": lambda f, a, b, r: f.binary_cross_entropy_with_logits(
        a, b.sigmoid(), reduction=r
    ),
    "kl_div": lambda f, a, b, r: f.kl_div(a, b.abs(), reduction=r),
    "soft_margin_loss": lambda f, a, b, r: f.soft_margin_loss(a, b, reduction=r),
    "poisson_nll_loss": lambda f, a, b, r: f.poisson_nll_loss(a, b.abs(), reduction=r),
    "gaussian_nll_loss": lambda f, a, b, r: f.gaussian_nll_loss(a, b, b.abs() + 1, reduction=r),
    "margin_ranking_loss": lambda f, a, b, r: f.margin_ranking_loss(a, b, b.sign(), reduction=r),
}
VALUES = [[0.3, -0.7, 1.2], [0.5, 0.1, -0.4]]


def _outcome(lib, name, dtypes, grads, reduction):
    a = lib.tensor(VALUES, dtype=getattr(lib, dtypes[0]), requires_grad=grads[0])
    b = lib.tensor(VALUES[::-1], dtype=getattr(lib, dtypes[1]), requires_grad=grads[1])
    try:
        out = LOSSES[name](lib.nn.functional, a, b, reduction)
    except RuntimeError as error:
        return "forward", str(error)
    try:
        out.sum().backward()
    except RuntimeError as error:
        return str(out.dtype), str(error)
    grads = [None if t.grad is None else round(float(t.grad.sum()), 5) for t in (a, b)]
    return str(out.dtype), grads


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_of_mixed_float_dtypes_matches_torch(name):
    for dtypes, grads, reduction in itertools.product(
        [("float32", "float64"), ("float64", "float32")],
        [(True, False), (False, True), (True, True)],
        ["none", "sum", "mean"],
    ):
        args = (name, dtypes, grads, reduction)
        assert _outcome(glassgrad, *args) == _outcome(torch, *args), args
