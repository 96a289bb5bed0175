"""tensor_split, ravel, combinations, expand_copy, Tensor.new, Tensor.equal/allclose against
PyTorch: shapes, values, grad_fn names, gradients, errors."""

import numpy as np
import pytest
import torch
from tests.op_compare import check, r, same_error

import glassgrad as gg


def _split_index(lib, cut):
    return lib.tensor(cut) if isinstance(cut, np.ndarray) else cut


@pytest.mark.parametrize(
    "cut, dim",
    [(3, 1), (10, 1), ([1, 5], 1), ([5, 1, 9], -1), ([-2, 3], 1), ([-9, 2], 1), ([], 1)]
    + [(np.array(2), 1), (np.array([1, 4]), 1), (2, 0)],
)
def test_tensor_split_matches_torch(cut, dim):
    check(lambda lib, x: lib.tensor_split(x, _split_index(lib, cut), dim), r(3, 7))
    check(lambda lib, x: x.tensor_split(_split_index(lib, cut), dim=dim), r(3, 7))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.tensor_split(0),
        lambda lib, x: x.tensor_split(lib.tensor([[1]]), 1),
        lambda lib, x: x.tensor_split(lib.tensor([1.0]), 1),
        lambda lib, x: x.tensor_split(2, dim=5),
        lambda lib, x: x.sum().tensor_split(2),
        lambda lib, x: lib.combinations(x),
        lambda lib, x: lib.combinations(x[0], r=-1),
    ],
)
def test_errors_are_pytorchs(call):
    same_error(call, r(3, 4))


def test_ravel_is_a_view_only_of_a_contiguous_tensor():
    check(lambda lib, x: x.ravel(), r(3, 4))
    check(lambda lib, x: lib.ravel(x.t()), r(3, 4))
    for lib in (torch, gg):
        x = lib.ones(3, 4)
        assert x.ravel()._base is x
        assert x.t().ravel()._base is not x  # (a view of a contiguous copy)
        assert x.t().ravel().grad_fn is None


@pytest.mark.parametrize(
    "size, r_, replace", [(4, 2, False), (3, 3, True), (3, 0, False), (2, 3, False), (1, 1, True)]
)
def test_combinations_match_torch(size, r_, replace):
    check(lambda lib, x: lib.combinations(x, r=r_, with_replacement=replace), r(size))
    ints = [lib.combinations(lib.arange(size), r_, replace).tolist() for lib in (torch, gg)]
    assert ints[0] == ints[1]


def test_expand_copy_is_a_contiguous_copy():
    check(lambda lib, x: lib.expand_copy(x, (2, 3, 4)), r(3, 1))
    for lib in (torch, gg):
        base = lib.ones(3, 1)
        copy = lib.expand_copy(base, [3, 4])
        assert copy.is_contiguous() and copy.stride() == (4, 1)
        copy[0, 0] = 5.0
        assert base[0, 0].item() == 1.0


def _new_outcome(lib, make):
    try:
        value = make(lib)
    except Exception as exc:  # noqa: BLE001 - compared
        return type(exc).__name__, str(exc)
    return str(value.dtype), tuple(value.shape), value.tolist() if value.numel() < 5 else None


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.ones(3, 2).new(2, 3).zero_(),
        lambda L: L.ones(3, 2).new([1, 2]),
        lambda L: L.ones(3, 2, dtype=L.int64).new([1.5, 2]),
        lambda L: L.ones(3, 2, dtype=L.float64).new(),
        lambda L: L.ones(3, 2).new(L.Size([2])).zero_(),
        lambda L: L.ones(3, 2).new((2, 3)),
        lambda L: L.ones(3, 2).new(L.tensor([1.0, 2.0])),
        lambda L: L.ones(3, 2).new(L.tensor([1, 2])),
        lambda L: L.ones(3, 2).new([1, 2], dtype=L.int64),
        lambda L: L.ones(3, 2).new(2.5),
        lambda L: L.ones(3, 2).new([[1, 2], [3]]),
    ],
)
def test_tensor_new_is_the_legacy_constructor(make):
    assert _new_outcome(gg, make) == _new_outcome(torch, make)


def test_tensor_new_of_a_tensor_is_an_alias():
    for lib in (torch, gg):
        source = lib.tensor([1.0, 2.0])
        alias = lib.ones(1).new(source)
        alias[0] = 7.0
        assert source[0].item() == 7.0


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.tensor([1.0, 2.0]).equal(L.tensor([1.0, 2.0], dtype=L.float64)),
        lambda L: L.tensor([1.0, 2.0]).equal(L.tensor([1, 2])),
        lambda L: L.equal(L.tensor([1.0, 2.0]), L.tensor([[1.0, 2.0]])),
        lambda L: L.tensor([float("nan")]).equal(L.tensor([float("nan")])),
        lambda L: L.tensor([1.0, 2.0]).equal(2.0),
        lambda L: L.equal(2.0, L.tensor([1.0])),
        lambda L: L.equal(L.tensor([1.0]), 2.0),
        lambda L: L.allclose(L.tensor([1.0]), 2),
        lambda L: L.tensor([1.0, 2.0]).allclose(L.tensor([1.0, 2.00001])),
        lambda L: L.tensor([1.0, 2.0]).allclose(L.tensor([[1.0, 2.0]])),
        lambda L: L.tensor([1.0, 2.0]).allclose(L.tensor([1.0, 2.0, 3.0])),
        lambda L: L.tensor([1.0, 2.0]).allclose(L.tensor([1.0, 2.0], dtype=L.float64)),
        lambda L: L.tensor([1.0, 2.0]).allclose(2.0),
        lambda L: L.tensor([1.0, float("nan")]).allclose(
            L.tensor([1.0, float("nan")]), equal_nan=True
        ),
    ],
)
def test_equal_and_allclose_methods(call):
    outcomes = []
    for lib in (torch, gg):
        try:
            outcomes.append(call(lib))
        except Exception as exc:  # noqa: BLE001 - compared
            outcomes.append((type(exc).__name__, str(exc)))
    assert outcomes[1] == outcomes[0]
