"""glass.explain on realistic bugs: one scenario per cause, each row checked twice.

Every scenario is a small program written against a ``torch`` module, run once on glassgrad (the
table must name the status, the mechanism and the scenario's marked source line) and once on
PyTorch 2.13, whose gradients are the ground truth every row of the table must agree with:
a row that says a gradient arrives must get one from PyTorch (zero exactly where PyTorch's is
zero), and a row that says none arrives must get ``None`` from PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch as real_torch

import glassgrad
from glassgrad import glass

NO_GRADIENT = ("cut", "unused", "frozen", "non_leaf", "no_path")
RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 3)).astype(np.float32)
W_ENC, B_ENC = RNG.standard_normal((4, 3)).astype(np.float32), np.zeros(4, np.float32)
W_HEAD, B_HEAD = RNG.standard_normal((1, 4)).astype(np.float32), np.zeros(1, np.float32)


def _linear(torch, weight, bias):
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


def _model(torch, enc_bias=B_ENC, enc_scale=1.0):
    enc = _linear(torch, W_ENC * enc_scale, enc_bias)
    head = _linear(torch, W_HEAD, B_HEAD)
    return enc, head, torch.tensor(X)


# Each scenario returns (loss, params, expected): expected maps a parameter name to
# (status, mechanism, the text of the source line the row must name, or None).


def data_escape(torch):
    enc, head, x = _model(torch)
    h = enc(x)
    loss = head(h.data * 2).sum()  # line: h.data
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("cut", ".data", "line: h.data")}


def detach_numpy_rewrap(torch):
    enc, head, x = _model(torch)
    h = enc(x)
    again = torch.tensor(h.detach().numpy())  # line: rewrap
    loss = head(again).sum()
    expected = {"enc.bias": ("cut", "detach() then torch.tensor()", "line: rewrap")}
    return loss, {"enc": enc, "head": head}, expected


def from_numpy_rewrap(torch):
    enc, head, x = _model(torch)
    array = enc(x).detach().numpy()
    loss = head(torch.from_numpy(array)).sum()  # line: from_numpy
    expected = {"enc.weight": ("cut", "detach() then torch.from_numpy()", "line: from_numpy")}
    return loss, {"enc": enc, "head": head}, expected


def item_fed_back(torch):
    enc, head, x = _model(torch)
    scale = enc(x).mean().item()  # line: item
    loss = (head(x[:, :1].repeat(1, 4)) * scale).sum()
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("cut", ".item()", "line: item")}


def float_fed_back(torch):
    enc, head, x = _model(torch)
    scale = float(enc(x).sum())  # line: float
    loss = (head(x[:, :1].repeat(1, 4)) * scale).sum()
    return loss, {"enc": enc, "head": head}, {"enc.bias": ("cut", "float()", "line: float")}


def tolist_rewrap(torch):
    enc, head, x = _model(torch)
    values = enc(x).tolist()  # line: tolist
    loss = head(torch.tensor(values)).sum()
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("cut", ".tolist()", "line: tolist")}


def tensor_of_tensor(torch):
    enc, head, x = _model(torch)
    with pytest.warns(UserWarning):
        copied = torch.tensor(enc(x))  # line: copy
    loss = head(copied).sum()
    expected = {"enc.weight": ("cut", "torch.tensor()", "line: copy")}
    return loss, {"enc": enc, "head": head}, expected


def detach_in_place(torch):
    enc, head, x = _model(torch)
    h = enc(x)
    h.detach_()  # line: detach_
    loss = head(h).sum()
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("cut", "detach_()", "line: detach_")}


def argmax_index(torch):
    enc, head, x = _model(torch)
    index = enc(x).argmax()  # line: argmax
    loss = (head(x[:, :1].repeat(1, 4)) * index).sum()
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("cut", "argmax", "line: argmax")}


def comparison_mask(torch):
    enc, head, x = _model(torch)
    mask = enc(x) > 0  # line: compare
    loss = (head(x[:, :1].repeat(1, 4)) * mask[:, :1]).sum()
    return loss, {"enc": enc, "head": head}, {"enc.bias": ("cut", "comparison", "line: compare")}


def int_of_comparison(torch):
    enc, head, x = _model(torch)
    positive = int(enc(x).sum() > 0)  # line: int of comparison
    loss = (head(x[:, :1].repeat(1, 4)) * positive).sum()
    expected = {"enc.weight": ("cut", "comparison then int()", "line: int of comparison")}
    return loss, {"enc": enc, "head": head}, expected


def int_cast(torch):
    enc, head, x = _model(torch)
    steps = enc(x).long()  # line: long
    loss = (head(x[:, :1].repeat(1, 4)) * steps[:, :1]).sum()
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("cut", "cast to int64", "line: long")}


def _zero_derivative(op):
    def scenario(torch):
        enc, head, x = _model(torch)
        loss = getattr(enc(x), op)().sum()  # line: zero derivative
        expected = {"enc.weight": ("zero", op, "line: zero derivative")}
        return loss, {"enc": enc}, expected

    scenario.__name__ = f"{op}_zero_derivative"
    return scenario


def dead_relu(torch):
    enc, head, x = _model(torch, enc_bias=np.full(4, -100, np.float32))
    loss = head(torch.relu(enc(x))).sum()  # line: relu
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("zero", "ReLU", "line: relu")}


def saturated_sigmoid(torch):
    enc, head, x = _model(torch, enc_bias=np.full(4, 200, np.float32))
    loss = head(torch.sigmoid(enc(x))).sum()  # line: sigmoid
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("zero", "sigmoid", "line: sigmoid")}


def saturated_tanh(torch):
    enc, head, x = _model(torch, enc_bias=np.full(4, -200, np.float32))
    loss = head(torch.tanh(enc(x))).sum()  # line: tanh
    return loss, {"enc": enc, "head": head}, {"enc.bias": ("zero", "tanh", "line: tanh")}


def clamp_outside(torch):
    enc, head, x = _model(torch)
    loss = head(enc(x).clamp(100, 200)).sum()  # line: clamp
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("zero", "clamp", "line: clamp")}


def masked_out_loss(torch):
    enc, head, x = _model(torch)
    per_item = head(enc(x))
    mask = torch.zeros(5, 1)
    loss = (per_item * mask).sum()  # line: mask
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("zero", "mask", "line: mask")}


def masked_mean_by_zero(torch):
    enc, head, x = _model(torch)
    per_item = head(enc(x)).squeeze(1)
    mask = (x[:, 0] > 100).float()
    loss = (per_item * mask).sum() / mask.sum()  # line: divide
    return loss, {"enc": enc}, {"enc.weight": ("nonfinite", "division", "line: divide")}


def empty_selection(torch):
    enc, head, x = _model(torch)
    per_item = head(enc(x)).squeeze(1)
    loss = per_item[x[:, 0] > 100].mean()  # line: select
    return loss, {"enc": enc}, {"enc.bias": ("zero", "mask", "line: select")}


def masked_fill_loss(torch):
    enc, head, x = _model(torch)
    per_item = head(enc(x))
    loss = per_item.masked_fill(torch.ones(5, 1, dtype=torch.bool), 0.0).sum()  # line: fill
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("zero", "mask", "line: fill")}


def non_leaf_parameter(torch):
    w = torch.randn(4, 1, requires_grad=True).to(torch.float64)  # line: to
    x = torch.tensor(X.astype(np.float64))
    loss = (x @ w[:3]).sum()
    return loss, {"w": w}, {"w": ("non_leaf", ".to()", "line: to")}


def times_one_parameter(torch):
    w = torch.ones(3, 1, requires_grad=True) * 1
    loss = (torch.tensor(X) @ w).sum()
    return loss, {"w": w}, {"w": ("non_leaf", "* 1", None)}


def no_grad_and_frozen(torch):
    enc, head, x = _model(torch)
    enc.bias.requires_grad_(False)  # line: frozen
    with torch.no_grad():
        h = enc(x)  # line: no_grad
    loss = head(h).sum()
    expected = {
        "enc.weight": ("cut", "no_grad()", "line: no_grad"),
        "enc.bias": ("frozen", "requires_grad=False", "line: frozen"),
    }
    return loss, {"enc": enc, "head": head}, expected


def unused_branch(torch):
    enc, head, x = _model(torch)
    loss = head(x[:, :1].repeat(1, 4)).sum()
    return loss, {"enc": enc, "head": head}, {"enc.weight": ("unused", "", None)}


def nonfinite_backward(torch):
    w = torch.zeros(3, requires_grad=True)
    loss = torch.sqrt(w).sum()  # line: sqrt
    return loss, {"w": w}, {"w": ("nonfinite", "sqrt", "line: sqrt")}


SCENARIOS = [
    data_escape,
    detach_numpy_rewrap,
    from_numpy_rewrap,
    item_fed_back,
    float_fed_back,
    tolist_rewrap,
    tensor_of_tensor,
    detach_in_place,
    argmax_index,
    comparison_mask,
    int_of_comparison,
    int_cast,
    *[_zero_derivative(op) for op in ("round", "floor", "ceil", "sign", "trunc")],
    dead_relu,
    saturated_sigmoid,
    saturated_tanh,
    clamp_outside,
    masked_out_loss,
    masked_mean_by_zero,
    empty_selection,
    masked_fill_loss,
    non_leaf_parameter,
    times_one_parameter,
    no_grad_and_frozen,
    unused_branch,
    nonfinite_backward,
]


def _line(marker: str | None):
    if marker is None:
        return None
    with open(__file__, encoding="utf-8") as source:
        found = [n for n, line in enumerate(source, 1) if line.rstrip().endswith(f"# {marker}")]
    return f"test_explain_causes.py:{found[0]}"


def _named(params) -> dict:
    named = {}
    for key, value in params.items():
        if hasattr(value, "named_parameters"):
            named.update({f"{key}.{n}": p for n, p in value.named_parameters()})
        else:
            named[key] = value
    return named


def _truth(scenario) -> dict:
    """PyTorch's gradients for the scenario: None, "zero", "nonfinite" or "ok" per name."""
    loss, params, _ = scenario(real_torch)
    named = _named(params)
    if loss.requires_grad:
        loss.backward()
    truth = {}
    for name, tensor in named.items():
        grad = tensor.grad if tensor.is_leaf else None
        if grad is None:
            truth[name] = None
        elif not real_torch.isfinite(grad).all():
            truth[name] = "nonfinite"
        else:
            truth[name] = "zero" if not grad.any() else "ok"
    return truth


