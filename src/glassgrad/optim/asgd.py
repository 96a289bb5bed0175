"""``ASGD``: averaged stochastic gradient descent (Polyak-Juditsky averaging)."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import add_scaled_, scale_, temporary
from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import _decay, _grad_of, _number, _step_tensor, _write, _zeros_like

__all__ = ["ASGD"]


class ASGD(PerParamOptimizer):
    """ASGD, PyTorch's single-tensor algorithm; ``eta`` and ``mu`` are 0-d tensors as there."""

    _sparse_error = "ASGD does not support sparse gradients"
    _scalar_state = ("step", "eta", "mu")
    _capturable_what = "params, mus, etas, and state_steps"

    def __init__(
        self,
        params,
        lr=1e-2,
        lambd=1e-4,
        alpha=0.75,
        t0=1e6,
        weight_decay=0,
        foreach=None,
        maximize=False,
        differentiable=False,
        capturable=False,
    ) -> None:
        check_common(lr, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, state, param, group) -> None:
        state["step"] = _step_tensor()
        state["eta"] = _step_tensor(_number(group["lr"]))
        state["mu"] = _step_tensor(1.0)
        state["ax"] = _zeros_like(param)

    def _update_param(self, param, state, group) -> None:
        lr, lambd, alpha, t0 = _number(group["lr"]), group["lambd"], group["alpha"], group["t0"]
        grad = _grad_of(param, group["maximize"])
        step_t, eta, mu, ax = state["step"], state["eta"], state["mu"], state["ax"]
        _write(step_t, step_t._data + 1)
        grad = _decay(grad, param, group["weight_decay"])
        eta_value = eta.item()
        scale_(param, 1 - lambd * eta_value)
        add_scaled_(param, -eta_value, grad)
        if mu.item() != 1:
            gap = temporary(np.subtract(param._data, ax._data))
            np.multiply(gap, mu._data, out=gap)
            add_scaled_(ax, 1, gap)
        else:
            _write(ax, param._data)
        step = step_t.item()
        _write(eta, lr / ((1 + lambd * lr * step) ** alpha))
        _write(mu, 1 / max(1, step - t0))
