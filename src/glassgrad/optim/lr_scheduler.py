"""``torch.optim.lr_scheduler``: every learning-rate scheduler, by PyTorch's names.

The base class and the simple schedulers are in ``_scheduler``; the annealing, cyclic/chained and
plateau/one-cycle ones in their own modules, each importing the base from ``_scheduler`` (so no
module here imports back the module that imports it).
"""

from __future__ import annotations

from glassgrad.optim._annealing import CosineAnnealingLR, CosineAnnealingWarmRestarts, PolynomialLR
from glassgrad.optim._cyclic_chained import ChainedScheduler, CyclicLR, SequentialLR
from glassgrad.optim._plateau_onecycle import OneCycleLR, ReduceLROnPlateau
from glassgrad.optim._scheduler import (  # noqa: F401 - EPOCH_DEPRECATION_WARNING: PyTorch's
    EPOCH_DEPRECATION_WARNING,
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    StepLR,
    _format_param,
)


class _LRScheduler(LRScheduler):
    """The old name of ``LRScheduler``, kept as PyTorch keeps it."""


__all__ = [
    "LRScheduler",
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "SequentialLR",
    "CosineAnnealingLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
    "CyclicLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "PolynomialLR",
]
