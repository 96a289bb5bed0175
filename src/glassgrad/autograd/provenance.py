"""Provenance: the small record left where a gradient stops (filled in by the glass work).

Records are taken only when a gradient actually stops (an input required grad), and hold weak
references so that the memory ``no_grad`` saves stays saved.
"""

from __future__ import annotations

enabled = False


def on_detach(source, out) -> None:
    """Record that ``out`` was made by ``source.detach()``."""


def on_requires_grad(tensor, flag: bool) -> None:
    """Record who switched ``requires_grad`` of a leaf."""


def on_not_recorded(result, inputs, non_differentiable: bool) -> None:
    """Record that ``result`` was computed without recording (no_grad, inference_mode, or a
    non-differentiable op such as a comparison)."""
