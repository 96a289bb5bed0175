"""``audit``: did anything that should stay fixed change inside a block?

The classic traps: a frozen network whose BatchNorm running statistics still move in train
mode, weight decay (or a stale ``.grad``) that an optimizer applies to a frozen parameter, and,
given the optimizer, gradients that keep accumulating because ``zero_grad()`` is never called
(a backward adds to a gradient that ``optimizer.step()`` has already used).
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad.autograd import introspect

__all__ = ["audit", "Audit"]


class Audit:
    """Context manager: snapshot frozen parameters and buffers on entry, compare on exit."""

    def __init__(self, model, *, optimizer=None, warn: bool = True) -> None:
        self.model = model
        self.optimizer = optimizer
        self.warn = warn
        self.changes: list[str] = []
        self._before: dict = {}
        self._handles: list = []
        self._used: set = set()  # ids of parameters whose current .grad a step has used
        self._stale: dict = {}  # parameter name -> where a backward added to a used gradient

    def _watched(self) -> dict:
        model = self.model
        watched = {}
        for name, param in _named(model).items():
            if not param.requires_grad:
                watched[f"parameter {name} (frozen)"] = param
        if hasattr(model, "named_buffers"):
            for name, buffer in model.named_buffers():
                if buffer is not None:
                    watched[f"buffer {name}"] = buffer
        return watched

    def __enter__(self) -> Audit:
        self._before = {
            name: (t, introspect.array(t).copy()) for name, t in self._watched().items()
        }
        if self.optimizer is not None:
            self._watch_accumulation()
        return self

    def _watch_accumulation(self) -> None:
        """Hook the optimizer's steps and each trainable parameter's incoming gradient."""
        params = _named(self.model)
        optimized = {id(p) for group in self.optimizer.param_groups for p in group["params"]}

        def stepped(optimizer, args, kwargs):
            self._used.update(id(p) for p in params.values() if p.grad is not None)

        self._handles.append(self.optimizer.register_step_pre_hook(stepped))
        for name, param in params.items():
            if param.requires_grad and id(param) in optimized:
                self._handles.append(param.register_hook(self._arrival(name, param)))

    def _arrival(self, name: str, param):
        def hook(grad):
            held = param.grad
            if id(param) in self._used and held is not None and held.any():
                if name not in self._stale:
                    self._stale[name] = introspect.user_line()
            elif held is None or not held.any():
                self._used.discard(id(param))  # zero_grad() ran: a fresh gradient starts

        return hook

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        order = list(_named(self.model))
        for name, where in sorted(self._stale.items(), key=lambda item: order.index(item[0])):
            self.changes.append(
                f"gradient of {name} keeps accumulating: the backward at {where} adds to a "
                "gradient optimizer.step() already used (zero_grad() is never called between "
                "steps)"
            )
        for name, (tensor, before) in self._before.items():
            after = introspect.array(tensor)
            if after.shape != before.shape or not np.array_equal(after, before, equal_nan=True):
                delta = (
                    np.abs(after.astype(np.float64) - before).max()
                    if (after.shape == before.shape)
                    else float("nan")
                )
                self.changes.append(f"{name} changed (max abs change {delta:.4g})")
        self._before = {}
        if self.changes and self.warn and exc[0] is None:
            warnings.warn(
                "glassgrad.glass.audit: " + "; ".join(self.changes), UserWarning, stacklevel=2
            )

    def __str__(self) -> str:
        if not self.changes:
            return "audit: no frozen parameter or buffer changed"
        return "audit:\n" + "\n".join(f"  {line}" for line in self.changes)


def _named(model) -> dict:
    if hasattr(model, "named_parameters"):
        return dict(model.named_parameters())
    return dict(model)


def audit(model, *, optimizer=None, warn: bool = True) -> Audit:
    """Report any frozen parameter or buffer of ``model`` that changes inside the ``with`` block,
    and (given ``optimizer``) gradients that accumulate across steps for want of ``zero_grad()``.

    Args:
        model: an ``nn.Module`` or a dict of named tensors.
        optimizer: the optimizer whose steps the block runs.
        warn: also issue a ``UserWarning`` naming what changed.
    """
    return Audit(model, optimizer=optimizer, warn=warn)
