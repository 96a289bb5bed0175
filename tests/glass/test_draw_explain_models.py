"""glass on whole models and scripts: ``draw`` shows a frozen weight as a leaf, ``explain`` skips
modules without parameters and names the ``no_grad`` behind a loss made a leaf by hand."""

from __future__ import annotations

import io
import textwrap

import glassgrad
from glassgrad import glass
from glassgrad.glass.script import run_script


def _mlp(lib, frozen: bool):
    """A 3-layer ``nn.Sequential`` built with glassgrad, its first weight frozen if asked."""
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
    model[0].weight.requires_grad = not frozen
    return model


def test_draw_shows_a_frozen_linear_weight_as_the_grey_leaf_not_a_freed_temporary():
    # Linear runs weight.t() on the frozen weight; the record passed on to that temporary used
    # to be drawn as the leaf itself ("tensor (freed)" -> "0.weight (freed)").
    model = _mlp(glassgrad, frozen=True)
    loss = model(glassgrad.randn(3, 4)).pow(2).mean()
    loss.backward()
    graph = glass.draw(loss, params=model)
    assert "(freed)" not in graph.source
    assert graph.summary["frozen"] == ["0.weight"]
    assert 'label="0.weight\\n[8, 4]", xlabel="requires_grad=False"' in graph.source
    collapsed = glass.draw(loss, params=model, depth=1).source
    assert "(freed)" not in collapsed
    assert '"module:0" [label="0\\n2 parameters' in collapsed


def test_explain_script_skips_modules_without_parameters(tmp_path):
    # A loss module (nn.BCEWithLogitsLoss()) has no parameters: its table used to list the
    # graph's anonymous leaves as leaf0, leaf1, ...
    script = tmp_path / "gan.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            import torch.nn as nn
            torch.manual_seed(0)
            G = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
            D = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
            bce = nn.BCEWithLogitsLoss()
            fake = G(torch.randn(8, 2))
            d_loss = bce(D(torch.randn(8, 2)), torch.ones(8, 1)) + bce(
                D(fake.detach()), torch.zeros(8, 1)
            )
            d_loss.backward()
            """
        )
    )
    out = io.StringIO()
    assert run_script(str(script), [], out) == 0
    text = out.getvalue()
    assert "leaf0" not in text and "bce (" not in text
    assert "G (Sequential)" in text and "D (Sequential)" in text
    assert "passes `fake.detach()` at gan.py:10" in text, text


def test_explain_behind_a_loss_made_a_leaf_by_hand_names_no_grad():
    import glassgrad as gg
    from glassgrad import glass

    model = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.ReLU(), gg.nn.Linear(4, 1))
    x = gg.randn(5, 3)
    with gg.no_grad():
        pred = model(x)
    loss = (pred**2).mean()
    loss.requires_grad = True
    loss.backward()
    table = glass.explain(loss, model)
    reasons = [row.reason for row in table.rows]
    assert len(reasons) == 4
    assert all("no_grad()" in reason for reason in reasons), reasons
    assert "set by hand" in str(table)
