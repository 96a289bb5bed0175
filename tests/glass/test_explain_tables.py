"""glass.explain's table: what it lists (modules, nested dicts, tied weights), per-module norms,
whole-output findings, the optimizer check, and explaining after backward()."""

from __future__ import annotations

import numpy as np
import pytest
import torch as real_torch

import glassgrad as torch
from glassgrad import glass, nn


def _line_of(text: str) -> str:
    with open(__file__, encoding="utf-8") as source:
        number = next(n for n, line in enumerate(source, 1) if line.rstrip().endswith(text))
    return f"test_explain_tables.py:{number}"


def test_tied_weight_is_listed_under_every_name_and_modules_in_dicts_expand():
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    model = nn.ModuleDict({"emb": emb, "head": head})
    loss = model["head"](model["emb"](torch.tensor([1, 2, 3]))).sum()
    table = glass.explain(loss, model)
    assert [row.names for row in table.rows] == [("emb.weight", "head.weight")]
    assert table["head.weight"] is table["emb.weight"] and table["emb.weight"].status == "ok"
    spare = nn.Linear(3, 3)
    table = glass.explain(loss, {"spare": spare, "nested": {"a": emb, "b": [head]}})
    assert table["spare.weight"].status == "unused" and table["spare.bias"].module == "spare"
    assert table["nested.a.weight"].names == ("nested.a.weight", "nested.b.0.weight")


def test_non_tensor_values_are_refused_clearly():
    with pytest.raises(TypeError, match="explain: x is a str, not a tensor or nn.Module"):
        glass.explain(torch.ones(1, requires_grad=True).sum(), {"x": "text"})


def test_parameters_outside_every_param_group():
    enc, dec = nn.Linear(3, 4), nn.Linear(4, 1)
    optimizer = torch.optim.SGD(enc.parameters(), lr=0.1)
    loss = dec(enc(torch.randn(5, 3))).sum()
    table = glass.explain(loss, {"enc": enc, "dec": dec}, optimizer=optimizer)
    assert table["enc.weight"].status == "ok"
    assert table["dec.weight"].status == "not_in_optimizer"
    assert table["dec.bias"].mechanism == "optimizer" and table["dec.bias"].receives


def _deep_sigmoid(lib, depth=12):
    rng = np.random.default_rng(1)
    layers = []
    for _ in range(depth):
        layer = lib.nn.Linear(8, 8)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(rng.standard_normal((8, 8)).astype(np.float32) * 0.3))
            layer.bias.zero_()
        layers += [layer, lib.nn.Sigmoid()]
    return lib.nn.Sequential(*layers), lib.tensor(rng.standard_normal((4, 8)).astype(np.float32))


def test_vanishing_gradients_are_flagged_with_per_module_norms_matching_pytorch():
    model, x = _deep_sigmoid(torch)
    table = glass.explain(model(x).sum(), model)
    assert [finding.kind for finding in table.findings] == ["vanishing"]
    assert [flow.name for flow in table.modules] == [str(i) for i in range(0, 24, 2)]
    oracle, x_ = _deep_sigmoid(real_torch)
    oracle(x_).sum().backward()
    for flow in table.modules:
        layer = oracle[int(flow.name)]
        expected = float(np.sqrt(sum(float((p.grad**2).sum()) for p in layer.parameters())))
        assert flow.grad_norm == pytest.approx(expected, rel=1e-3)


def test_a_healthy_network_has_no_finding():
    model, x = _deep_sigmoid(torch, depth=2)
    assert glass.explain(model(x).sum(), model).findings == []


def _dead_relu_program():
    x = torch.randn(5, 3)
    enc, dec = nn.Linear(3, 4), nn.Linear(4, 1)
    with torch.no_grad():
        enc.bias.fill_(-100)
    loss = dec(torch.relu(enc(x))).sum()  # the dead ReLU
    return loss, {"enc": enc, "dec": dec}


def test_after_backward_the_status_stays_true_and_flows_give_the_cause():
    loss, params = _dead_relu_program()
    loss.backward()
    table = glass.explain(loss, params)  # the graph is freed: statuses from .grad
    assert [row.status for row in table.rows] == ["zero", "zero", "zero", "ok"]
    # the ReLU noted when it ran that every unit was inactive
    assert table["enc.weight"].where == _line_of("# the dead ReLU")
    assert "all 4 units inactive" in table["dec.weight"].cause
    with glass.record_flows():
        loss, params = _dead_relu_program()
        loss.backward()
    table = glass.explain(loss, params)
    for name in ("enc.weight", "enc.bias", "dec.weight"):
        row = table[name]
        assert row.mechanism == "ReLU" and row.where == _line_of("# the dead ReLU"), row
        assert "all 4 units inactive" in row.cause
    assert "the layer's input is all zeros" in table["dec.weight"].cause


