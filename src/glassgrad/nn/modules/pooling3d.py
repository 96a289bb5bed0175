"""Three-dimensional pooling layers: ``MaxPool3d``, ``AvgPool3d``, ``AdaptiveAvgPool3d``,
``AdaptiveMaxPool3d`` and ``LPPool3d``."""

from __future__ import annotations

from glassgrad.nn import functional as F
from glassgrad.nn.modules.pooling import AvgPool2d, _AdaptiveAvgPoolNd, _MaxPoolNd
from glassgrad.nn.modules.pooling1d import _AdaptiveMaxPoolNd, _LPPoolNd

__all__ = ["MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "LPPool3d"]


class MaxPool3d(_MaxPoolNd):
    """The maximum of each window of a ``(N, C, D, H, W)`` input."""

    _function = "max_pool3d"


class AvgPool3d(AvgPool2d):
    """The mean of each window of a ``(N, C, D, H, W)`` input."""

    _function = "avg_pool3d"


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling of the last three dims into ``output_size`` windows."""

    _function = "adaptive_avg_pool3d"


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling of the last three dims into ``output_size`` windows."""

    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class LPPool3d(_LPPoolNd):
    """The ``norm_type``-norm of each window of the last three dims."""

    def forward(self, input):
        return F.lp_pool3d(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )
