"""glass.explain: a reason for every missing gradient, and the same reason on PyTorch's errors."""

from __future__ import annotations

import pytest
import torch as real_torch

import glassgrad
from glassgrad import glass
from glassgrad import seed_experiments as seed


def _outcome(fn):
    return seed.run(next(e for e in seed.EXPERIMENTS if e.fn is fn))


def _reasons(fn) -> dict:
    outcome = _outcome(fn)
    table = glass.explain(outcome.tensors["w"], outcome.params)
    return {row.name: row for row in table.rows}


def test_rows_agree_with_the_gradients_torch_computes():
    for experiment in seed.EXPERIMENTS[:7]:
        rows = _reasons(experiment.fn)
        oracle = seed.run(experiment, real_torch)
        for name in seed.NAMES:
            assert rows[name].receives == (oracle.grads[name] is not None), (experiment, name)


def test_detach_reason_names_the_tensor_and_line():
    rows = _reasons(seed.detach_y)
    for name in "abx":
        assert rows[name].reason.startswith(
            "the only path to the output passes `y.detach()` at seed_experiments.py:"
        )
    assert rows["c"].receives and rows["c"].grad_norm == pytest.approx(407)


def test_no_grad_reason():
    rows = _reasons(seed.no_grad_z)
    for name in "abcdx":
        assert "computed inside `no_grad()` at seed_experiments.py:" in rows[name].reason
    assert rows["e"].receives


def test_frozen_reason_with_the_line_that_froze_it():
    rows = _reasons(seed.frozen_cd)
    assert rows["c"].reason.startswith("frozen: requires_grad=False (set at seed_experiments.py:")
    assert rows["a"].receives and rows["a"].grad_norm == pytest.approx(935)


def test_not_used_and_argmax_and_inference_mode():
    used = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    unused = glassgrad.tensor([3.0], requires_grad=True)
    picked = glassgrad.tensor([0.5, 0.1], requires_grad=True)
    scale = glassgrad.tensor(2.0, requires_grad=True)
    with glassgrad.inference_mode():
        ghost = scale * 2
    loss = (used * picked.argmax()).sum() + ghost.clone()
    table = glass.explain(loss, {"used": used, "unused": unused, "picked": picked, "scale": scale})
    assert table["used"].receives
    assert table["unused"].reason == "not used by this output"
    assert table["picked"].reason.startswith(
        "the output reaches it only through argmax (not differentiable)"
    )
    assert "inside `inference_mode()`" in table["scale"].reason
    assert "not used by this output" in str(table)


def test_comparison_and_integer_cast_stop_gradients():
    p = glassgrad.tensor([1.0, -2.0], requires_grad=True)
    q = glassgrad.tensor([1.0, -2.0], requires_grad=True)
    loss = (p > 0).float().sum() * 1.0 + q.long().float().sum()
    loss = loss + glassgrad.tensor(0.0, requires_grad=True)
    table = glass.explain(loss, {"p": p, "q": q})
    assert "(not differentiable)" in table["p"].reason
    assert "(not differentiable)" in table["q"].reason


def test_behind_both_a_detach_and_a_frozen_parameter():
    frozen = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    frozen.requires_grad_(False)
    head = glassgrad.tensor(3.0, requires_grad=True)
    body = glassgrad.tensor([1.0, 1.0], requires_grad=True)
    hidden = frozen * body
    loss = (hidden.detach() * head).sum()
    table = glass.explain(loss, {"frozen": frozen, "body": body, "head": head})
    assert table["head"].receives
    reasons = table["frozen"].reasons
    assert reasons[0].startswith("frozen: requires_grad=False (set at test_glass_explain.py:")
    assert reasons[1].startswith("the only path to the output passes `hidden.detach()`")
    assert table["body"].reason.startswith("the only path to the output passes `hidden")


def test_deep_graph_of_ten_thousand_nodes():
    first = glassgrad.tensor(1.0, requires_grad=True)
    cut = glassgrad.tensor(1.0, requires_grad=True)
    source = cut * 1.0  # kept alive: records hold the graph behind a detach only weakly
    h = source.detach()
    for _ in range(10_000):
        h = h * first
    table = glass.explain(h, {"first": first, "cut": cut})
    assert table["first"].receives
    assert table["cut"].reason.startswith("the only path to the output passes `source.detach()`")


def test_backward_error_keeps_torchs_text_and_gains_a_note():
    a = glassgrad.tensor(2.0, requires_grad=True)
    with glassgrad.no_grad():
        y = a * 3
    with pytest.raises(RuntimeError) as info:
        y.backward()
    with pytest.raises(RuntimeError) as oracle:
        with real_torch.no_grad():
            y_t = real_torch.tensor(2.0, requires_grad=True) * 3
        y_t.backward()
    assert str(info.value) == str(oracle.value)
    assert any(
        "computed inside `no_grad()` at test_glass_explain.py:" in note
        for note in info.value.__notes__
    )


def test_leaf_loss_made_to_require_grad_by_hand():
    w = glassgrad.tensor(2.0, requires_grad=True)
    loss = glassgrad.tensor((w * 3).item())
    loss.requires_grad = True
    loss.backward()
    table = glass.explain(loss, {"w": w})
    # w was used: its value left the graph through .item(), which explain names, never "not used"
    assert table["w"].status == "cut" and table["w"].mechanism == ".item()"
    assert table["w"].where == f"test_glass_explain.py:{_line_of('(w * 3).item()')}"
    assert "is a leaf tensor that requires grad (requires_grad set by hand at" in table.notes[0]


def test_provenance_switch_turns_records_off():
    a = glassgrad.tensor(2.0, requires_grad=True)
    with glass.provenance(False):
        d = a.detach()
    assert d._extra is None
    assert a.detach()._extra.prov.kind == "detach"


def _line_of(text: str) -> int:
    """The line of this file holding ``text`` (explanations name the user's lines)."""
    with open(__file__, encoding="utf-8") as source:
        return next(number for number, line in enumerate(source, 1) if text in line)
