"""Argument and sample validation as PyTorch's: the same exceptions with the same text, the
switches (``validate_args=``, ``Distribution.set_default_validate_args``) and the constraints."""

from __future__ import annotations

import math

import pytest
import torch

import glassgrad as gg


@pytest.fixture(autouse=True)
def _validation_on():
    """Both libraries validate by default, as in a fresh process: an earlier ``torch.compile``
    in the same session (the public-name walk calls it) turns PyTorch's default off."""
    saved = (
        torch.distributions.Distribution._validate_args,
        gg.distributions.Distribution._validate_args,
    )
    torch.distributions.Distribution.set_default_validate_args(True)
    gg.distributions.Distribution.set_default_validate_args(True)
    yield
    torch.distributions.Distribution.set_default_validate_args(saved[0])
    gg.distributions.Distribution.set_default_validate_args(saved[1])


def _outcome(fn):
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc).replace("glassgrad", "torch")
    if hasattr(result, "tolist"):
        return result.tolist()
    return repr(result).replace("glassgrad", "torch")


def _same(call):
    assert _outcome(lambda: call(gg)) == _outcome(lambda: call(torch))


BAD_ARGUMENTS = {
    "normal-scale": lambda L: L.distributions.Normal(L.zeros(2), L.tensor([1.0, -1.0])),
    "normal-nan-loc": lambda L: L.distributions.Normal(L.tensor([math.nan, 0.0]), 1.0),
    "normal-no-args": lambda L: L.distributions.Normal(),
    "categorical-both": lambda L: L.distributions.Categorical(L.ones(3), L.ones(3)),
    "categorical-neither": lambda L: L.distributions.Categorical(),
    "categorical-negative": lambda L: L.distributions.Categorical(L.tensor([0.5, -0.1])),
    "categorical-0d": lambda L: L.distributions.Categorical(L.tensor(1.0)),
    "bernoulli-above-one": lambda L: L.distributions.Bernoulli(L.tensor([0.5, 1.5])),
    "bernoulli-both": lambda L: L.distributions.Bernoulli(0.5, 0.1),
    "uniform-reversed": lambda L: L.distributions.Uniform(L.ones(2), L.zeros(2)),
    "beta-zero": lambda L: L.distributions.Beta(L.tensor([0.0]), L.tensor([1.0])),
    "gamma-negative-rate": lambda L: L.distributions.Gamma(L.ones(2), -L.ones(2)),
    "dirichlet-0d": lambda L: L.distributions.Dirichlet(L.tensor(1.0)),
    "dirichlet-negative": lambda L: L.distributions.Dirichlet(L.tensor([1.0, -1.0])),
    "exponential-zero": lambda L: L.distributions.Exponential(L.zeros(1)),
    "poisson-negative": lambda L: L.distributions.Poisson(L.tensor([-1.0])),
    "binomial-fractional": lambda L: L.distributions.Binomial(L.tensor([2.5]), L.tensor([0.5])),
    "multinomial-float-count": lambda L: L.distributions.Multinomial(2.5, L.ones(3)),
    "mvn-no-matrix": lambda L: L.distributions.MultivariateNormal(L.zeros(2)),
    "mvn-two-matrices": lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.eye(2), precision_matrix=L.eye(2)
    ),
    "mvn-not-pd": lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.tensor([[1.0, 2.0], [2.0, 1.0]])
    ),
    "mvn-1d-cov": lambda L: L.distributions.MultivariateNormal(L.zeros(2), L.ones(2)),
    "mvn-0d-loc": lambda L: L.distributions.MultivariateNormal(L.tensor(0.0), L.eye(2)),
    "independent-too-many": lambda L: L.distributions.Independent(
        L.distributions.Normal(L.zeros(2), 1.0), 2
    ),
    "laplace-scale": lambda L: L.distributions.Laplace(0.0, -1.0),
    "lognormal-scale": lambda L: L.distributions.LogNormal(0.0, 0.0),
    "onehot-negative": lambda L: L.distributions.OneHotCategorical(L.tensor([0.5, -0.1])),
}


@pytest.mark.parametrize("name", sorted(BAD_ARGUMENTS))
def test_bad_arguments(name):
    _same(BAD_ARGUMENTS[name])


