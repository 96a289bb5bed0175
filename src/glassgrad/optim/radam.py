"""``RAdam``: Adam whose adaptive step is switched on once its variance is tractable."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import add_scaled_, decay_addcmul_, lerp_, scale_, temporary
from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import _grad_of, _number, _write

__all__ = ["RAdam"]


class RAdam(PerParamOptimizer):
    """RAdam, PyTorch's single-tensor algorithm."""

    _sparse_error = "RAdam does not support sparse gradients"
    _buffers = ("exp_avg", "exp_avg_sq")
    _load_defaults = (*PerParamOptimizer._load_defaults, ("decoupled_weight_decay", False))

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        decoupled_weight_decay=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
    ) -> None:
        check_common(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_param(self, param, state, group) -> None:
        lr = _number(group["lr"])
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        grad = _grad_of(param, group["maximize"])
        step_t, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        _write(step_t, step_t._data + 1)
        step = step_t.item()
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                scale_(param, 1 - lr * weight_decay)
            else:
                grad = grad + weight_decay * param._data
        lerp_(exp_avg, grad, 1 - beta1)
        decay_addcmul_(exp_avg_sq, beta2, 1 - beta2, grad)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        update = temporary(np.divide(exp_avg._data, bias_correction1))
        np.multiply(update, lr, out=update)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            adaptive_lr = temporary(np.sqrt(exp_avg_sq._data))
            np.add(adaptive_lr, group["eps"], out=adaptive_lr)
            np.divide(bias_correction2**0.5, adaptive_lr, out=adaptive_lr)
            np.multiply(update, adaptive_lr, out=update)
            np.multiply(update, rect, out=update)
        add_scaled_(param, -1.0, update)
