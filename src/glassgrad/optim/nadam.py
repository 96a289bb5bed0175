"""``NAdam``: Adam with Nesterov momentum and a warming-up momentum schedule."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import addcdiv_, decay_addcmul_, lerp_, scale_, temporary
from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import (
    _check_nonnegative,
    _grad_of,
    _number,
    _step_tensor,
    _write,
    _zeros_like,
)

__all__ = ["NAdam"]


class NAdam(PerParamOptimizer):
    """NAdam, PyTorch's single-tensor algorithm (``mu_product`` kept as a 0-d tensor)."""

    _sparse_error = "NAdam does not support sparse gradients"
    _load_defaults = (*PerParamOptimizer._load_defaults, ("decoupled_weight_decay", False))
    _scalar_state = ("step", "mu_product")
    _capturable_what = "params, mu_products and state_steps"

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
    ) -> None:
        check_common(lr, eps, betas, weight_decay)
        _check_nonnegative((momentum_decay, "Invalid momentum_decay value"))
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, state, param, group) -> None:
        state["step"] = _step_tensor()
        state["mu_product"] = _step_tensor(1.0)
        state["exp_avg"] = _zeros_like(param)
        state["exp_avg_sq"] = _zeros_like(param)

    def _update_param(self, param, state, group) -> None:
        lr = _number(group["lr"])
        beta1, beta2 = group["betas"]
        weight_decay, momentum_decay = group["weight_decay"], group["momentum_decay"]
        grad = _grad_of(param, group["maximize"])
        step_t, mu_product = state["step"], state["mu_product"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _write(step_t, step_t._data + 1)
        step = step_t.item()
        bias_correction2 = 1 - beta2**step
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                scale_(param, 1 - lr * weight_decay)
            else:
                grad = grad + weight_decay * param._data
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        # mu_product lives in a float32 (default-dtype) tensor: its rounding is PyTorch's too.
        _write(mu_product, mu_product._data * mu)
        lerp_(exp_avg, grad, 1 - beta1)
        decay_addcmul_(exp_avg_sq, beta2, 1 - beta2, grad)
        denom = temporary(np.divide(exp_avg_sq._data, bias_correction2))
        np.sqrt(denom, out=denom)
        np.add(denom, group["eps"], out=denom)
        product = mu_product.item()
        mu_product_next = product * mu_next
        addcdiv_(param, -lr * (1.0 - mu) / (1.0 - product), grad, denom)
        addcdiv_(param, (-lr * mu_next) / (1.0 - mu_product_next), exp_avg._data, denom)
