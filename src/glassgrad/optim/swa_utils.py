"""``torch.optim.swa_utils``: weight-averaged (SWA, EMA) models, ``SWALR`` and ``update_bn``."""

from __future__ import annotations

import itertools
import math
from copy import deepcopy
from typing import Any

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.nn.modules.module import Module
from glassgrad.optim._hooks import _get_foreach_kernels_supported_devices
from glassgrad.optim._scheduler import LRScheduler, _format_param
from glassgrad.optim.optimizer import Optimizer
from glassgrad.tensor import Tensor

__all__ = [
    "AveragedModel",
    "update_bn",
    "SWALR",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]


def _check_decay(decay) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def get_ema_multi_avg_fn(decay=0.999):
    """An in-place EMA update over lists of parameters: ``ema = lerp(ema, current, 1 - decay)``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param_list, current_param_list, _) -> None:
        from glassgrad._foreach import _foreach_lerp_

        if ema_param_list[0].is_floating_point():
            _foreach_lerp_(ema_param_list, current_param_list, 1 - decay)
        else:
            for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """An in-place equal-weight running average over lists of parameters."""

    @no_grad()
    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        from glassgrad._foreach import (
            _foreach_add_,
            _foreach_addcdiv_,
            _foreach_lerp_,
            _foreach_sub,
        )

        if averaged_param_list[0].is_floating_point():
            _foreach_lerp_(averaged_param_list, current_param_list, 1 / (num_averaged + 1))
            return
        diffs = _foreach_sub(current_param_list, averaged_param_list)
        if isinstance(num_averaged, Tensor):
            _foreach_addcdiv_(
                averaged_param_list, diffs, [num_averaged + 1] * len(averaged_param_list)
            )
        else:
            _foreach_add_(averaged_param_list, diffs, alpha=1.0 / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """The EMA of one parameter: ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The equal-weight running average of one parameter."""

    @no_grad()
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are a running (SWA) or exponential (EMA) average."""

    def __init__(
        self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False
    ) -> None:
        from glassgrad.creation import tensor
        from glassgrad.dtypes import long

        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=long))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """The averaged copy's forward."""
        return self.module(*args, **kwargs)

    def _pairs(self, model):
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        return [(a.detach(), b.detach()) for a, b in zip(mine, theirs, strict=False)]

    def update_parameters(self, model) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies them)."""
        pairs = self._pairs(model)
        if bool(self.n_averaged == 0):
            for averaged, current in pairs:
                averaged.copy_(current)
        if self.n_averaged > 0:
            self._average(pairs)
        if not self.use_buffers:
            for b_swa, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                b_swa.detach().copy_(b_model.detach())
        self.n_averaged += 1

    def _average(self, pairs) -> None:
        if self.multi_avg_fn is None and self.avg_fn is not None:
            for averaged, current in pairs:
                averaged.copy_(self.avg_fn(averaged, current, self.n_averaged))
            return
        mine, theirs = [a for a, _ in pairs], [b for _, b in pairs]
        grouped = Optimizer._group_tensors_by_device_and_dtype([mine, theirs])
        for (device, _), ([averaged_list, current_list], _) in grouped.items():
            if self.multi_avg_fn:
                self.multi_avg_fn(averaged_list, current_list, self.n_averaged)
            elif device.type in _get_foreach_kernels_supported_devices():
                get_swa_multi_avg_fn()(averaged_list, current_list, self.n_averaged)
            else:
                avg_fn = get_swa_avg_fn()
                for averaged, current in zip(averaged_list, current_list, strict=True):
                    averaged.copy_(avg_fn(averaged, current, self.n_averaged))


@no_grad()
def update_bn(loader, model, device=None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` with one pass over ``loader``."""
    from glassgrad.nn.modules.batchnorm import _BatchNorm

    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        return
    saved_momenta = [m.momentum for m in norms]
    mode = model.training
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over every batch of the pass
    model.train()
    for batch in loader:
        inputs = batch[0] if isinstance(batch, (list, tuple)) else batch
        model(inputs if device is None else inputs.to(device))
    for norm, momentum in zip(norms, saved_momenta, strict=True):
        norm.momentum = momentum
    model.train(mode)


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` (cosine or linear), then hold."""

    def __init__(
        self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1
    ) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        """Each group's lr moved along the annealing curve towards its ``swa_lr``.

        The lr the curve starts from is not stored: it is recovered from the current lr and the
        curve's previous position (all of it ``swa_lr`` once the curve has arrived).
        """
        done = self._step_count - 1
        if self.anneal_epochs == 0:
            done = max(1, done)
        span = max(1, self.anneal_epochs)
        before = self.anneal_func(max(0, min(1, (done - 1) / span)))
        now = self.anneal_func(max(0, min(1, done / span)))
        lrs = []
        for group in self.optimizer.param_groups:
            start = self._get_initial_lr(group["lr"], group["swa_lr"], before)
            lrs.append(group["swa_lr"] * now + start * (1 - now))
        return lrs

    def _set_anneal_func(self, anneal_strategy) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer and the annealing function."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by ``state_dict()``."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
