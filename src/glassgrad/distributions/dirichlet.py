"""The Dirichlet distribution over the probability simplex."""

from __future__ import annotations

from glassgrad.autograd.function import Function
from glassgrad.distributions import constraints
from glassgrad.distributions._primitives import _dirichlet_grad, _sample_dirichlet
from glassgrad.distributions.exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


class _ReparameterisedDirichlet(Function):
    """A Dirichlet draw whose gradient to the concentration is the implicit one: the draw moves
    with the concentration so that its quantiles stay fixed."""

    @staticmethod
    def forward(ctx, concentration):
        x = _sample_dirichlet(concentration)
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        x, concentration = ctx.saved_tensors
        total = concentration.sum(-1, True).expand_as(concentration)
        local = _dirichlet_grad(x, concentration, total)
        return local * (grad_output - (x * grad_output).sum(-1, True))


class Dirichlet(ExponentialFamily):
    """Dirichlet with ``concentration`` (its last dimension is the number of categories)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Dirichlet, batch_shape, _instance, ("concentration",))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return _ReparameterisedDirichlet.apply(self.concentration.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        from glassgrad import special

        a = self.concentration
        return special.xlogy(a - 1.0, value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        shifted = (self.concentration - 1).clamp(min=0.0)
        mode = shifted / shifted.sum(-1, True)
        # every concentration below 1: the density peaks at a corner (the first, as PyTorch's
        # argmax over the row's NaNs picks)
        corner = (self.concentration < 1).all(-1)
        if bool(corner.any()):
            from glassgrad.distributions.utils import op
            from glassgrad.nn import functional

            onehot = functional.one_hot(mode.argmax(-1), shifted.shape[-1]).to(mode)
            mode = op("where")(corner.unsqueeze(-1), onehot, mode)
        return mode

    @property
    def variance(self):
        total = self.concentration.sum(-1, True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def entropy(self):
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        return (
            self.concentration.lgamma().sum(-1)
            - a0.lgamma()
            - (k - a0) * a0.digamma()
            - ((self.concentration - 1.0) * self.concentration.digamma()).sum(-1)
        )

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()
