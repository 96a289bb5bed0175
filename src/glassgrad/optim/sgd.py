"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from glassgrad.optim._flags import check_step_flags
from glassgrad.optim._inplace import add_scaled_
from glassgrad.optim.optimizer import (
    Optimizer,
    _check_lr,
    _decay,
    _grad_of,
    _number,
    _with_grad,
    _write,
    has_sparse_grad,
)
from glassgrad.tensor import Tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's single-tensor algorithm step for step."""

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    ) -> None:
        _check_lr(lr)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    _load_defaults = (
        ("nesterov", False),
        ("maximize", False),
        ("foreach", None),
        ("differentiable", False),
        ("fused", False),
    )

    def _update_group(self, group) -> None:
        lr = _number(group["lr"])
        momentum, dampening = group["momentum"], group["dampening"]
        weight_decay = group["weight_decay"]
        for param in _with_grad(group):
            check_step_flags(group, param)
            if has_sparse_grad(param):
                self._sparse_update(param, group, lr)
                continue
            grad = _grad_of(param, group["maximize"])
            grad = _decay(grad, param, weight_decay)
            if momentum != 0:
                state = self.state[param]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor._from_array(grad.copy())
                else:
                    _write(buf, buf._data * momentum + (1 - dampening) * grad)
                grad = grad + momentum * buf._data if group["nesterov"] else buf._data
            add_scaled_(param, -lr, grad)

    def _sparse_update(self, param, group, lr) -> None:
        """A sparse gradient (an embedding's): sparse tensor arithmetic, the buffer stays sparse."""
        grad = -param._grad if group["maximize"] else param._grad
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])  # PyTorch's error for sparse
        momentum = group["momentum"]
        if momentum != 0:
            buf = self.state[param].get("momentum_buffer")
            if buf is None:
                buf = grad.detach().clone()
            else:
                buf = buf * momentum + grad * (1 - group["dampening"])
            self.state[param]["momentum_buffer"] = buf
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        _write(param, (param + grad * (-lr))._data)
