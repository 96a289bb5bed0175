"""``Adamax``: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import addcdiv_, lerp_, scale_, temporary
from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import _decay, _grad_of, _number, _write

__all__ = ["Adamax"]


class Adamax(PerParamOptimizer):
    """Adamax, PyTorch's single-tensor algorithm."""

    _sparse_error = "Adamax does not support sparse gradients"
    _buffers = ("exp_avg", "exp_inf")

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        capturable=False,
    ) -> None:
        check_common(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update_param(self, param, state, group) -> None:
        lr = _number(group["lr"])
        beta1, beta2 = group["betas"]
        grad = _grad_of(param, group["maximize"])
        step_t, exp_avg, exp_inf = state["step"], state["exp_avg"], state["exp_inf"]
        _write(step_t, step_t._data + 1)
        grad = _decay(grad, param, group["weight_decay"])
        lerp_(exp_avg, grad, 1 - beta1)
        bound = temporary(np.abs(grad))
        np.add(bound, group["eps"], out=bound)
        scale_(exp_inf, beta2)
        np.maximum(exp_inf._data, bound, out=exp_inf._data)
        clr = lr / (1 - beta1 ** step_t.item())
        addcdiv_(param, -clr, exp_avg._data, exp_inf._data)
