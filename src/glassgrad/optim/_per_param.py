"""What PyTorch's single-tensor optimizers share: the common argument checks, the flag keys
older state dicts lack, the state made at the first step and the step loop over parameters.
An optimizer built on ``PerParamOptimizer`` states its defaults, its state and its update."""

from __future__ import annotations

from glassgrad.optim._flags import check_betas, check_step_flags
from glassgrad.optim.optimizer import (
    Optimizer,
    _check_lr,
    _check_nonnegative,
    _step_tensor,
    _with_grad,
    _zeros_like,
)

__all__ = ["PerParamOptimizer", "check_common"]

_NO_VALUE = object()


def check_common(lr, eps=_NO_VALUE, betas=_NO_VALUE, weight_decay=_NO_VALUE) -> None:
    """PyTorch's checks of ``lr``, ``eps``, ``betas`` and ``weight_decay`` (those given), in its
    order and words."""
    _check_lr(lr)
    _check_nonnegative((lr, "Invalid learning rate"))
    if eps is not _NO_VALUE:
        _check_nonnegative((eps, "Invalid epsilon value"))
    if betas is not _NO_VALUE:
        check_betas(betas)
    if weight_decay is not _NO_VALUE:
        _check_nonnegative((weight_decay, "Invalid weight_decay value"))


class PerParamOptimizer(Optimizer):
    """An optimizer whose step makes each parameter's state on first use, then updates the
    parameters one by one (``_update_param``), as PyTorch's single-tensor algorithms do."""

    _load_defaults = (
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("capturable", False),
    )
    _scalar_state = ("step",)
    # Zero buffers shaped like the parameter, made after ``step`` at the first step.
    _buffers: tuple[str, ...] = ()
    # How PyTorch's capturable assertion names what must be on a supported device.
    _capturable_what = "params and state_steps"
    _supports_xla = True

    def _init_state(self, state: dict, param, group) -> None:
        state["step"] = _step_tensor()
        for name in self._buffers:
            state[name] = _zeros_like(param)

    def _init_states(self, params, group) -> None:
        for param in params:
            state = self.state[param]
            if len(state) == 0:
                self._init_state(state, param, group)

    def _update_group(self, group) -> None:
        params = _with_grad(group)
        self._init_states(params, group)
        for param in params:
            check_step_flags(group, param, self._capturable_what, self._supports_xla)
            self._update_param(param, self.state[param], group)

    def _update_param(self, param, state: dict, group) -> None:
        raise NotImplementedError
