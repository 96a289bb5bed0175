"""``Adam`` (and, through ``decoupled_weight_decay``, ``AdamW``'s update)."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import addcdiv_, decay_addcmul_, lerp_, scale_, temporary
from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import _grad_of, _number, _write, _zeros_like
from glassgrad.tensor import Tensor

__all__ = ["Adam"]


class Adam(PerParamOptimizer):
    """Adam, PyTorch's single-tensor (``foreach=False``, not capturable) algorithm."""

    _sparse_error = "Adam does not support sparse gradients, please consider SparseAdam instead"
    _buffers = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=False,
    ) -> None:
        check_common(lr, eps, betas, weight_decay)
        _check_betas_type(betas)
        betas = tuple(_number(b) for b in betas)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    _load_defaults = (
        ("amsgrad", False),
        ("maximize", False),
        ("foreach", None),
        ("capturable", False),
        ("differentiable", False),
        ("decoupled_weight_decay", False),
        ("fused", None),
    )

    def _init_state(self, state, param, group) -> None:
        super()._init_state(state, param, group)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(param)

    def _update_param(self, param, state, group, grad=None) -> None:
        lr = _number(group["lr"])
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        if grad is None:
            grad = _grad_of(param, group["maximize"])
        elif group["maximize"]:
            grad = -grad
        step_t = state["step"]
        _write(step_t, step_t._data + 1)
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                scale_(param, 1 - lr * weight_decay)
            else:
                grad = grad + weight_decay * param._data
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1)
        decay_addcmul_(exp_avg_sq, beta2, 1 - beta2, grad)
        second = exp_avg_sq
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]
            np.maximum(second._data, exp_avg_sq._data, out=second._data)
        if group["differentiable"]:
            _write(param, param._data + exp_avg._data / _tensor_denom(second, step_t, lr, group))
            return
        step = step_t.item()
        step_size = lr / (1 - beta1**step)
        denom = temporary(np.sqrt(second._data))
        np.divide(denom, (1 - beta2**step) ** 0.5, out=denom)
        np.add(denom, group["eps"], out=denom)
        addcdiv_(param, -step_size, exp_avg._data, denom)


def _tensor_denom(second, step_t, lr, group):
    """The denominator of PyTorch's differentiable branch, whose bias corrections are 0-d
    tensors (rounded in the step's dtype) and whose step size is folded into it."""
    beta1, beta2 = group["betas"]
    step = step_t._data
    step_size_neg = -(lr / (1 - beta1**step))
    bias_correction2_sqrt = np.sqrt(1 - beta2**step)
    return np.sqrt(second._data) / (bias_correction2_sqrt * step_size_neg) + (
        group["eps"] / step_size_neg
    )


def _check_betas_type(betas) -> None:
    if not (
        (isinstance(betas[0], float) and isinstance(betas[1], float))
        or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))
    ):
        raise ValueError("betas must be either both floats or both Tensors")
