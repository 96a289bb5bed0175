"""``SparseAdam``: Adam for sparse gradients.

glassgrad has no sparse tensors, so no gradient can take SparseAdam's path: a step on a dense
gradient raises PyTorch's error, and the constructor checks PyTorch's arguments.
"""

from __future__ import annotations

from glassgrad.optim._flags import check_betas
from glassgrad.optim.optimizer import Optimizer, _check_lr

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """SparseAdam: PyTorch's constructor checks and its refusal of dense gradients."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False) -> None:
        _check_lr(lr)
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)

    def _update_group(self, group) -> None:
        for param in group["params"]:
            if param._grad is not None and not param._grad.is_sparse:
                raise RuntimeError(
                    "SparseAdam does not support dense gradients, please consider Adam instead"
                )
