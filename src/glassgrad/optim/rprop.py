"""``Rprop``: resilient backpropagation, per-coordinate step sizes driven by gradient signs."""

from __future__ import annotations

import numpy as np

from glassgrad.optim._per_param import PerParamOptimizer, check_common
from glassgrad.optim.optimizer import _grad_of, _number, _step_tensor, _write, _zeros_like
from glassgrad.tensor import Tensor

__all__ = ["Rprop"]


class Rprop(PerParamOptimizer):
    """Rprop, PyTorch's single-tensor algorithm."""

    _sparse_error = "Rprop does not support sparse gradients"

    def __init__(
        self,
        params,
        lr=1e-2,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        *,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ) -> None:
        check_common(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, state, param, group) -> None:
        state["step"] = _step_tensor()
        state["prev"] = _zeros_like(param)
        state["step_size"] = Tensor._from_array(np.full_like(param._data, _number(group["lr"])))

    def _update_param(self, param, state, group) -> None:
        etaminus, etaplus = group["etas"]
        low, high = group["step_sizes"]
        grad = _grad_of(param, group["maximize"])
        prev, step_size = state["prev"], state["step_size"]
        _write(state["step"], state["step"]._data + 1)
        sign = np.sign(grad * prev._data)
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, sign))
        factor = np.where(sign == 0, 1, factor).astype(grad.dtype)
        _write(step_size, np.clip(step_size._data * factor, low, high))
        grad = np.where(factor == factor.dtype.type(etaminus), 0, grad).astype(grad.dtype)
        _write(param, param._data + (-1) * np.sign(grad) * step_size._data)
        _write(prev, grad)