BAD_VALUES = {
    "normal-shape": lambda L: L.distributions.Normal(L.zeros(3), 1.0).log_prob(L.zeros(2)),
    "normal-not-tensor": lambda L: L.distributions.Normal(0.0, 1.0).log_prob(0.5),
    "bernoulli-half": lambda L: L.distributions.Bernoulli(0.5).log_prob(L.tensor(0.5)),
    "categorical-out-of-range": lambda L: L.distributions.Categorical(L.ones(3)).log_prob(
        L.tensor([3])
    ),
    "categorical-float": lambda L: L.distributions.Categorical(L.ones(3)).log_prob(L.tensor([1.5])),
    "uniform-outside": lambda L: L.distributions.Uniform(0.0, 1.0).log_prob(L.tensor([2.0])),
    "gamma-negative": lambda L: L.distributions.Gamma(1.0, 1.0).log_prob(L.tensor([-1.0])),
    "beta-one": lambda L: L.distributions.Beta(2.0, 2.0).log_prob(L.tensor([1.5])),
    "dirichlet-not-simplex": lambda L: L.distributions.Dirichlet(L.ones(3)).log_prob(
        L.tensor([0.5, 0.5, 0.5])
    ),
    "poisson-fraction": lambda L: L.distributions.Poisson(2.0).log_prob(L.tensor([1.5])),
    "mvn-shape": lambda L: L.distributions.MultivariateNormal(L.zeros(2), L.eye(2)).log_prob(
        L.zeros(3)
    ),
    "uniform-outside-unvalidated": lambda L: L.distributions.Uniform(
        0.0, 1.0, validate_args=False
    ).log_prob(L.tensor([2.0])),
    "gamma-unvalidated": lambda L: (
        L.distributions.Gamma(-L.ones(1), 1.0, validate_args=False).concentration
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_values(name):
    _same(BAD_VALUES[name])


def test_set_default_validate_args():
    for lib in (torch, gg):
        D = lib.distributions
        try:
            D.Distribution.set_default_validate_args(False)
            assert D.Normal(0.0, -1.0).scale.item() == -1.0
        finally:
            D.Distribution.set_default_validate_args(True)
        with pytest.raises(ValueError, match="constraint GreaterThan"):
            D.Normal(0.0, -1.0)
    _same(lambda L: L.distributions.Distribution.set_default_validate_args(1))


CONSTRAINTS = {
    "real": lambda C, L: C.real.check(L.tensor([0.0, math.inf, math.nan])),
    "positive": lambda C, L: C.positive.check(L.tensor([-1.0, 0.0, 1.0])),
    "unit_interval": lambda C, L: C.unit_interval.check(L.tensor([-0.1, 0.0, 1.0, 1.1])),
    "simplex": lambda C, L: C.simplex.check(L.tensor([[0.5, 0.5], [0.5, 0.6]])),
    "integer_interval": lambda C, L: C.integer_interval(0, 3).check(L.tensor([0.0, 1.5, 3.0])),
    "nonnegative_integer": lambda C, L: C.nonnegative_integer.check(L.tensor([-1.0, 0.0, 2.0])),
    "boolean": lambda C, L: C.boolean.check(L.tensor([0.0, 1.0, 0.5])),
    "interval": lambda C, L: C.interval(0.0, 2.0).check(L.tensor([0.0, 2.0, 2.5])),
    "half_open": lambda C, L: C.half_open_interval(0.0, 2.0).check(L.tensor([0.0, 2.0])),
    "greater_than_eq": lambda C, L: C.greater_than_eq(1.0).check(L.tensor([1.0, 0.5])),
    "less_than": lambda C, L: C.less_than(1.0).check(L.tensor([1.0, 0.5])),
    "lower_cholesky": lambda C, L: C.lower_cholesky.check(L.tensor([[1.0, 0.0], [2.0, 3.0]])),
    "positive_definite": lambda C, L: C.positive_definite.check(
        L.tensor([[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]])
    ),
    "positive_semidefinite": lambda C, L: C.positive_semidefinite.check(
        L.tensor([[1.0, 1.0], [1.0, 1.0]])
    ),
    "corr_cholesky": lambda C, L: C.corr_cholesky.check(L.tensor([[1.0, 0.0], [0.6, 0.8]])),
    "independent": lambda C, L: C.independent(C.positive, 1).check(L.tensor([[1.0, -1.0]])),
    "cat": lambda C, L: C.cat([C.positive, C.real], 0, [1, 1]).check(L.tensor([-1.0, -1.0])),
    "stack": lambda C, L: C.stack([C.positive, C.real], 0).check(L.tensor([-1.0, -1.0])),
    "repr": lambda C, L: repr(C.interval(0.0, 1.0)),
    "is_dependent": lambda C, L: (C.is_dependent(C.dependent), C.is_dependent(C.real)),
    "event_dim": lambda C, L: (C.simplex.event_dim, C.independent(C.real, 2).event_dim),
    "is_discrete": lambda C, L: (C.nonnegative_integer.is_discrete, C.real.is_discrete),
}


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_constraints(name):
    _same(lambda L: CONSTRAINTS[name](L.distributions.constraints, L))
