"""``Adagrad``: per-coordinate step sizes from the running sum of squared gradients."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._flags import check_step_flags
from glassgrad.optim._inplace import addcdiv_, decay_addcmul_, temporary
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
    has_sparse_grad,
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
        _check_lr(lr)
        _check_nonnegative(
            (lr, "Invalid learning rate"),
            (lr_decay, "Invalid lr_decay value"),
            (weight_decay, "Invalid weight_decay value"),
            (initial_accumulator_value, "Invalid initial_accumulator_value value"),
            (eps, "Invalid epsilon value"),
        )
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
                self.state[param].update(_new_state(param, initial_accumulator_value))

    _load_defaults = (
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("fused", None),
    )
    _scalar_state = ("step",)

    def _update_group(self, group) -> None:
        lr = _number(group["lr"])
        for param in _with_grad(group):
            check_step_flags(group, param)
            state = self.state[param]
            if len(state) == 0:
                state.update(_new_state(param, group["initial_accumulator_value"]))
            step_t, state_sum = state["step"], state["sum"]
            _write(step_t, step_t._data + 1)
            step = step_t.item()
            clr = lr / (1 + (step - 1) * group["lr_decay"])
            if has_sparse_grad(param):
                _sparse_update(param, state_sum, group, clr)
                continue
            grad = _grad_of(param, group["maximize"])
            grad = _decay(grad, param, group["weight_decay"])
            decay_addcmul_(state_sum, 1, 1, grad)
            std = temporary(np.sqrt(state_sum._data))
            np.add(std, group["eps"], out=std)
            addcdiv_(param, -clr, grad, std)


def _new_state(param, initial_accumulator_value) -> dict:
    sum_ = Tensor._from_array(np.full_like(param._data, initial_accumulator_value))
    return {"step": _step_tensor(), "sum": sum_}


def _sparse_update(param, state_sum, group, clr) -> None:
    """The step for a sparse gradient: only its (coalesced) coordinates accumulate and move."""
    if group["weight_decay"] != 0:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    grad = param._grad.coalesce()
    values = grad._values()._data
    if group["maximize"]:
        values = -values
    where = tuple(grad._indices()._data)
    state_sum._data[where] = state_sum._data[where] + values**2
    std_values = np.sqrt(state_sum._data[where]) + group["eps"]
    param._data[where] = param._data[where] + (-clr) * (values / std_values)
    for tensor in (state_sum, param):
        if tensor._vc is not None:
            tensor._vc[0] += 1
