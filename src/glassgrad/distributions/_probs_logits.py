"""The ``probs``/``logits`` pair that Bernoulli, Binomial and Categorical share."""

from __future__ import annotations

from glassgrad.distributions.utils import lazy_property, logits_to_probs, probs_to_logits

__all__ = ["ProbsOrLogits"]


class ProbsOrLogits:
    """A distribution given by ``probs`` or by ``logits`` (kept as ``_param``): the other one is
    computed on first use. ``_binary``: one probability per event (Bernoulli's log-odds), not a
    normalised last dimension."""

    _binary = True

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=self._binary)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=self._binary)

    @property
    def param_shape(self):
        return self._param.size()

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    def _expand_pair(self, cls, batch_shape, _instance, params=(), param_shape=None):
        """``expand`` of ``params`` and whichever of ``probs``/``logits`` this one holds."""
        params = (*params, "probs", "logits")
        new = self._expanded(cls, batch_shape, _instance, params, param_shape)
        new._param = new.logits if "logits" in self.__dict__ else new.probs
        return new
