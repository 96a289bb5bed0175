"""``SparseAdam``: Adam for sparse gradients, which moves only the rows a gradient touches.

Each step reads the moments at the gradient's (coalesced) coordinates, moves them towards the
gradient's values and writes them back; entries the gradient does not name keep their moments
and their values. A dense gradient is refused with PyTorch's error.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad.optim._flags import check_betas
from glassgrad.optim.optimizer import Optimizer, _check_lr, _number, _zeros_like

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """SparseAdam, PyTorch's algorithm (``state['step']`` is a Python int, as there)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False) -> None:
        _check_lr(lr)
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        sparse = [
            [g, i] for g, group in enumerate(self.param_groups)
            for i, p in enumerate(group["params"]) if p.is_sparse
        ]  # fmt: skip
        if sparse:
            raise ValueError(
                f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors"
            )

    def _step_group(self, group) -> None:
        params = []
        for param in group["params"]:
            if param.grad is None:
                continue
            if not param.grad.is_sparse:
                raise RuntimeError(
                    "SparseAdam does not support dense gradients, please consider Adam instead"
                )
            state = self.state[param]
            if len(state) == 0:
                state["step"] = 0
                state["exp_avg"] = _zeros_like(param)
                state["exp_avg_sq"] = _zeros_like(param)
            state["step"] += 1
            params.append(param)
        for param in params:
            _update(param, self.state[param], group)


def _update(param, state, group) -> None:
    grad = param.grad.coalesce()
    values = grad._values()._data
    if values.size == 0:
        return
    if group["maximize"]:
        values = -values
    where = tuple(grad._indices()._data)
    beta1, beta2 = group["betas"]
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    old_avg = exp_avg._data[where]
    avg_update = (values - old_avg) * (1 - beta1)
    _write_at(exp_avg, where, old_avg + avg_update)
    old_sq = exp_avg_sq._data[where]
    sq_update = (values**2 - old_sq) * (1 - beta2)
    _write_at(exp_avg_sq, where, old_sq + sq_update)
    numer = avg_update + old_avg
    denom = np.sqrt(sq_update + old_sq) + group["eps"]
    step = state["step"]
    step_size = _number(group["lr"]) * math.sqrt(1 - beta2**step) / (1 - beta1**step)
    _write_at(param, where, param._data[where] + (-step_size) * (numer / denom))


def _write_at(tensor, where, values) -> None:
    """Store ``values`` at the coordinates ``where`` (unique, as coalesced) as one in-place op."""
    tensor._data[where] = values
    if tensor._vc is not None:
        tensor._vc[0] += 1
