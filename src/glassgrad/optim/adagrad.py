"""``Adagrad``: per-coordinate step sizes from the running sum of squared gradients."""

from __future__ import annotations

import numpy as np

from glassgrad.optim.adam import _steps_to_tensors
from glassgrad.optim.optimizer import (
    Optimizer,
    _grad_of,
    _step_tensor,
    _to_scalar,
    _with_grad,
    _write,
)
from glassgrad.tensor import Tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, PyTorch's single-tensor algorithm (dense gradients)."""

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        fused=None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        for value, message in (
            (lr, "Invalid learning rate"),
            (lr_decay, "Invalid lr_decay"),
            (weight_decay, "Invalid weight_decay"),
            (initial_accumulator_value, "Invalid initial_accumulator_value"),
            (eps, "Invalid epsilon"),
        ):
            if not 0.0 <= value:
                suffix = "" if message == "Invalid learning rate" else " value"
                raise ValueError(f"{message}{suffix}: {value}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        # Unlike the other optimizers, Adagrad creates its state eagerly, for every parameter.
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state[param]
                state["step"] = _step_tensor()
                state["sum"] = Tensor._from_array(
                    np.full_like(param._data, initial_accumulator_value)
                )

    def _after_load(self) -> None:
        for group in self.param_groups:
            for key, value in (
                ("foreach", None),
                ("maximize", False),
                ("differentiable", False),
                ("fused", None),
            ):
                group.setdefault(key, value)
            _steps_to_tensors(self.state, group)

    def _update_group(self, group) -> None:
        lr = _to_scalar(group["lr"])
        for param in _with_grad(group):
            state = self.state[param]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["sum"] = Tensor._from_array(
                    np.full_like(param._data, group["initial_accumulator_value"])
                )
            step_t, state_sum = state["step"], state["sum"]
            _write(step_t, step_t._data + 1)
            step = step_t.item()
            grad = _grad_of(param, group["maximize"])
            if group["weight_decay"] != 0:
                grad = grad + group["weight_decay"] * param._data
            clr = lr / (1 + (step - 1) * group["lr_decay"])
            _write(state_sum, state_sum._data + 1 * grad * grad)
            std = np.sqrt(state_sum._data) + group["eps"]
            _write(param, param._data + (-clr) * grad / std)
