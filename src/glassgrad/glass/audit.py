"""``audit``: did anything that should stay fixed change inside a block?

The two classic traps: a frozen network whose BatchNorm running statistics still move in train
mode, and weight decay (or a stale ``.grad``) that an optimizer applies to a frozen parameter.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["audit", "Audit"]


class Audit:
    """Context manager: snapshot frozen parameters and buffers on entry, compare on exit."""

    def __init__(self, model, *, warn: bool = True) -> None:
        self.model = model
        self.warn = warn
        self.changes: list[str] = []
        self._before: dict = {}

    def _watched(self) -> dict:
        model = self.model
        watched = {}
        if hasattr(model, "named_parameters"):
            params = dict(model.named_parameters())
        else:
            params = dict(model)
        for name, param in params.items():
            if not param.requires_grad:
                watched[f"parameter {name} (frozen)"] = param
        if hasattr(model, "named_buffers"):
            for name, buffer in model.named_buffers():
                if buffer is not None:
                    watched[f"buffer {name}"] = buffer
        return watched

    def __enter__(self) -> Audit:
        self._before = {name: (t, t._data.copy()) for name, t in self._watched().items()}
        return self

    def __exit__(self, *exc) -> None:
        for name, (tensor, before) in self._before.items():
            after = tensor._data
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


def audit(model, *, warn: bool = True) -> Audit:
    """Report any frozen parameter or buffer of ``model`` that changes inside the ``with`` block.

    Args:
        model: an ``nn.Module`` or a dict of named tensors.
        warn: also issue a ``UserWarning`` naming what changed.
    """
    return Audit(model, warn=warn)
