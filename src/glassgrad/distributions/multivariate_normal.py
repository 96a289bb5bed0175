"""The multivariate normal distribution, kept as the Cholesky factor of its covariance."""

from __future__ import annotations

import math

from glassgrad import linalg
from glassgrad.distributions import constraints
from glassgrad.distributions._primitives import _solve_triangular, broadcast_shapes
from glassgrad.distributions.distribution import Distribution
from glassgrad.distributions.utils import lazy_property, standard_normal

__all__ = ["MultivariateNormal"]


def _mahalanobis_squared(scale_tril, diff):
    """``diff^T (L L^T)^-1 diff`` for lower-triangular ``L``, batched and broadcast."""
    shape = broadcast_shapes(diff.shape[:-1], scale_tril.shape[:-2])
    n = diff.shape[-1]
    diff = diff.expand(tuple(shape) + (n,))
    tril = scale_tril.expand(tuple(shape) + (n, n))
    solved = _solve_triangular(tril, diff.unsqueeze(-1), upper=False).squeeze(-1)
    return solved.pow(2).sum(-1)


def _precision_to_scale_tril(precision):
    """``L`` with ``L L^T = P^-1`` from the Cholesky factor of the flipped precision."""
    flipped = precision.flip((-2, -1))
    lower = linalg.cholesky(flipped).flip((-2, -1))
    inverse_t = _solve_triangular(lower.mT, _eye_like(precision), upper=False)
    return inverse_t


def _eye_like(matrix):
    from glassgrad import creation

    n = matrix.shape[-1]
    return creation.eye(n, dtype=matrix.dtype).expand(matrix.shape)


class MultivariateNormal(Distribution):
    """Multivariate normal with mean ``loc`` and exactly one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril`` (the lower Cholesky factor of the covariance)."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc,
        covariance_matrix=None,
        precision_matrix=None,
        scale_tril=None,
        validate_args=None,
    ):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (
            precision_matrix is not None
        ) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        given = next(m for m in (scale_tril, covariance_matrix, precision_matrix) if m is not None)
        name = (
            "scale_tril"
            if scale_tril is not None
            else "covariance_matrix"
            if covariance_matrix is not None
            else "precision_matrix"
        )
        if given.dim() < 2:
            what = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(
                f"{what} must be at least two-dimensional, with optional leading batch dimensions"
            )
        batch_shape = broadcast_shapes(given.shape[:-2], loc.shape[:-1])
        matrix = given.expand(tuple(batch_shape) + (-1, -1))
        setattr(self, name, matrix)
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        event_shape = self.loc.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        scale_tril = self._unbroadcasted_scale_tril
        new = self._expanded(
            MultivariateNormal,
            batch_shape,
            _instance,
            ("loc",),
            _unbroadcasted_scale_tril=scale_tril,
        )
        shape = new.batch_shape + self.event_shape + self.event_shape
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(shape))
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(
            self._batch_shape + self._event_shape + self._event_shape
        )

    @lazy_property
    def covariance_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.mT).expand(self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self):
        inverse = _solve_triangular(
            self._unbroadcasted_scale_tril, _eye_like(self._unbroadcasted_scale_tril), upper=False
        )
        return (inverse.mT @ inverse).expand(
            self._batch_shape + self._event_shape + self._event_shape
        )

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return (
            self._unbroadcasted_scale_tril.pow(2)
            .sum(-1)
            .expand(self._batch_shape + self._event_shape)
        )

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = standard_normal(shape, self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        distance = _mahalanobis_squared(self._unbroadcasted_scale_tril, diff)
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + distance) - half_log_det

    def entropy(self):
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        value = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        if len(self._batch_shape) == 0:
            return value
        return value.expand(self._batch_shape)
