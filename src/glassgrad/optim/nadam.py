"""``NAdam``: Adam with Nesterov momentum and a warming-up momentum schedule."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._flags import check_betas, check_step_flags
from glassgrad.optim._inplace import addcdiv_, decay_addcmul_, lerp_, scale_, temporary
from glassgrad.optim.optimizer import (
    Optimizer,
    _check_lr,
    _check_nonnegative,
    _grad_of,
    _number,
    _step_tensor,
    _steps_to_tensors,
    _with_grad,
    _write,
    _zeros_like,
)
from glassgrad.tensor import Tensor

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, PyTorch's single-tensor algorithm (``mu_product`` kept as a 0-d tensor)."""

    _sparse_error = "NAdam does not support sparse gradients"

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
        _check_lr(lr)
        _check_nonnegative((lr, "Invalid learning rate"), (eps, "Invalid epsilon value"))
        check_betas(betas)
        _check_nonnegative(
            (weight_decay, "Invalid weight_decay value"),
            (momentum_decay, "Invalid momentum_decay value"),
        )
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

    _load_defaults = (
        ("maximize", False),
        ("foreach", None),
        ("capturable", False),
        ("differentiable", False),
        ("decoupled_weight_decay", False),
    )

    def _after_load(self) -> None:
        super()._after_load()
        for group in self.param_groups:
            _steps_to_tensors(self.state, group)
            for param in group["params"]:
                entry = self.state.get(param, {})
                if entry and not isinstance(entry["mu_product"], Tensor):
                    entry["mu_product"] = _step_tensor(entry["mu_product"])

    def _update_group(self, group) -> None:
        params = _with_grad(group)
        for param in params:
            state = self.state[param]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["mu_product"] = _step_tensor(1.0)
                state["exp_avg"] = _zeros_like(param)
                state["exp_avg_sq"] = _zeros_like(param)
        for param in params:
            check_step_flags(group, param, "params, mu_products and state_steps")
            self._update_param(param, self.state[param], group)

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
