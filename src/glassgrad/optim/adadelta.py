"""``Adadelta``: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._flags import check_step_flags
from glassgrad.optim._inplace import add_scaled_, decay_addcmul_, temporary
from glassgrad.optim.optimizer import (
    Optimizer,
    _check_lr,
    _check_nonnegative,
    _decay,
    _grad_of,
    _number,
    _step_tensor,
    _with_grad,
    _write,
    _zeros_like,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, PyTorch's single-tensor algorithm."""

    _sparse_error = "Adadelta does not support sparse gradients"

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
        _check_lr(lr)
        _check_nonnegative((lr, "Invalid learning rate"))
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonnegative((eps, "Invalid epsilon value"))
        _check_nonnegative((weight_decay, "Invalid weight_decay value"))
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

    _load_defaults = (
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("capturable", False),
    )
    _has_step = True

    def _update_group(self, group) -> None:
        params = _with_grad(group)
        for param in params:
            state = self.state[param]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["square_avg"] = _zeros_like(param)
                state["acc_delta"] = _zeros_like(param)
        for param in params:
            check_step_flags(group, param, supports_xla=False)
        lr, rho, eps = _number(group["lr"]), group["rho"], group["eps"]
        for param in params:
            state = self.state[param]
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
