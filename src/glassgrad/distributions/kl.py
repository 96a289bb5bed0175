"""``kl_divergence(p, q)`` and ``register_kl``: closed forms chosen by the types of ``p`` and
``q`` (the most specific registered pair wins)."""

from __future__ import annotations

import math
import warnings

from glassgrad import creation
from glassgrad.distributions.bernoulli import Bernoulli
from glassgrad.distributions.beta import Beta
from glassgrad.distributions.binomial import Binomial
from glassgrad.distributions.categorical import Categorical
from glassgrad.distributions.dirichlet import Dirichlet
from glassgrad.distributions.exponential import Exponential
from glassgrad.distributions.gamma import Gamma
from glassgrad.distributions.independent import Independent
from glassgrad.distributions.laplace import Laplace
from glassgrad.distributions.multivariate_normal import MultivariateNormal, _mahalanobis_squared
from glassgrad.distributions.normal import Normal
from glassgrad.distributions.one_hot_categorical import OneHotCategorical
from glassgrad.distributions.poisson import Poisson
from glassgrad.distributions.transformed_distribution import TransformedDistribution
from glassgrad.distributions.uniform import Uniform
from glassgrad.distributions.utils import op, sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_REGISTRY: dict = {}
_CHOSEN: dict = {}


def register_kl(type_p, type_q):
    """Decorator: ``fn(p, q)`` is the KL divergence for ``p`` of ``type_p``, ``q`` of ``type_q``."""
    if not isinstance(type_p, type) or not isinstance(type_q, type):
        raise TypeError(
            f"Expected type_p and type_q to be Distribution subclasses but got {type_p} and "
            f"{type_q}"
        )

    def decorator(fn):
        _REGISTRY[type_p, type_q] = fn
        _CHOSEN.clear()
        return fn

    return decorator


def _choose(type_p, type_q):
    found = _CHOSEN.get((type_p, type_q))
    if found is not None:
        return found
    matches = [
        (type_p.__mro__.index(p), type_q.__mro__.index(q), p, q)
        for p, q in _REGISTRY
        if issubclass(type_p, p) and issubclass(type_q, q)
    ]
    if not matches:
        return NotImplemented
    matches.sort(key=lambda m: (m[0] + m[1], m[0]))
    best = matches[0]
    ties = [m for m in matches if m[0] + m[1] == best[0] + best[1] and m[:2] != best[:2]]
    if ties:
        warnings.warn(
            f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). Please register_kl"
            f"({best[2].__name__}, {best[3].__name__})",
            RuntimeWarning,
            stacklevel=3,
        )
    fn = _REGISTRY[best[2], best[3]]
    _CHOSEN[type_p, type_q] = fn
    return fn


def kl_divergence(p, q):
    """``KL(p || q)`` over each batch element."""
    fn = _choose(type(p), type(q))
    if fn is NotImplemented:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {p.__class__.__name__} and q type "
            f"{q.__class__.__name__}"
        )
    return fn(p, q)


def _infinite_like(t):
    return creation.full_like(t, math.inf)


