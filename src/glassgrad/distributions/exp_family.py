"""``ExponentialFamily``: the distributions whose density is exp(<theta, T(x)> - F(theta))."""

from __future__ import annotations

from glassgrad.distributions.distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Marks a distribution of the exponential family (PyTorch's KL registry dispatches on it)."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError
