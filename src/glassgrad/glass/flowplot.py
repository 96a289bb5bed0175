"""The gradient-flow figure practitioners write by hand: mean and max |grad| per layer.

One bar pair per layer (the module that owns the parameters), on a log scale, so vanishing and
exploding gradients show as a slope; layers that got no gradient, or only zeros, are marked in
red and labelled with the cause ``explain`` found. The numbers are taken when ``layer_stats`` is
called (right after ``backward()``); the figure can be drawn later. Needs matplotlib (an
optional extra: ``pip install matplotlib``).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

import numpy as np

from glassgrad.autograd import introspect
from glassgrad.tensor import grad_tensor

__all__ = ["Layer", "layer_stats", "gradient_flow", "gradient_flow_svg"]


@dataclass
class Layer:
    """One layer's gradient: mean and max |grad| over its parameters' elements (None if no
    gradient arrived), and for a layer that got none or only zeros, why (``cause``)."""

    name: str
    mean_abs: float | None
    max_abs: float | None
    numel: int
    status: str  # "ok", "zero" or "none"
    cause: str = ""


def _causes(explanation) -> dict:
    found: dict = {}
    for row in getattr(explanation, "rows", ()) or ():
        reason = getattr(row, "reason", "")
        mechanism, where = getattr(row, "mechanism", ""), getattr(row, "where", "")
        if reason and mechanism:  # the short form fits beside a bar
            reason = f"{mechanism} at {where}" if where else mechanism
        for name in getattr(row, "names", None) or (row.name,):
            found[name] = reason
    return found


def layer_stats(model, explanation=None) -> list[Layer]:
    """Per layer of ``model`` (an ``nn.Module``, or ``{name: tensor}``), what gradient arrived;
    the causes for layers without one come from ``explanation`` (``glass.explain``'s result)."""
    named = model.named_parameters() if hasattr(model, "named_parameters") else model.items()
    layers: dict = {}
    for name, tensor in named:
        layers.setdefault(name.rpartition(".")[0] or name, []).append((name, tensor))
    causes = _causes(explanation)
    result = []
    for layer, params in layers.items():
        grads = [grad_tensor(t) for _, t in params]
        arrays = [np.abs(introspect.array(g)) for g in grads if g is not None]
        numel = sum(int(t.numel()) for _, t in params)
        reasons = [causes.get(name, "") for name, _ in params]
        cause = next((text for text in reasons if text), "")
        if not arrays:
            result.append(Layer(layer, None, None, numel, "none", cause or "no gradient arrived"))
            continue
        total = sum(float(a.sum()) for a in arrays)
        count = sum(a.size for a in arrays)
        peak = max(float(a.max()) if a.size else 0.0 for a in arrays)
        status = "zero" if peak == 0.0 else "ok"
        if status == "zero" and not cause:
            cause = "every gradient element is exactly 0"
        result.append(Layer(layer, total / max(count, 1), peak, numel, status, cause))
    return result


def gradient_flow(layers, explanation=None, *, title: str | None = None, ax=None):
    """The figure: ``layers`` from ``layer_stats`` (or a model, measured now).

    Returns:
        The matplotlib ``Figure`` (``ax``'s when one is given).
    """
    if not isinstance(layers, list):
        layers = layer_stats(layers, explanation)
    from matplotlib.figure import Figure

    if ax is None:
        figure = Figure(figsize=(max(6.0, 0.55 * len(layers) + 2), 4.8), layout="constrained")
        ax = figure.add_subplot()
    figure = ax.figure
    x = np.arange(len(layers))
    floor = _floor(layers)
    maxes = [layer.max_abs if layer.status == "ok" else 0.0 for layer in layers]
    means = [layer.mean_abs if layer.status == "ok" else 0.0 for layer in layers]
    ax.bar(x, maxes, width=0.8, color="#9ecae1", label="max |grad|", bottom=0)
    ax.bar(x, means, width=0.5, color="#08519c", label="mean |grad|")
    # (the limits first: log scale on bars that are all zero warns, though the limits fix it)
    ax.set_ylim(floor, max([floor * 1e4, *(m * 10 for m in maxes if m)]))
    ax.set_yscale("log")
    for index, layer in enumerate(layers):
        if layer.status != "ok":
            ax.plot(index, floor * 1.5, marker="x", color="#b00020", markersize=10, mew=2)
            ax.annotate(
                textwrap.fill(textwrap.shorten(f"{layer.status}: {layer.cause}", 96), 48),
                (index, floor * 3),
                rotation=90,
                va="bottom",
                ha="center",
                fontsize=7,
                color="#b00020",
            )
    ax.set_xticks(x, [layer.name for layer in layers], rotation=60, ha="right", fontsize=8)
    for tick, layer in zip(ax.get_xticklabels(), layers, strict=True):
        if layer.status != "ok":
            tick.set_color("#b00020")
    ax.set_ylabel("|grad|")
    ax.set_title(title or "gradient flow per layer")
    ax.legend(loc="upper right", fontsize=8)
    return figure


def _floor(layers) -> float:
    """The log axis' bottom: below every nonzero bar, so the red marks sit under them."""
    values = [v for layer in layers for v in (layer.mean_abs, layer.max_abs) if v]
    return min(values) / 100 if values else 1e-8


def gradient_flow_svg(layers, explanation=None, *, title: str | None = None) -> str:
    """The figure as SVG text (for HTML pages)."""
    figure = gradient_flow(layers, explanation, title=title)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
