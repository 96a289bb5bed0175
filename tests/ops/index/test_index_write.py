"""index_copy, index_fill, masked_scatter, scatter_reduce (every reduce, include_self) and
fill_diagonal_, out of place and in place, against PyTorch: values, grad_fn names, first and
second-order gradients, errors."""

import warnings

import numpy as np
import pytest
import torch
from tests.op_compare import check, r, same_error

import glassgrad as gg


def _long(lib, values):
    return lib.tensor(values, dtype=lib.int64)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_matches_torch(reduce, include_self):
    index = [[0, 1, 1, 3], [2, 2, 2, 0]]
    check(
        lambda lib, x, s: x.scatter_reduce(
            1, _long(lib, index), s, reduce, include_self=include_self
        ),
        r(2, 4),
        r(2, 4),
    )


def test_scatter_reduce_prod_with_zeros():
    src = r(2, 4)
    src[0, 0] = 0.0  # alone at its position
    src[1, 1] = src[1, 2] = 0.0  # two zeros meet: first order only (PyTorch refuses the second)
    x = r(2, 4)
    x[0, 3] = 0.0
    index = [[0, 1, 1, 3], [2, 2, 2, 0]]
    check(
        lambda lib, x, s: x.scatter_reduce(1, _long(lib, index), s, "prod"),
        x,
        src,
        second=False,
    )


def test_scatter_reduce_ties_share_the_gradient():
    x = np.array([[1.0, 5.0, 2.0]])
    src = np.array([[5.0, 5.0, 0.5]])
    for include_self in (True, False):
        check(
            lambda lib, x, s, inc=include_self: x.scatter_reduce(
                1, _long(lib, [[1, 1, 2]]), s, "amax", include_self=inc
            ),
            x,
            src,
        )


def test_scatter_reduce_integers_and_errors():
    for include_self in (True, False):
        for reduce in ("mean", "amax", "amin", "prod", "sum"):
            outs = [
                lib.tensor([[5, 7, 9]])
                .scatter_reduce(
                    1,
                    _long(lib, [[0, 0, 2]]),
                    lib.tensor([[-2, -3, 4]]),
                    reduce,
                    include_self=include_self,
                )
                .tolist()
                for lib in (torch, gg)
            ]
            assert outs[0] == outs[1], (reduce, include_self)
    same_error(lambda lib, x: x.scatter_reduce(1, _long(lib, [[0]]), x, "add"), r(1, 2))
    same_error(lambda lib, x: x.scatter_reduce(1, _long(lib, [[0]]), x.float(), "sum"), r(1, 2))
    same_error(lambda lib, x: x.scatter_reduce(1, _long(lib, [[5]]), x, "sum"), r(1, 2))


def test_scatter_reduce_in_place():
    def fn(lib, x, s):
        y = x * 1
        y.scatter_reduce_(0, _long(lib, [1, 1, 0]), s, "amin", include_self=False)
        return y

    check(fn, r(3), r(3))


def test_index_copy_matches_torch():
    check(lambda lib, x, s: x.index_copy(0, _long(lib, [2, 0]), s), r(3, 2), r(2, 2))
    check(lambda lib, x, s: lib.index_copy(x, 1, _long(lib, [1]), s), r(3, 2), r(3, 1))

    def in_place(lib, x, s):
        y = x * 2
        y.index_copy_(0, _long(lib, [1]), s)
        return y

    check(in_place, r(3, 2), r(1, 2))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.index_copy(1, lib.tensor([0, 1], dtype=lib.int32), x[:, :2]),
        lambda lib, x: x.index_copy(1, _long(lib, [0, 1]), x[:, :2].float()),
        lambda lib, x: x.index_copy(1, _long(lib, [0, 1]), x[:, :3]),
        lambda lib, x: x.index_copy(1, _long(lib, [0, 1]), x[:2, :2]),
        lambda lib, x: x.index_copy(0, _long(lib, [0, 1]), x[:2, :3]),
        lambda lib, x: x.index_copy(1, _long(lib, [0, 5]), x[:, :2]),
        lambda lib, x: x.index_copy(1, _long(lib, [[0, 1]]), x[:, :2]),
        lambda lib, x: x.index_copy(1, _long(lib, [0, 1]), x[:, :2, None]),
        lambda lib, x: x.index_fill(1, lib.tensor([0], dtype=lib.int32), 1.0),
        lambda lib, x: x.index_fill(1, _long(lib, [4]), 1.0),
        lambda lib, x: x.index_fill(1, _long(lib, [[0]]), 1.0),
        lambda lib, x: x.index_fill(1, _long(lib, [0]), x[0]),
        lambda lib, x: x.masked_scatter(x > 0, x.float()),
        lambda lib, x: x.masked_scatter(lib.ones(3, 4, dtype=lib.bool), x[0]),
        lambda lib, x: x.detach().masked_scatter_(lib.ones(3, 4, dtype=lib.uint8), x),
        lambda lib, x: lib.zeros(3).fill_diagonal_(1.0),
        lambda lib, x: lib.zeros(2, 2, 3).fill_diagonal_(1.0),
    ],
)
def test_errors_are_pytorchs(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch warns of uint8 masks before refusing them)
        same_error(call, r(3, 4))


def test_masked_scatter_in_place_never_broadcasts_self():
    for lib in (torch, gg):
        with pytest.raises(RuntimeError, match="the number of sizes provided"):
            lib.zeros(4).masked_scatter_(lib.ones(3, 4, dtype=lib.bool), lib.ones(12))


def test_index_fill_matches_torch():
    check(lambda lib, x: x.index_fill(1, _long(lib, [0, 2, 2]), -1.5), r(2, 3))
    check(lambda lib, x: x.index_fill(0, _long(lib, [-1]), 2.0), r(2, 3))
    check(lambda lib, x, v: x.index_fill(1, _long(lib, [1]), v), r(2, 3), r())
    for lib in (torch, gg):
        assert lib.tensor([[5, 7, 9]]).index_fill(1, _long(lib, [0]), 2.7).tolist() == [[2, 7, 9]]

    def in_place(lib, x, v):
        y = x * 1
        y.index_fill_(0, _long(lib, [0]), v)
        return y

    check(in_place, r(2, 3), r())


def test_masked_scatter_matches_torch():
    mask = r(3, 4) > 0
    check(lambda lib, x, s: x.masked_scatter(lib.tensor(mask), s), r(3, 4), r(13))
    check(lambda lib, x, s: x.masked_scatter(lib.tensor(mask), s), r(4), r(3, 5))

    def in_place(lib, x, s):
        y = x * 1
        y.masked_scatter_(lib.tensor(mask[0]), s)
        return y

    check(in_place, r(3, 4), r(12))


@pytest.mark.parametrize(
    "shape, wrap",
    [((3, 4), False), ((4, 3), False), ((7, 3), True), ((7, 3), False), ((3, 3, 3), False)],
)
def test_fill_diagonal_matches_torch(shape, wrap):
    def fn(lib, x):
        y = x * 1
        out = y.fill_diagonal_(2.5, wrap=wrap)
        assert out is y
        return y

    check(fn, r(*shape))


def test_fill_diagonal_of_a_transposed_leaf_copy():
    check(lambda lib, x: (x * 1).t().fill_diagonal_(-1.0), r(3, 5))
