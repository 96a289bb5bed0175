"""``torch.optim._functional``: optimizer updates as functions of explicit tensor lists (the
caller keeps the state), for code that drives an update without an ``Optimizer`` object.

``adam``/``adamw`` run the same per-parameter update as ``Adam``; ``sgd`` the same as ``SGD``.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.optim._inplace import add_scaled_
from glassgrad.tensor import Tensor

__all__ = ["adam", "adamw", "sgd"]


def _check_steps(state_steps) -> None:
    if not all(isinstance(t, Tensor) for t in state_steps):
        raise RuntimeError(
            "API has changed, `state_steps` argument must contain a list of singleton tensors"
        )


def adam(
    params,
    grads,
    exp_avgs,
    exp_avg_sqs,
    max_exp_avg_sqs,
    state_steps,
    foreach=None,
    capturable=False,
    differentiable=False,
    fused=None,
    grad_scale=None,
    found_inf=None,
    has_complex=False,
    decoupled_weight_decay=False,
    *,
    amsgrad,
    beta1,
    beta2,
    lr,
    weight_decay,
    eps,
    maximize,
) -> None:
    """One Adam update of ``params`` from ``grads``, with the moments and steps given."""
    from glassgrad.optim.adam import Adam

    _check_steps(state_steps)
    group = {
        "lr": lr,
        "betas": (beta1, beta2),
        "eps": eps,
        "weight_decay": weight_decay,
        "amsgrad": amsgrad,
        "maximize": maximize,
        "differentiable": differentiable,
        "capturable": capturable,
        "decoupled_weight_decay": decoupled_weight_decay,
    }
    with no_grad():
        for i, param in enumerate(params):
            state = {"step": state_steps[i], "exp_avg": exp_avgs[i], "exp_avg_sq": exp_avg_sqs[i]}
            if amsgrad:
                state["max_exp_avg_sq"] = max_exp_avg_sqs[i]
            Adam._update_param(None, param, state, group, grads[i]._data)


def adamw(
    params,
    grads,
    exp_avgs,
    exp_avg_sqs,
    max_exp_avg_sqs,
    state_steps,
    foreach=None,
    capturable=False,
    differentiable=False,
    fused=None,
    grad_scale=None,
    found_inf=None,
    has_complex=False,
    *,
    amsgrad,
    beta1,
    beta2,
    lr,
    weight_decay,
    eps,
    maximize,
) -> None:
    """One AdamW update: ``adam`` with decoupled weight decay."""
    adam(
        params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, foreach, capturable,
        differentiable, fused, grad_scale, found_inf, has_complex, True, amsgrad=amsgrad,
        beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay, eps=eps, maximize=maximize,
    )  # fmt: skip


def sgd(
    params,
    d_p_list,
    momentum_buffer_list,
    has_sparse_grad=False,
    foreach=None,
    fused=None,
    grad_scale=None,
    found_inf=None,
    *,
    weight_decay,
    momentum,
    lr,
    dampening,
    nesterov,
    maximize,
) -> None:
    """One SGD update; a ``None`` momentum buffer in the list is replaced by a new one."""
    with no_grad():
        for i, param in enumerate(params):
            grad = -d_p_list[i]._data if maximize else d_p_list[i]._data
            if weight_decay != 0:
                grad = grad + weight_decay * param._data
            if momentum != 0:
                buf = momentum_buffer_list[i]
                if buf is None:
                    buf = momentum_buffer_list[i] = Tensor._from_array(np.array(grad, copy=True))
                else:
                    np.multiply(buf._data, momentum, out=buf._data)
                    add_scaled_(buf, 1 - dampening, grad)
                grad = grad + momentum * buf._data if nesterov else buf._data
            add_scaled_(param, -lr, grad)
