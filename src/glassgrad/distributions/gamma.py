"""The gamma distribution (shape ``concentration``, inverse scale ``rate``)."""

from __future__ import annotations

import numpy as np

from glassgrad import special
from glassgrad.distributions import constraints
from glassgrad.distributions._primitives import _standard_gamma
from glassgrad.distributions.exp_family import ExponentialFamily
from glassgrad.distributions.utils import broadcast_all

__all__ = ["Gamma"]


def _tiny(t):
    return float(np.finfo(t.detach().numpy().dtype).tiny)


class Gamma(ExponentialFamily):
    """Gamma: density ``rate^a x^(a-1) exp(-rate x) / Gamma(a)`` for ``a`` = concentration."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Gamma, batch_shape, _instance, ("concentration", "rate"))

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        draw = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return draw.clamp(min=_tiny(draw))  # a draw of exactly 0 would have log_prob -inf

    def log_prob(self, value):
        from glassgrad.creation import as_tensor

        value = as_tensor(value, dtype=self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        return (
            special.xlogy(self.concentration, self.rate)
            + special.xlogy(self.concentration - 1, value)
            - self.rate * value
            - self.concentration.lgamma()
        )

    def entropy(self):
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1.0 - a) * a.digamma()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return special.gammainc(self.concentration, self.rate * value)

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()