def _agrees(row, truth) -> bool:
    if row.status in NO_GRADIENT:
        return truth is None
    if row.status in ("zero", "nonfinite"):
        return truth == row.status
    return truth == "ok"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_explain_names_the_cause_and_line(scenario):
    loss, params, expected = scenario(glassgrad)
    table = glass.explain(loss, params)
    for name, (status, mechanism, marker) in expected.items():
        row = table[name]
        assert row.status == status, (name, row)
        assert row.mechanism == mechanism, (name, row)
        if marker is not None:
            assert row.where == _line(marker), (name, row)
        assert row.status == "unused" or "not used" not in row.cause, row


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_every_row_agrees_with_pytorch(scenario):
    loss, params, _ = scenario(glassgrad)
    table = glass.explain(loss, params)
    truth = _truth(scenario)
    for row in table.rows:
        for name in row.names:
            assert _agrees(row, truth[name]), (name, row, truth[name])


def test_without_provenance_records_explain_does_not_claim_not_used():
    with glass.provenance(False):
        loss, params, _ = data_escape(glassgrad)
    table = glass.explain(loss, params)
    assert table["enc.weight"].status == "no_path"
    assert "not used" not in table["enc.weight"].cause


def test_a_logging_loop_does_not_push_the_explaining_escape_out():
    enc, head, x = _model(glassgrad)
    scale = enc(x).mean().item()  # the escape
    for _ in range(300):
        (head(x[:, :1].repeat(1, 4)) * 2).sum().item()  # logging, many times
    loss = (head(x[:, :1].repeat(1, 4)) * scale).sum()
    row = glass.explain(loss, {"enc": enc})["enc.weight"]
    assert (row.status, row.mechanism, row.where) == ("cut", ".item()", _line("the escape"))


