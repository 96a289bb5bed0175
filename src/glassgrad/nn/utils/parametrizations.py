"""``nn.utils.parametrizations``: ready-made parametrizations (``weight_norm``)."""

from __future__ import annotations

from glassgrad.nn.modules.module import Module
from glassgrad.nn.utils import parametrize
from glassgrad.nn.utils.weight_norm import _norm_except_dim, _weight_norm

__all__ = ["weight_norm"]


class _WeightNorm(Module):
    """``g * v / ||v||`` from the magnitude ``original0`` and the direction ``original1``."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name: str = "weight", dim: int = 0):
    """Reparameterise ``module.<name>`` by its magnitude and direction (Salimans and Kingma)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module
