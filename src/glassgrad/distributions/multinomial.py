"""The multinomial distribution: category counts of ``total_count`` categorical draws."""

from __future__ import annotations

from glassgrad.distributions import constraints
from glassgrad.distributions.categorical import Categorical
from glassgrad.distributions.distribution import Distribution
from glassgrad.distributions.utils import broadcast_all
from glassgrad.tensor import Size

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts over the categories of ``probs``/``logits`` (last dimension) in ``total_count``
    trials (``total_count`` need not be given for ``log_prob``)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = None
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(
            Multinomial,
            batch_shape,
            _instance,
            total_count=self.total_count,
            _categorical=self._categorical.expand(batch_shape),
        )

    def _new(self, *args, **kwargs):
        return self._categorical._new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def param_shape(self):
        return self._categorical.param_shape

    def sample(self, sample_shape=()):
        from glassgrad.autograd.grad_mode import no_grad
        from glassgrad.creation import zeros

        sample_shape = Size(sample_shape)
        with no_grad():
            draws = self._categorical.sample(Size((self.total_count,)) + sample_shape)
            # (trials, *sample, *batch) -> counts per category
            draws = draws.permute(*range(1, draws.dim()), 0)
            counts = zeros(tuple(self._extended_shape(sample_shape)), dtype=self.probs.dtype)
            ones = draws.new_ones(draws.shape).to(counts.dtype)
            counts.scatter_add_(-1, draws, ones)
            return counts

    def entropy(self):
        from glassgrad.distributions.binomial import Binomial

        n = self.total_count
        binomial = Binomial(n, self.probs)
        support = binomial.enumerate_support(False)[1:]
        log_factorials = (support + 1).lgamma()
        terms = binomial.log_prob(support).exp() * log_factorials
        terms = terms.sum([0, -1])
        from glassgrad.creation import tensor as _tensor

        count = _tensor(n)  # (an integer tensor: its lgamma is float32, as in PyTorch)
        return count * self._categorical.entropy() - (count + 1).lgamma() + terms

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        logits = logits.clone()
        log_factorial_n = (value.sum(-1) + 1).lgamma()
        log_factorial_xs = (value + 1).lgamma().sum(-1)
        logits[(value == 0) & (logits == -float("inf"))] = 0
        log_powers = (logits * value).sum(-1)
        return log_factorial_n - log_factorial_xs + log_powers
