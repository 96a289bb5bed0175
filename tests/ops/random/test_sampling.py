"""multinomial, normal, bernoulli, log_normal_, cauchy_ and the math constants, against PyTorch.

Here samples are compared in distribution (that a seed gives PyTorch's very draws is tested in
tests/random/test_stream.py); shapes, dtypes, graphs (grad_fn names, zero gradients) and errors
are compared exactly.
"""

import math

import numpy as np
import pytest
import torch

import glassgrad as gg


def _outcome(fn):
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc)
    if isinstance(value, (torch.Tensor, gg.Tensor)):
        grad_fn = type(value.grad_fn).__name__ if value.grad_fn is not None else None
        return str(value.dtype).split(".")[-1], tuple(value.shape), grad_fn, value.requires_grad
    return value


def _same(call):
    assert _outcome(lambda: call(gg)) == _outcome(lambda: call(torch))


# -- multinomial ------------------------------------------------------------------------------
MULTINOMIAL = [
    lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 2),
    lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 4),
    lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 4, True),
    lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 0),
    lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), -1),
    lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 2.0),
    lambda lib: lib.multinomial(lib.tensor([-1.0, 1.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([float("nan"), 1.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([float("inf"), 1.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
    lambda lib: lib.multinomial(lib.tensor(1.0), 1),
    lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
    lambda lib: lib.multinomial(lib.ones(2, 3), 2),
    lambda lib: lib.multinomial(lib.ones(2, 0), 2),
    lambda lib: lib.multinomial(lib.ones(0, 3), 2),
    lambda lib: lib.multinomial(lib.ones(3, dtype=lib.float64, requires_grad=True), 2),
    lambda lib: lib.ones(3).multinomial(2, generator=lib.Generator()),
    lambda lib: lib.ones(3).multinomial(2, generator=3),
    lambda lib: lib.multinomial(lib.ones(3), 2, out=lib.empty(2, dtype=lib.int32)),
    lambda lib: lib.multinomial(lib.ones(3), 2, out=lib.empty(5, dtype=lib.int64)),
]


@pytest.mark.parametrize("call", MULTINOMIAL)
def test_multinomial_matches_torch(call):
    _same(call)


def test_multinomial_with_replacement_frequencies():
    probs = np.array([0.1, 0.2, 0.7])
    gg.manual_seed(0)
    drawn = gg.multinomial(gg.tensor(probs * 3), 60_000, replacement=True).numpy()
    counts = np.bincount(drawn, minlength=3) / drawn.size
    assert np.allclose(counts, probs, atol=0.01)


def test_multinomial_without_replacement():
    gg.manual_seed(0)
    rows = gg.multinomial(gg.tensor([[0.1, 0.2, 0.7, 0.0]] * 20_000), 3).numpy()
    assert all(len(set(row)) == 3 for row in rows[:500])
    assert not (rows[:, :3] == 3).any()  # a zero weight comes only after the positive ones
    first = np.bincount(rows[:, 0], minlength=4) / len(rows)
    assert np.allclose(first, [0.1, 0.2, 0.7, 0.0], atol=0.015)
    # PyTorch's exponential race: the second pick follows p(j) / (1 - p(first))
    second_after_top = np.bincount(rows[rows[:, 0] == 2, 1], minlength=4)
    assert np.allclose(second_after_top[:2] / second_after_top.sum(), [1 / 3, 2 / 3], atol=0.02)
    # all positive categories used up: the zero-weight ones follow, as in PyTorch
    assert sorted(gg.multinomial(gg.tensor([0.0, 1.0, 0.0]), 3).tolist()) == [0, 1, 2]
    assert gg.multinomial(gg.tensor([0.0, 1.0, 0.0]), 3)[0].item() == 1


def test_multinomial_generator_reproduces():
    first = gg.multinomial(gg.ones(10), 5, generator=gg.Generator().manual_seed(3))
    again = gg.multinomial(gg.ones(10), 5, generator=gg.Generator().manual_seed(3))
    assert first.tolist() == again.tolist()


# -- normal -----------------------------------------------------------------------------------
def _m(lib):
    return lib.zeros(3, requires_grad=True)


NORMAL = [
    lambda lib: lib.normal(_m(lib), lib.ones(3, requires_grad=True)),
    lambda lib: lib.normal(_m(lib), 1.0),
    lambda lib: lib.normal(_m(lib)),
    lambda lib: lib.normal(0.0, lib.ones(3, requires_grad=True)),
    lambda lib: lib.normal(0.0, 1.0, (2, 3)),
    lambda lib: lib.normal(0.0, 1.0, size=(2, 3), dtype=lib.float64),
    lambda lib: lib.normal(0, 1, (2,)),
    lambda lib: lib.normal(0.0, 1.0, (2,), requires_grad=True),
    lambda lib: lib.normal(0.0, 1.0),
    lambda lib: lib.normal(_m(lib), -1.0),
    lambda lib: lib.normal(_m(lib), -lib.ones(3)),
    lambda lib: lib.normal(0.0, -1.0, (2,)),
    lambda lib: lib.normal(lib.zeros(3), lib.ones(2)),
    lambda lib: lib.normal(lib.zeros(2, 3), lib.ones(3)),
    lambda lib: lib.normal(lib.zeros(3), lib.ones(2, 3)),
    lambda lib: lib.normal(lib.zeros(3, dtype=lib.long), 1.0),
    lambda lib: lib.normal(0.0, lib.ones(3, dtype=lib.long)),
    lambda lib: lib.normal(lib.zeros(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.normal(0.0, lib.ones(2, dtype=lib.float64)),
    lambda lib: lib.normal(_m(lib), lib.ones(3), generator=3),
    lambda lib: lib.normal(lib.zeros(3), 1.0, (2,)),
]


@pytest.mark.parametrize("call", NORMAL)
def test_normal_matches_torch(call):
    _same(call)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, m, s: lib.normal(m, s),
        lambda lib, m, s: lib.normal(m, 2.0),
        lambda lib, m, s: lib.normal(1.0, s),
        lambda lib, m, s: lib.bernoulli(m.sigmoid()),
    ],
)
def test_sample_gradients_are_zero(make):
    grads = {}
    for lib in (torch, gg):
        m = lib.zeros(2, 3, dtype=lib.float64, requires_grad=True)
        s = lib.ones(3, dtype=lib.float64, requires_grad=True)
        make(lib, m, s).sum().backward()
        grads[lib] = [None if t.grad is None else t.grad.tolist() for t in (m, s)]
    assert grads[gg] == grads[torch]


def test_normal_distribution():
    gg.manual_seed(0)
    drawn = gg.normal(gg.full((100_000,), 2.0, dtype=gg.float64), 3.0).numpy()
    assert abs(drawn.mean() - 2.0) < 0.05 and abs(drawn.std() - 3.0) < 0.05
    drawn = gg.normal(-1.0, gg.full((2, 50_000), 0.5)).numpy()
    assert abs(drawn.mean() + 1.0) < 0.02 and abs(drawn.std() - 0.5) < 0.02
    drawn = gg.normal(5.0, 2.0, (100_000,)).numpy()
    assert abs(drawn.mean() - 5.0) < 0.05 and abs(drawn.std() - 2.0) < 0.05


# -- bernoulli --------------------------------------------------------------------------------
BERNOULLI = [
    lambda lib: lib.bernoulli(lib.tensor([0.2, 0.5], requires_grad=True)),
    lambda lib: lib.tensor([0.2, 0.5], requires_grad=True).bernoulli(),
    lambda lib: lib.bernoulli(lib.tensor([0.2, 0.5], requires_grad=True), 0.3),
    lambda lib: lib.bernoulli(lib.tensor([0.2, 0.5], requires_grad=True), 0.3).sum().backward(),
    lambda lib: lib.bernoulli(lib.tensor([1.5])),
    lambda lib: lib.bernoulli(lib.tensor([float("nan")])),
    lambda lib: lib.bernoulli(lib.tensor([1, 0])),
    lambda lib: lib.bernoulli(lib.tensor([0.5]), p=2.0),
    lambda lib: lib.bernoulli(lib.tensor([0.5], dtype=lib.float64)),
    lambda lib: lib.bernoulli(lib.tensor([0.5]), generator=lib.Generator()),
]


@pytest.mark.parametrize("call", BERNOULLI)
def test_bernoulli_matches_torch(call):
    _same(call)


def test_bernoulli_frequencies():
    gg.manual_seed(0)
    probs = gg.tensor([[0.0, 0.25, 1.0]]).expand(40_000, 3)
    assert np.allclose(gg.bernoulli(probs).numpy().mean(0), [0.0, 0.25, 1.0], atol=0.01)
    assert abs(gg.bernoulli(gg.zeros(40_000), 0.75).numpy().mean() - 0.75) < 0.01


# -- log_normal_, cauchy_ ----------------------------------------------------------------------
FILLS = [
    lambda lib: lib.zeros(3).log_normal_(),
    lambda lib: lib.zeros(3).log_normal_(1, 0),
    lambda lib: lib.zeros(3).log_normal_(1, -1),
    lambda lib: lib.zeros(3, dtype=lib.long).log_normal_(),
    lambda lib: lib.zeros(3, requires_grad=True).clone().log_normal_(),
    lambda lib: lib.zeros(3).cauchy_(),
    lambda lib: lib.zeros(3).cauchy_(0, 0),
    lambda lib: lib.zeros(3).cauchy_(0, -1.5),
    lambda lib: lib.zeros(3, dtype=lib.long).cauchy_(),
    lambda lib: lib.zeros(3, dtype=lib.uint8).cauchy_(),
    lambda lib: lib.zeros(3, dtype=lib.bool).cauchy_(),
    lambda lib: lib.zeros(3, requires_grad=True).clone().cauchy_(),
    lambda lib: lib.zeros(3, requires_grad=True).cauchy_(),
]


@pytest.mark.parametrize("call", FILLS)
def test_fill_matches_torch(call):
    _same(call)


def test_fill_distributions():
    gg.manual_seed(0)
    logs = np.log(gg.zeros(100_000, dtype=gg.float64).log_normal_(1.0, 0.5).numpy())
    assert abs(logs.mean() - 1.0) < 0.02 and abs(logs.std() - 0.5) < 0.02
    drawn = gg.zeros(100_000, dtype=gg.float64).cauchy_(3.0, 2.0).numpy()
    quartiles = np.percentile(drawn, [25, 50, 75])
    assert np.allclose(quartiles, [1.0, 3.0, 5.0], atol=0.1)


def test_constants():
    for name in ("pi", "e", "inf", "nan"):
        value, expected = getattr(gg, name), getattr(torch, name)
        assert type(value) is type(expected)
        assert value == expected or (math.isnan(value) and math.isnan(expected))
