"""Sampling: glassgrad's stream is not PyTorch's, so samples are checked in distribution (moments
of many draws from a fixed seed, to bounds of several standard errors: deterministic, never
flaky), and reparameterised gradients against their expectations and PyTorch's formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.distributions.cases import CASES, build

import glassgrad as gg

_DRAWS = 20000
# distributions whose variance is finite at the cases' parameters (and whose mean is defined)
_MOMENTS = [
    name
    for name in sorted(CASES)
    if name.split("-")[0]
    not in {"Cauchy", "HalfCauchy", "LogisticNormal", "LogNormal", "RelaxedBernoulli", "VonMises"}
    | {"RelaxedOneHotCategorical", "Pareto", "FisherSnedecor", "InverseGamma", "StudentT"}
]


@pytest.mark.parametrize("name", _MOMENTS)
def test_sample_moments(name):
    gg.manual_seed(0)
    dist, _ = build(gg, name, requires_grad=False)
    draws = dist.sample((_DRAWS,)).double().numpy()
    if name.startswith("Categorical"):  # compare the frequencies, not the index's moments
        counts = np.stack([(draws == k).mean(0) for k in range(dist.probs.shape[-1])], -1)
        np.testing.assert_allclose(counts, dist.probs.numpy(), atol=0.02)
        return
    mean, variance = dist.mean.numpy(), dist.variance.numpy()
    standard_error = np.sqrt(variance / _DRAWS)
    assert np.all(np.abs(draws.mean(0) - mean) <= 6 * standard_error + 1e-12)
    # the sample variance within 10% (all cases have moderate kurtosis)
    np.testing.assert_allclose(draws.var(0), variance, rtol=0.1, atol=1e-12)


@pytest.mark.parametrize("name", ["MultivariateNormal", "MultivariateNormal-scale_tril"])
def test_multivariate_normal_covariance(name):
    gg.manual_seed(1)
    dist, _ = build(gg, name, requires_grad=False)
    draws = dist.sample((_DRAWS,)).numpy()
    centred = draws - draws.mean(0)
    covariance = np.einsum("nbi,nbj->bij", centred, centred) / _DRAWS
    expected = dist.covariance_matrix.numpy()
    variances = np.diagonal(expected, axis1=-2, axis2=-1)
    # the standard error of a sample covariance is at most sqrt(2 var_i var_j / n)
    bound = 6 * np.sqrt(2 * variances[..., :, None] * variances[..., None, :] / _DRAWS)
    assert np.all(np.abs(covariance - expected) <= bound)


def _mean_gradient(make, leaves, draws=_DRAWS):
    """``d E[x] / d parameters`` estimated through ``rsample``."""
    gg.manual_seed(2)
    sample = make().rsample((draws,))
    return gg.autograd.grad(sample.mean(0).sum(), leaves)


def test_gamma_rsample_gradient_is_unbiased():
    alpha = gg.tensor([0.3, 1.0, 4.0], dtype=gg.float64, requires_grad=True)
    rate = gg.tensor([1.0, 2.0, 0.5], dtype=gg.float64, requires_grad=True)
    d_alpha, d_rate = _mean_gradient(lambda: gg.distributions.Gamma(alpha, rate), [alpha, rate])
    a, r = alpha.detach().numpy(), rate.detach().numpy()
    np.testing.assert_allclose(d_alpha.numpy(), 1 / r, rtol=0.05)  # E[x] = alpha / rate
    np.testing.assert_allclose(d_rate.numpy(), -a / r**2, rtol=0.05)


def test_beta_and_dirichlet_rsample_gradients_are_unbiased():
    a = gg.tensor([0.5, 2.0], dtype=gg.float64, requires_grad=True)
    b = gg.tensor([1.5, 3.0], dtype=gg.float64, requires_grad=True)
    d_a, d_b = _mean_gradient(lambda: gg.distributions.Beta(a, b), [a, b])
    an, bn = a.detach().numpy(), b.detach().numpy()
    np.testing.assert_allclose(d_a.numpy(), bn / (an + bn) ** 2, rtol=0.05)  # E = a / (a + b)
    np.testing.assert_allclose(d_b.numpy(), -an / (an + bn) ** 2, rtol=0.05)
    conc = gg.tensor([0.5, 1.0, 3.0], dtype=gg.float64, requires_grad=True)
    gg.manual_seed(3)
    sample = gg.distributions.Dirichlet(conc).rsample((_DRAWS,))
    (d_conc,) = gg.autograd.grad(sample[:, 0].mean(), [conc])
    c = conc.detach().numpy()
    expected = -c[0] / c.sum() ** 2 * np.ones(3) + np.array([1 / c.sum(), 0, 0])
    np.testing.assert_allclose(d_conc.numpy(), expected, rtol=0.05, atol=0.005)


def test_normal_rsample_is_loc_plus_scale_times_noise():
    loc = gg.tensor([1.0, -2.0], requires_grad=True)
    scale = gg.tensor([0.5, 2.0], requires_grad=True)
    gg.manual_seed(4)
    sample = gg.distributions.Normal(loc, scale).rsample((3,))
    assert type(sample.grad_fn).__name__ == "AddBackward0"
    d_loc, d_scale = gg.autograd.grad(sample.sum(), [loc, scale])
    noise = (sample.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(d_loc.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(d_scale.numpy(), noise.sum(0).numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):  # sample() records no graph
        gg.autograd.grad(gg.distributions.Normal(loc, scale).sample().sum(), [loc])


def test_implicit_gradients_match_torchs_formulas():
    torch.manual_seed(0)
    for alpha in (0.05, 0.3, 1.0, 2.5, 10.0, 100.0, 1000.0):
        shape = torch.full((2000,), alpha, dtype=torch.float64)
        x = torch._standard_gamma(shape)
        theirs = torch._standard_gamma_grad(shape, x).numpy()
        ours = gg._standard_gamma_grad(gg.tensor(shape.numpy()), gg.tensor(x.numpy())).numpy()
        # PyTorch's series and asymptotic forms are accurate to about 1e-3 at worst
        np.testing.assert_allclose(ours, theirs, rtol=2e-3)
        assert np.median(np.abs(ours / theirs - 1)) < 1e-4
    concentration = torch.tensor([[0.5, 1.0, 3.0]] * 500, dtype=torch.float64)
    x = torch._sample_dirichlet(concentration)
    total = concentration.sum(-1, True).expand_as(concentration)
    theirs = torch._dirichlet_grad(x, concentration, total).numpy()
    ours = gg._dirichlet_grad(*(gg.tensor(t.numpy()) for t in (x, concentration, total)))
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=2e-3)


def _outcome(fn):
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc)
    grad_fn = type(value.grad_fn).__name__ if value.grad_fn is not None else None
    return str(value.dtype), tuple(value.shape), grad_fn


SAMPLERS = {
    "_standard_gamma": lambda L: L._standard_gamma(L.ones(2, 3, requires_grad=True)),
    "_standard_gamma-long": lambda L: L._standard_gamma(L.ones(2, dtype=L.int64)),
    "_sample_dirichlet": lambda L: L._sample_dirichlet(L.ones(2, 3, dtype=L.float64)),
    "poisson": lambda L: L.poisson(L.full((2, 3), 2.0, requires_grad=True)),
    "poisson-negative": lambda L: L.poisson(L.tensor([-1.0])),
    "poisson-long": lambda L: L.poisson(L.tensor([1])),
    "binomial": lambda L: L.binomial(L.full((2, 1), 5.0), L.full((3,), 0.5)),
    "binomial-long": lambda L: L.binomial(L.tensor([5]), L.tensor([0.5])),
    "binomial-prob-long": lambda L: L.binomial(L.tensor([5.0]), L.tensor([1])),
    "binomial-mixed-floats": lambda L: L.binomial(L.ones(2), L.ones(2, dtype=L.float64) / 2),
    "binomial-no-broadcast": lambda L: L.binomial(L.ones(2), L.full((3,), 0.5)),
    "binomial-resized": lambda L: L.binomial(L.ones(2, 1), L.full((3,), 0.5)),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_against_torch(name):
    ours = _outcome(lambda: SAMPLERS[name](gg))
    theirs = _outcome(lambda: SAMPLERS[name](torch))
    assert ours == theirs


def test_samplers_in_distribution():
    gg.manual_seed(5)
    rate = gg.tensor([0.5, 4.0, 30.0], dtype=gg.float64)
    draws = gg.poisson(rate.expand(_DRAWS, 3)).numpy()
    np.testing.assert_allclose(draws.mean(0), rate.numpy(), rtol=0.05)
    np.testing.assert_allclose(draws.var(0), rate.numpy(), rtol=0.1)
    counts = gg.binomial(gg.full((_DRAWS, 2), 10.0), gg.tensor([0.2, 0.7])).numpy()
    np.testing.assert_allclose(counts.mean(0), [2.0, 7.0], rtol=0.03)
    alpha = gg.tensor([0.2, 1.0, 9.0], dtype=gg.float64)
    gamma = gg._standard_gamma(alpha.expand(_DRAWS, 3)).numpy()
    np.testing.assert_allclose(gamma.mean(0), alpha.numpy(), rtol=0.05)
    assert gamma.min() > 0  # never exactly zero (PyTorch clamps to the smallest normal)
