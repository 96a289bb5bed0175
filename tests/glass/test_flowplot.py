"""The gradient-flow figure: per layer mean and max |grad|, checked against PyTorch's gradients
of the same program, with the layers that got nothing or zero marked and labelled by cause."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
from glassgrad import glass
from glassgrad.glass.flowplot import gradient_flow, gradient_flow_svg, layer_stats

pytest.importorskip("matplotlib")


def _program(lib):
    """Four layers: ``dead`` feeds a ReLU that is never active (zero gradient), ``cut`` is
    detached (no gradient), ``mid`` and ``out`` train normally."""
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.ModuleDict(
        {
            "cut": nn.Linear(3, 3),
            "dead": nn.Linear(3, 3),
            "mid": nn.Linear(3, 3),
            "out": nn.Linear(3, 1),
        }
    )
    with lib.no_grad():
        for index, layer in enumerate(model.values()):
            layer.weight.copy_(lib.arange(layer.weight.numel()).reshape(layer.weight.shape) * 0.1)
            layer.bias.fill_(0.1 * index)
        model["dead"].bias.fill_(-100.0)  # every unit inactive after the ReLU
    x = lib.ones(4, 3)
    h = model["cut"](x).detach()
    h = lib.relu(model["dead"](h)) + model["mid"](h)
    loss = model["out"](h).pow(2).mean()
    loss.backward()
    return model, loss


def test_layer_stats_match_pytorchs_gradients():
    model, loss = _program(glassgrad)
    reference, _ = _program(torch)
    layers = {layer.name: layer for layer in layer_stats(model, glass.explain(loss, model))}
    assert list(layers) == ["cut", "dead", "mid", "out"]
    for name in ("mid", "out"):
        grads = [p.grad.abs().flatten() for p in reference[name].parameters()]
        everything = torch.cat(grads)
        assert layers[name].status == "ok"
        np.testing.assert_allclose(layers[name].mean_abs, everything.mean().item(), rtol=1e-5)
        np.testing.assert_allclose(layers[name].max_abs, everything.max().item(), rtol=1e-5)
    assert all(p.grad is None for p in reference["cut"].parameters())
    assert layers["cut"].status == "none" and layers["cut"].mean_abs is None
    assert "detach" in layers["cut"].cause
    assert all(p.grad.abs().max().item() == 0 for p in reference["dead"].parameters())
    assert layers["dead"].status == "zero" and layers["dead"].cause
    assert layers["dead"].numel == 12


def test_figure_marks_and_labels_the_layers_without_gradient():
    model, loss = _program(glassgrad)
    layers = layer_stats(model, glass.explain(loss, model))
    figure = gradient_flow(layers, title="four layers")
    ax = figure.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "four layers"
    ticks = {t.get_text(): t.get_color() for t in ax.get_xticklabels()}
    assert ticks["cut"] == ticks["dead"] == "#b00020" and ticks["mid"] != "#b00020"
    notes = [text.get_text() for text in ax.texts]
    assert len(notes) == 2 and notes[0].startswith("none: ") and "detach" in notes[0]
    assert notes[1].startswith("zero: ")
    bars = [patch.get_height() for patch in ax.patches]
    assert len(bars) == 8 and bars[2] == pytest.approx(layers[2].max_abs)
    svg = gradient_flow_svg(layers)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_figure_from_a_model_measures_it_now():
    model, _ = _program(glassgrad)
    figure = glass.gradient_flow(model)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["cut", "dead", "mid", "out"]
