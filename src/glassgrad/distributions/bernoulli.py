"""The Bernoulli distribution: 1 with probability ``probs``, else 0."""

from __future__ import annotations

from glassgrad import creation
from glassgrad.distributions import constraints
from glassgrad.distributions._probs_logits import ProbsOrLogits
from glassgrad.distributions.exp_family import ExponentialFamily
from glassgrad.distributions.utils import (
    broadcast_all,
    op,
)

__all__ = ["Bernoulli"]


def _bce_with_logits(logits, value):
    from glassgrad.nn import functional

    return functional.binary_cross_entropy_with_logits(logits, value, reduction="none")


class Bernoulli(ProbsOrLogits, ExponentialFamily):
    """Bernoulli by ``probs`` or by ``logits`` (log-odds), exactly one of them."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_pair(Bernoulli, batch_shape, _instance)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs)
        return mode.masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        from glassgrad.autograd.grad_mode import no_grad
        from glassgrad.ops.random.sample import bernoulli

        shape = self._extended_shape(sample_shape)
        with no_grad():
            return bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        values = creation.arange(2, dtype=self._param.dtype)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    @property
    def _natural_params(self):
        return (op("logit")(self.probs),)

    def _log_normalizer(self, x):
        return x.exp().log1p()