def test_records_switched_off_earlier_do_not_hedge_later_programs():
    with glass.provenance(False):
        data_escape(glassgrad)
    loss, params, _ = unused_branch(glassgrad)
    assert glass.explain(loss, params)["enc.weight"].status == "unused"


# after backward() freed the graph, these causes leave no trace (explain says so)
UNKNOWN_AFTER_BACKWARD = {
    "clamp_outside",
    "masked_mean_by_zero",
    "empty_selection",
    "masked_fill_loss",
    "nonfinite_backward",
    "saturated_sigmoid",
    "saturated_tanh",
}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_after_backward_rows_stay_true_and_name_what_is_known(scenario):
    loss, params, expected = scenario(glassgrad)
    if loss.requires_grad:
        loss.backward()
    table = glass.explain(loss, params)
    truth = _truth(scenario)
    for row in table.rows:
        for name in row.names:
            assert _agrees(row, truth[name]), (name, row, truth[name])
    for name, (status, mechanism, marker) in expected.items():
        row = table[name]
        assert row.status == status, (name, row)
        if scenario.__name__ in UNKNOWN_AFTER_BACKWARD:
            assert "before backward() or under glass.record_flows()" in row.cause, row
            continue
        assert row.mechanism == mechanism, (name, row)
        if marker is not None:
            assert row.where == _line(marker), (name, row)
