"""``Adafactor``: second moments kept as row and column factors for matrices."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._inplace import add_scaled_, scale_
from glassgrad.optim._per_param import PerParamOptimizer
from glassgrad.optim.optimizer import (
    _check_lr,
    _grad_of,
    _lerp,
    _number,
    _step_tensor,
    _with_grad,
    _write,
    _zeros_like,
)
from glassgrad.tensor import Tensor

__all__ = ["Adafactor"]


class Adafactor(PerParamOptimizer):
    """Adafactor as PyTorch 2.13 implements it (single-tensor algorithm)."""

    _sparse_error = "Adafactor does not support sparse gradients"

    def __init__(
        self,
        params,
        lr=1e-2,
        beta2_decay: float = -0.8,
        eps=(None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach=None,
        maximize: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    _load_defaults = (("foreach", None),)

    def _init_state(self, state, param, group) -> None:
        state["step"] = _step_tensor()
        grad = param._grad._data
        if grad.ndim > 1:
            row_shape = list(grad.shape)
            row_shape[-1] = 1
            state["row_var"] = Tensor._from_array(np.zeros(row_shape, grad.dtype))
            col_shape = list(grad.shape)
            col_shape[-2] = 1
            state["col_var"] = Tensor._from_array(np.zeros(col_shape, grad.dtype))
        else:
            state["variance"] = _zeros_like(param._grad)

    def _update_group(self, group) -> None:
        params = _with_grad(group)
        self._init_states(params, group)
        eps1, eps2 = group["eps"]
        for param in params:
            if eps1 is None:
                # PyTorch fills it from the first parameter's dtype and keeps it for the group.
                eps1 = float(np.finfo(param._data.dtype).eps)
            self._update_param(param, self.state[param], group, eps1, eps2)

    def _update_param(self, param, state, group, eps1, eps2) -> None:
        lr = _number(group["lr"])
        grad = _grad_of(param, group["maximize"])
        step_t = state["step"]
        _write(step_t, step_t._data + 1)
        step = step_t.item()
        one_minus_beta2_t = step ** group["beta2_decay"]
        rho_t = min(lr, 1 / (step**0.5))
        norm = float(np.sqrt(np.sum(param._data * param._data)))
        alpha = max(eps2, norm / (param.numel() ** 0.5)) * rho_t
        if group["weight_decay"] != 0:
            scale_(param, 1 - lr * group["weight_decay"])
        if grad.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            row_mean = _mean_square(grad, -1)
            _write(row_var, _lerp(row_var._data, row_mean, one_minus_beta2_t))
            col_mean = _mean_square(grad, -2)
            _write(col_var, _lerp(col_var._data, col_mean, one_minus_beta2_t))
            var_estimate = np.matmul(row_var._data, col_var._data)
            row_scale = np.maximum(np.mean(row_var._data, axis=-2, keepdims=True), eps1)
            var_estimate = var_estimate / row_scale.astype(var_estimate.dtype)
        else:
            variance = state["variance"]
            _write(variance, _lerp(variance._data, grad * grad, one_minus_beta2_t))
            var_estimate = variance._data.copy()
        update = 1 / np.sqrt(np.maximum(var_estimate, eps1 * eps1))
        update = update * grad
        update_norm = float(np.sqrt(np.sum(update * update)))
        denom = max(1.0, update_norm / ((update.size**0.5) * group["d"]))
        add_scaled_(param, -alpha / denom, update)


def _mean_square(grad, dim: int):
    """``torch.norm(grad, dim=dim, keepdim=True).square_().div_(grad.size(dim))``."""
    norm = np.sqrt(np.sum(grad * grad, axis=dim, keepdims=True))
    return norm * norm / grad.shape[dim]
