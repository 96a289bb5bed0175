"""quantile/nanquantile (every interpolation, NaNs, keepdim, tensor q), bincount, histc and
histogram against PyTorch: values, dtypes, grad_fn names, gradients, errors."""

import numpy as np
import pytest
import torch
from tests.op_compare import check, r, same_error

import glassgrad as gg

MODES = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dim, keepdim", [(None, False), (None, True), (0, False), (1, True)])
def test_quantile_matches_torch(mode, dim, keepdim):
    check(lambda lib, x: x.quantile(0.3, dim, keepdim, interpolation=mode), r(4, 5))
    check(
        lambda lib, x: lib.quantile(
            x, lib.tensor([0.1, 0.55, 0.8], dtype=lib.float64), dim, keepdim, interpolation=mode
        ),
        r(4, 5),
    )


def test_nanquantile_and_nans():
    values = r(3, 5)
    values[0, 1] = values[2, :] = np.nan
    for dim in (None, 0, 1):
        check(lambda lib, x, d=dim: x.nanquantile(0.4, d), values, second=False)
        check(lambda lib, x, d=dim: x.quantile(0.4, d), values, second=False)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.ones(5).quantile(1.5),
        lambda lib: lib.ones(5).quantile(lib.tensor([0.5], dtype=lib.float64)),
        lambda lib: lib.tensor([1, 2]).quantile(0.5),
        lambda lib: lib.ones(5).quantile(lib.tensor([[0.5]])),
        lambda lib: lib.tensor([]).quantile(0.5),
        lambda lib: lib.ones(5).quantile(0.5, interpolation="foo"),
        lambda lib: lib.ones(5).quantile(lib.tensor([0.5, 1.2])),
        lambda lib: lib.ones(5).quantile(0.5, dim=3),
        lambda lib: lib.ones(5).nanquantile(-0.1),
    ],
)
def test_quantile_errors(call):
    same_error(call)


def _pair(lib, fn):
    out = fn(lib)
    outs = out if isinstance(out, tuple) else (out,)
    return [(str(o.dtype), o.tolist(), o.requires_grad) for o in outs]


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.bincount(L.tensor([0, 2, 2, 5])),
        lambda L: L.bincount(L.tensor([0, 2, 2, 5]), minlength=8),
        lambda L: L.bincount(L.tensor([0, 2, 2, 5]), L.tensor([0.5, 1.0, 2.0, 3.0])),
        lambda L: L.tensor([0, 2, 1]).bincount(L.tensor([1, 2, 3])),
        lambda L: L.bincount(L.tensor([0, 1]), L.tensor([True, False])),
        lambda L: L.bincount(L.tensor([], dtype=L.int64)),
        lambda L: L.bincount(L.tensor([1, 2], dtype=L.int32)),
        lambda L: L.histc(L.tensor([1.0, 2, 1, 4, 2.5]), bins=4),
        lambda L: L.tensor([1.0, 2, 1, 4, 2.5]).histc(4, min=0, max=3),
        lambda L: L.histc(L.tensor([1.0, 1.0]), bins=3),
        lambda L: L.histc(L.tensor([1.0, 2.0], dtype=L.float64), 2),
        lambda L: L.histogram(L.tensor([1.0, 2, 1, 4, 2.5]), bins=4),
        lambda L: L.histogram(L.tensor([1.0, 2, 1, 4, 2.5]), L.tensor([0.0, 1.0, 2.0, 5.0])),
        lambda L: L.tensor([1.0, 2, 1, 4, 2.5]).histogram(
            3, range=(0.0, 3.0), weight=L.ones(5), density=True
        ),
        lambda L: L.histogram(L.tensor([3.0, 3.0]), 2),
        lambda L: L.histogram(L.ones(3, requires_grad=True), 2),
    ],
)
def test_counting_matches_torch(fn):
    assert _pair(gg, fn) == _pair(torch, fn)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.bincount(lib.tensor([-1, 2])),
        lambda lib: lib.bincount(lib.tensor([1.0, 2.0])),
        lambda lib: lib.bincount(lib.tensor([[1, 2]])),
        lambda lib: lib.bincount(lib.tensor([1, 2]), lib.ones(3)),
        lambda lib: lib.bincount(lib.tensor([1, 2]), minlength=-1),
        lambda lib: lib.histc(lib.tensor([1, 2]), bins=2),
        lambda lib: lib.histc(lib.ones(3), bins=0),
        lambda lib: lib.histc(lib.ones(3), bins=2, min=3, max=1),
        lambda lib: lib.histc(lib.tensor([1.0, float("inf")]), bins=2),
        lambda lib: lib.histogram(lib.tensor([1, 2]), 2),
        lambda lib: lib.histogram(lib.ones(3), 3, range=(3.0, 1.0)),
        lambda lib: lib.histogram(lib.ones(3), lib.tensor([0.0, 1.0], dtype=lib.float64)),
        lambda lib: (
            lib.bincount(lib.tensor([0, 1]), lib.ones(2, requires_grad=True)).sum().backward()
        ),
    ],
)
def test_counting_errors(call):
    same_error(call)
