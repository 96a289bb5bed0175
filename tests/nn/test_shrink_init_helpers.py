"""hardshrink/softshrink, gumbel_softmax, nn.init.dirac_/sparse_ and the private helpers that
libraries import (init._no_grad_*, transformer._get_activation_fn/_get_clones) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
from nn_functional_cases import compare

RNG = np.random.default_rng(41)
EDGES = np.array([-1.0, -0.5, -0.2, -0.0, 0.0, 0.5, 0.7, np.nan, np.inf, -np.inf])


@pytest.mark.parametrize("name", ["hardshrink", "softshrink"])
@pytest.mark.parametrize("lambd", [0.5, 0.0, 1.5])
def test_shrink_matches_torch(name, lambd):
    x = np.concatenate([RNG.standard_normal(8), EDGES[:7]])
    compare(lambda t, F, v: getattr(F, name)(v, lambd), [x], second=True)
    compare(lambda t, F, v: getattr(t.nn, name.capitalize())(lambd)(v), [x])
    got = getattr(glassgrad.nn.functional, name)(glassgrad.tensor(EDGES), lambd).numpy()
    want = getattr(torch.nn.functional, name)(torch.tensor(EDGES), lambd).numpy()
    np.testing.assert_array_equal(got, want)
    if name == "hardshrink":  # (softshrink's sign of zero varies with length in PyTorch)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def _outcome(call):
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return (type(exc).__name__, str(exc))
    return ("ok", value.numpy().tolist() if hasattr(value, "numpy") else repr(value))


BAD = {
    "soft_negative": lambda L: L.nn.functional.softshrink(L.ones(2), -1),
    "soft_negative_half": lambda L: L.nn.functional.softshrink(L.ones(2, dtype=L.float16), -0.5),
    "soft_negative_double": lambda L: L.nn.functional.softshrink(L.ones(2, dtype=L.float64), -2),
    "soft_long": lambda L: L.nn.functional.softshrink(L.tensor([1, 2])),
    "hard_long": lambda L: L.nn.functional.hardshrink(L.tensor([1, 2])),
    "hard_negative": lambda L: L.nn.functional.hardshrink(L.tensor([-1.0, 0.5, 2.0]), -1),
    "hard_method": lambda L: L.tensor([-1.0, 0.2]).hardshrink(0.3),
    "hard_function": lambda L: L.hardshrink(L.tensor([-1.0, 0.2]), 0.3),
    "soft_method": lambda L: hasattr(L.Tensor, "softshrink"),
    "soft_function": lambda L: hasattr(L, "softshrink"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_shrink_errors_and_names_match_torch(case):
    assert _outcome(lambda: BAD[case](glassgrad)) == _outcome(lambda: BAD[case](torch))


def test_gumbel_softmax_samples_as_torch():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))
    draws = 4000
    counts = {}
    for lib in (torch, glassgrad):
        lib.manual_seed(0)
        x = lib.tensor(np.repeat(logits[None], draws, 0))
        hard = lib.nn.functional.gumbel_softmax(x, tau=0.5, hard=True)
        values = hard.numpy()
        assert set(np.unique(values)) == {0.0, 1.0}
        np.testing.assert_allclose(values.sum(-1), 1.0)
        counts[lib] = values.mean(0)
        soft = lib.nn.functional.gumbel_softmax(x, tau=2.0, dim=-1).numpy()
        np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-6)
        assert soft.min() > 0
    # the Gumbel-max trick: the hard sample picks each class with its softmax probability
    np.testing.assert_allclose(counts[glassgrad], np.exp(logits), atol=0.03)
    np.testing.assert_allclose(counts[torch], np.exp(logits), atol=0.03)


def test_gumbel_softmax_gradient_is_straight_through():
    """``hard`` returns the one-hot sample with the soft sample's gradient, as PyTorch builds it."""
    for lib in (torch, glassgrad):
        x = lib.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
        lib.manual_seed(1)
        hard = lib.nn.functional.gumbel_softmax(x, tau=0.7, hard=True, dim=1)
        lib.manual_seed(1)
        soft = lib.nn.functional.gumbel_softmax(x, tau=0.7, hard=False, dim=1)
        weights = lib.tensor([[0.3, -1.0, 2.0]])
        (g_hard,) = lib.autograd.grad((hard * weights).sum(), x)
        (g_soft,) = lib.autograd.grad((soft * weights).sum(), x)
        np.testing.assert_allclose(g_hard.numpy(), g_soft.numpy(), rtol=1e-6)
        assert type(hard.grad_fn).__name__ == "AddBackward0"
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        glassgrad.nn.functional.gumbel_softmax(glassgrad.zeros(2), eps=1e-3)