@register_kl(Normal, Normal)
def _normal_normal(p, q):
    ratio = (p.scale / q.scale).pow(2)
    shift = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (ratio + shift - 1 - ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _bernoulli_bernoulli(p, q):
    from glassgrad.nn import functional

    softplus = functional.softplus
    first = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    first = op("where")(q.probs == 0, _infinite_like(first), first)
    first = op("where")(p.probs == 0, creation.zeros_like(first), first)
    second = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    second = op("where")(q.probs == 1, _infinite_like(second), second)
    second = op("where")(p.probs == 1, creation.zeros_like(second), second)
    return first + second


@register_kl(Categorical, Categorical)
def _categorical_categorical(p, q):
    terms = p.probs * (p.logits - q.logits)
    terms = terms.masked_fill((q.probs == 0).expand_as(terms), math.inf)
    terms = terms.masked_fill((p.probs == 0).expand_as(terms), 0)
    return terms.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _onehot_onehot(p, q):
    return _categorical_categorical(p._categorical, q._categorical)


@register_kl(Binomial, Binomial)
def _binomial_binomial(p, q):
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError(
            "KL between Binomials where q.total_count > p.total_count is not implemented"
        )
    from glassgrad.nn import functional

    softplus = functional.softplus
    kl = p.total_count * (
        p.probs * (softplus(-q.logits) - softplus(-p.logits))
        + (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    )
    return kl.masked_fill(p.total_count > q.total_count, math.inf)


@register_kl(Uniform, Uniform)
def _uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return result.masked_fill(outside, math.inf)


@register_kl(Beta, Beta)
def _beta_beta(p, q):
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    s1 = a1 + b1
    log_ratio = (a2.lgamma() + b2.lgamma() + s1.lgamma()) - (
        a1.lgamma() + b1.lgamma() + (a2 + b2).lgamma()
    )
    return (
        log_ratio
        + (a1 - a2) * a1.digamma()
        + (b1 - b2) * b1.digamma()
        + (a2 + b2 - s1) * s1.digamma()
    )


@register_kl(Gamma, Gamma)
def _gamma_gamma(p, q):
    return (
        q.concentration * (p.rate / q.rate).log()
        + q.concentration.lgamma()
        - p.concentration.lgamma()
        + (p.concentration - q.concentration) * p.concentration.digamma()
        + (q.rate - p.rate) * (p.concentration / p.rate)
    )


@register_kl(Dirichlet, Dirichlet)
def _dirichlet_dirichlet(p, q):
    total_p = p.concentration.sum(-1)
    total_q = q.concentration.sum(-1)
    digamma_diff = p.concentration.digamma() - total_p.digamma().unsqueeze(-1)
    return (
        total_p.lgamma()
        - total_q.lgamma()
        - (p.concentration.lgamma() - q.concentration.lgamma()).sum(-1)
        + ((p.concentration - q.concentration) * digamma_diff).sum(-1)
    )


@register_kl(Exponential, Exponential)
def _exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - ratio.log() - 1


@register_kl(Laplace, Laplace)
def _laplace_laplace(p, q):
    ratio = p.scale / q.scale
    distance = (p.loc - q.loc).abs()
    return -ratio.log() + distance / q.scale + ratio * (-distance / p.scale).exp() - 1


@register_kl(Poisson, Poisson)
def _poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(MultivariateNormal, MultivariateNormal)
def _mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two Multivariate Normals with different event shapes "
            "cannot be computed"
        )
    from glassgrad.distributions._primitives import _solve_triangular, broadcast_shapes

    def half_log_det(tril):
        return tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    n = p.event_shape[0]
    shape = tuple(
        broadcast_shapes(
            q._unbroadcasted_scale_tril.shape[:-2], p._unbroadcasted_scale_tril.shape[:-2]
        )
    )
    q_tril = q._unbroadcasted_scale_tril.expand(shape + (n, n))
    p_tril = p._unbroadcasted_scale_tril.expand(shape + (n, n))
    trace = _solve_triangular(q_tril, p_tril, upper=False).pow(2).flatten(-2).sum(-1)
    distance = _mahalanobis_squared(q._unbroadcasted_scale_tril, q.loc - p.loc)
    return (
        half_log_det(q._unbroadcasted_scale_tril)
        - half_log_det(p._unbroadcasted_scale_tril)
        + 0.5 * (trace + distance - n)
    )


@register_kl(Independent, Independent)
def _independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _transformed_transformed(p, q):
    if p.transforms != q.transforms:
        raise NotImplementedError
    if p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


_EULER = 0.57721566490153286060


@register_kl(Uniform, Normal)
def _uniform_normal(p, q):
    width = p.high - p.low
    log_ratio = (math.sqrt(math.pi * 2) * q.scale / width).log()
    cubes = (p.high - q.loc).pow(3) - (p.low - q.loc).pow(3)
    return log_ratio + cubes / (6 * width * q.scale.pow(2))


@register_kl(Exponential, Gamma)
def _exponential_gamma(p, q):
    ratio = q.rate / p.rate
    k = q.concentration
    return -k * ratio.log() + ratio + k.lgamma() + k * _EULER - (1 + _EULER)
