"""``RMSprop``: squared-gradient running average, optionally centered and with momentum."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import add_scaled_, addcdiv_, decay_addcmul_, lerp_, scale_, temporary
from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import (
    _check_nonnegative,
    _decay,
    _grad_of,
    _number,
    _write,
    _zeros_like,
)

__all__ = ["RMSprop"]


class RMSprop(PerParamOptimizer):
    """RMSprop, PyTorch's single-tensor algorithm."""

    _sparse_error = "RMSprop does not support sparse gradients"
    _buffers = ("square_avg",)

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ) -> None:
        check_common(lr, eps)
        _check_nonnegative(
            (momentum, "Invalid momentum value"),
            (weight_decay, "Invalid weight_decay value"),
            (alpha, "Invalid alpha value"),
        )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    _load_defaults = (
        ("momentum", 0),
        ("centered", False),
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("capturable", False),
    )

    def _init_state(self, state, param, group) -> None:
        super()._init_state(state, param, group)
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(param)

    def _update_param(self, param, state, group) -> None:
        lr = _number(group["lr"])
        alpha, momentum = group["alpha"], group["momentum"]
        grad = _grad_of(param, group["maximize"])
        _write(state["step"], state["step"]._data + 1)
        grad = _decay(grad, param, group["weight_decay"])
        square_avg = state["square_avg"]
        decay_addcmul_(square_avg, alpha, 1 - alpha, grad)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - alpha)
            avg = np.sqrt(square_avg._data + (-1) * grad_avg._data * grad_avg._data)
        else:
            avg = np.sqrt(square_avg._data)
        avg = temporary(avg)
        np.add(avg, group["eps"], out=avg)
        if momentum > 0:
            buf = state["momentum_buffer"]
            scale_(buf, momentum)
            addcdiv_(buf, 1, grad, avg)
            add_scaled_(param, -lr, buf._data)
        else:
            addcdiv_(param, -lr, grad, avg)
