"""What PyTorch's CPU build does with ``capturable`` and ``differentiable``, in one place.

``capturable=True`` is accepted by the constructors and refused at the first ``step()`` with the
assertion PyTorch raises off CUDA. ``differentiable=True`` runs the step with grad enabled, so a
leaf parameter that requires grad is refused by the in-place update, as in PyTorch.
"""

from __future__ import annotations

from glassgrad.tensor import Tensor

__all__ = ["check_step_flags", "check_betas", "capturable_devices"]


def capturable_devices(supports_xla: bool = True) -> list[str]:
    """The device types PyTorch lets ``capturable=True`` run on (none of them is the CPU)."""
    devices = ["cuda", "xpu", "hpu", "privateuseone"]
    if supports_xla:
        devices.append("xla")
    return devices


def check_step_flags(
    group, param: Tensor, what: str = "params and state_steps", supports_xla: bool = True
) -> None:
    """Raise PyTorch's error for a step that ``capturable``/``differentiable`` forbid on CPU."""
    if group.get("capturable"):
        raise AssertionError(
            f"If capturable=True, {what} must be on supported devices: "
            f"{capturable_devices(supports_xla)}."
        )
    if not group.get("differentiable"):
        return
    if param.is_leaf and param.requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    grad = param.grad
    if param.requires_grad or (grad is not None and grad.requires_grad) or _tracked(group):
        raise RuntimeError(
            "differentiable=True: glassgrad's optimizers update the parameters outside the "
            "autograd graph, so the step cannot be differentiated through (PyTorch records it)"
        )


def _tracked(group) -> bool:
    """Whether a hyper-parameter of ``group`` is a tensor that requires grad."""
    return any(isinstance(v, Tensor) and v.requires_grad for k, v in group.items() if k != "params")


def check_betas(betas) -> None:
    """PyTorch's range checks on ``(beta1, beta2)``, in its order and words."""
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