def test_where_nan_first_appears_in_the_forward_pass():
    w = torch.tensor([1.0, -1.0], requires_grad=True)
    loss = torch.log(w).sum()  # log of a negative number
    table = glass.explain(loss, {"w": w})
    (finding,) = table.findings
    assert finding.kind == "nonfinite" and finding.where == _line_of("# log of a negative number")
    assert "LogBackward0: log of a negative number" in finding.cause


def test_detect_anomaly_keeps_pytorchs_text_and_adds_the_line():
    w = torch.zeros(3, requires_grad=True)
    with pytest.warns(UserWarning), torch.autograd.detect_anomaly():
        loss = torch.sqrt(w).sum() * 0  # inf * 0 in backward
        with pytest.raises(RuntimeError) as caught:
            loss.backward()
    expected = "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert str(caught.value) == expected
    assert any(_line_of("# inf * 0 in backward") in note for note in caught.value.__notes__)


def test_explain_leaves_grads_alone():
    loss, params = _dead_relu_program()
    glass.explain(loss, params)
    assert all(p.grad is None for m in params.values() for p in m.parameters())
    loss.backward()  # the graph is still whole: explain retained it


class _PlainListModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4, 1)
        self.blocks = [nn.Linear(3, 4)]  # a plain list: not registered


def test_weights_in_a_plain_list_are_found_feeding_the_output():
    model = _PlainListModel()
    hidden = model.blocks[0].weight
    loss = model.head(torch.randn(5, 3) @ hidden.T).sum()
    (finding,) = glass.explain(loss, model).findings
    assert finding.kind == "unlisted" and "`hidden`" in finding.cause


def test_division_by_zero_is_where_nan_first_appears():
    w = torch.zeros(3, requires_grad=True)
    loss = (w / w.sum()).sum()
    (finding,) = glass.explain(loss, {"w": w}).findings
    assert "DivBackward0: division by zero" in finding.cause


def test_where_that_selects_nothing_gives_a_zero_gradient_with_its_line():
    w = torch.ones(3, requires_grad=True)
    loss = torch.where(torch.zeros(3, dtype=torch.bool), w, 0.0).sum()  # where: nothing
    row = glass.explain(loss, {"w": w})["w"]
    assert (row.status, row.mechanism, row.where) == ("zero", "mask", _line_of("# where: nothing"))


def test_exploding_gradients_are_flagged():
    layers = []
    for _ in range(8):
        layer = nn.Linear(8, 8)
        with torch.no_grad():
            layer.weight.copy_(torch.eye(8) * 4)
            layer.bias.zero_()
        layers.append(layer)
    model = nn.Sequential(*layers)
    table = glass.explain(model(torch.full((2, 8), 1e-4)).sum(), model)
    (finding,) = table.findings
    assert finding.kind == "exploding" and "the first module with parameters (0" in finding.cause
    assert table.modules[0].grad_norm / table.modules[-1].grad_norm > 1e3


def test_under_anomaly_mode_every_op_names_its_line():
    w = torch.full((3,), 50.0, requires_grad=True)
    with pytest.warns(UserWarning), torch.autograd.detect_anomaly():
        loss = torch.sigmoid(w).sum()  # saturated sigmoid
        row = glass.explain(loss, {"w": w})["w"]
    assert (row.status, row.mechanism) == ("zero", "sigmoid")
    assert row.where == _line_of("# saturated sigmoid")


def test_explanation_shows_as_an_html_table_in_jupyter():
    lin = nn.Linear(3, 1)
    frozen = nn.Linear(3, 1).requires_grad_(False)
    x = torch.randn(2, 3)
    out = (lin(x) + frozen(x)).sum()
    page = glass.explain(out, {"lin": lin, "frozen": frozen})._repr_html_()
    assert page.startswith('<table class="glass-explain">')
    for name in ("lin.weight", "lin.bias", "frozen.weight", "frozen.bias"):
        assert name in page
    assert "frozen" in page
