"""``Adadelta``: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import add_scaled_, decay_addcmul_, temporary
from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import _check_nonnegative, _decay, _grad_of, _number, _write

__all__ = ["Adadelta"]


class Adadelta(PerParamOptimizer):
    """Adadelta, PyTorch's single-tensor algorithm."""

    _sparse_error = "Adadelta does not support sparse gradients"
    _buffers = ("square_avg", "acc_delta")
    _supports_xla = False

    def __init__(
        self,
        params,
        lr=1.0,
        rho=0.9,
        eps=1e-6,
        weight_decay=0,
        foreach=None,
        *,
        capturable=False,
        maximize=False,
        differentiable=False,
    ) -> None:
        check_common(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonnegative(
            (eps, "Invalid epsilon value"), (weight_decay, "Invalid weight_decay value")
        )
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_param(self, param, state, group) -> None:
        lr, rho, eps = _number(group["lr"]), group["rho"], group["eps"]
        step_t, square_avg, acc_delta = state["step"], state["square_avg"], state["acc_delta"]
        _write(step_t, step_t._data + 1)
        grad = _grad_of(param, group["maximize"])
        grad = _decay(grad, param, group["weight_decay"])
        decay_addcmul_(square_avg, rho, 1 - rho, grad)
        std = temporary(np.add(square_avg._data, eps))
        np.sqrt(std, out=std)
        delta = temporary(np.add(acc_delta._data, eps))
        np.sqrt(delta, out=delta)
        np.divide(delta, std, out=delta)
        np.multiply(delta, grad, out=delta)
        decay_addcmul_(acc_delta, rho, 1 - rho, delta)
        add_scaled_(param, -lr, delta)