@pytest.mark.parametrize(
    "shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((4, 6, 3, 2, 5), 1), ((2, 5, 4), 1)]
)
def test_dirac_matches_torch(shape, groups):
    got = glassgrad.nn.init.dirac_(glassgrad.nn.Parameter(glassgrad.ones(*shape)), groups)
    want = torch.nn.init.dirac_(torch.nn.Parameter(torch.ones(*shape)), groups)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert got.requires_grad and got.is_leaf
    compare(
        lambda t, F, x, w: F.conv1d(x, t.nn.init.dirac_(w)),
        [RNG.standard_normal((1, 4, 7)), np.ones((4, 4, 3))],
        grad=False,
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.nn.init.dirac_(L.ones(3, 3)),
        lambda L: L.nn.init.dirac_(L.ones(3, 3, 3), groups=2),
        lambda L: L.nn.init.sparse_(L.ones(3, 3, 3), 0.5),
    ],
)
def test_init_errors_match_torch(call):
    assert _outcome(lambda: call(glassgrad)) == _outcome(lambda: call(torch))


def test_sparse_zeroes_each_column_as_torch():
    for lib in (torch, glassgrad):
        weight = lib.nn.init.sparse_(lib.empty(10, 200), sparsity=0.35, std=0.5).numpy()
        assert ((weight == 0).sum(0) == 4).all()  # ceil(0.35 * 10) per column
        assert abs(weight[weight != 0].std() - 0.5) < 0.05


def test_private_init_helpers_fill_in_place_without_grad():
    init = glassgrad.nn.init
    weight = glassgrad.nn.Parameter(glassgrad.empty(300, 40))
    assert init._no_grad_uniform_(weight, -2.0, 2.0) is weight
    assert weight.requires_grad and weight.grad_fn is None
    assert -2.0 <= float(weight.min()) and float(weight.max()) <= 2.0
    init._no_grad_normal_(weight, 1.0, 0.1)
    assert abs(float(weight.mean()) - 1.0) < 0.01
    init._no_grad_trunc_normal_(weight, 0.0, 1.0, -0.5, 0.5)
    assert float(weight.abs().max()) <= 0.5
    init._no_grad_fill_(weight, 3.0)
    assert float(weight.min()) == float(weight.max()) == 3.0
    init._no_grad_zero_(weight)
    assert float(weight.abs().max()) == 0.0
    for name in ("_no_grad_uniform_", "_no_grad_normal_", "_no_grad_fill_", "_no_grad_zero_"):
        assert hasattr(torch.nn.init, name)


def test_transformer_helpers_match_torch():
    import torch.nn.modules.transformer as T

    from glassgrad.nn.modules.transformer import _get_activation_fn, _get_clones

    x = RNG.standard_normal(6)
    for name in ("relu", "gelu"):
        got = _get_activation_fn(name)(glassgrad.tensor(x)).numpy()
        np.testing.assert_allclose(got, T._get_activation_fn(name)(torch.tensor(x)).numpy())
    assert _outcome(lambda: _get_activation_fn("tanh")) == _outcome(
        lambda: T._get_activation_fn("tanh")
    )
    layer = glassgrad.nn.Linear(2, 3)
    clones = _get_clones(layer, 3)
    assert repr(clones) == repr(T._get_clones(torch.nn.Linear(2, 3), 3))
    assert clones[0].weight is not layer.weight
    np.testing.assert_array_equal(clones[2].weight.detach().numpy(), layer.weight.detach().numpy())
