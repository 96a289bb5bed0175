"""nansum, nanmean, logcumsumexp and the trapezoid rule against PyTorch: values, dtypes,
grad_fn names, gradients (second order too), edge cases and errors."""

import numpy as np
import pytest
import torch
from tests.op_compare import check, r, same_error

import glassgrad as gg


def _nans(*shape):
    values = r(*shape)
    values.flat[::3] = np.nan
    return values


@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), (0, True), ((0, 1), False)])
def test_nansum_and_nanmean(dim, keepdim):
    check(lambda lib, x: lib.nansum(x, dim, keepdim), _nans(3, 4))
    check(lambda lib, x: x.nanmean(dim, keepdim), _nans(3, 4))
    check(lambda lib, x: x.nansum(dim=dim, keepdim=keepdim, dtype=lib.float32), _nans(3, 4))


def test_nansum_integers_and_all_nan_rows():
    for lib in (torch, gg):
        assert lib.nansum(lib.tensor([1, 2], dtype=lib.int32)).dtype == lib.int64
    check(lambda lib, x: lib.nanmean(x, 1), np.array([[np.nan, np.nan], [1.0, np.nan]]))
    same_error(lambda lib: lib.nanmean(lib.tensor([1, 2])))


def test_logcumsumexp_is_stable():
    values = np.array([[-np.inf, 0.0, 800.0, -3.0], [1e-3, -700.0, 2.0, 700.0]])
    for dim in (0, 1, -1):
        check(lambda lib, x, d=dim: lib.logcumsumexp(x, d), values, second=False)
        check(lambda lib, x, d=dim: x.logcumsumexp(d), r(3, 4))
    same_error(lambda lib: lib.logcumsumexp(lib.tensor([1, 2]), 0))


@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
def test_trapezoid_forms(name):
    check(lambda lib, y: getattr(lib, name)(y), r(3, 4))
    check(lambda lib, y: getattr(lib, name)(y, dx=0.5, dim=0), r(3, 4))
    check(lambda lib, y, x: getattr(lib, name)(y, x), r(3, 4), np.sort(r(4)))
    check(lambda lib, y, x: getattr(lib, name)(y, x, dim=0), r(3, 4), r(3, 4))
    ints = [getattr(lib, name)(lib.tensor([1, 2, 4]), dx=2).tolist() for lib in (torch, gg)]
    assert ints[0] == ints[1]


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.trapezoid(lib.ones(3), lib.ones(2)),
        lambda lib: lib.trapezoid(lib.ones(3), lib.ones(3), dim=3),
        lambda lib: lib.trapezoid(lib.ones(3), lib.ones(2, 3)),
        lambda lib: lib.cumulative_trapezoid(lib.ones(3), lib.ones(2)),
    ],
)
def test_trapezoid_errors(call):
    same_error(call)


def test_trapezoid_of_empty_rows():
    for shape in ((3, 0), (0, 3)):
        outs = [lib.trapezoid(lib.ones(shape)) for lib in (torch, gg)]
        assert tuple(outs[0].shape) == tuple(outs[1].shape)
        assert outs[0].tolist() == outs[1].tolist()
