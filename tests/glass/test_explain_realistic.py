"""glass.explain on realistic training bugs (and on correct programs that look like bugs).

Each scenario is a small program written against a ``torch`` module and run twice: on glassgrad,
where the table must name the cause's status, mechanism and the scenario's marked line (and a
finding where one is expected), and on PyTorch 2.13, whose ``.grad`` after ``backward()`` is the
ground truth that every row of the table must agree with.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch as real_torch

import glassgrad
from glassgrad import glass
from glassgrad.glass.explain import named_tensors

NO_GRADIENT = ("cut", "unused", "frozen", "non_leaf", "no_path")
RNG = np.random.default_rng(7)
Z = RNG.standard_normal((8, 2)).astype(np.float32)
X = RNG.standard_normal((6, 3)).astype(np.float32)
SEQ = RNG.standard_normal((4, 2, 3)).astype(np.float32)


def _seeded(torch, module):
    """Give ``module``'s parameters the same values in both frameworks."""
    values = np.random.default_rng(11)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.tensor(values.standard_normal(tuple(param.shape)).astype("f")))
    return module


# Each scenario returns (loss, params, expected, findings, optimizer): expected maps a name to
# (status, mechanism, the marker of the line the row must name, or None); findings lists the
# kinds of finding the table must report.


def gan_generator_detached(torch):
    nn = torch.nn
    gen = _seeded(torch, nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2)))
    disc = _seeded(torch, nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)))
    fake = gen(torch.tensor(Z))
    verdict = disc(fake.detach())  # line: fake.detach
    loss = nn.functional.binary_cross_entropy_with_logits(verdict, torch.ones(8, 1))
    expected = {
        "G.0.weight": ("cut", "detach()", "line: fake.detach"),
        "G.2.bias": ("cut", "detach()", "line: fake.detach"),
        "D.2.weight": ("ok", "", None),
    }
    return loss, {"G": gen, "D": disc}, expected, [], None


def frozen_batchnorm_in_train_mode(torch):
    nn = torch.nn
    model = _seeded(torch, nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)))
    for param in model[1].parameters():
        param.requires_grad = False  # line: freeze
    model.train()
    loss = model(torch.tensor(X)).pow(2).mean()
    expected = {
        "1.weight": ("frozen", "requires_grad=False", "line: freeze"),
        "1.bias": ("frozen", "requires_grad=False", "line: freeze"),
        "0.weight": ("ok", "", None),
    }
    return loss, model, expected, [], None


class _TiedLM:
    """nanoGPT's weight tying: the output layer shares the embedding's weight."""

    @staticmethod
    def build(torch):
        nn = torch.nn

        class TiedLM(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.wte = nn.Embedding(10, 4)
                self.ln = nn.LayerNorm(4)
                self.lm_head = nn.Linear(4, 10, bias=False)
                self.lm_head.weight = self.wte.weight

            def forward(self, idx):
                return self.lm_head(self.ln(self.wte(idx)))

        return _seeded(torch, TiedLM())


def tied_embedding(torch):
    model = _TiedLM.build(torch)
    logits = model(torch.tensor([1, 2, 3, 4]))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([2, 3, 4, 5]))
    return loss, model, {"wte.weight": ("ok", "", None)}, [], None


def module_dict_and_nested_dicts(torch):
    nn = torch.nn
    blocks = _seeded(
        torch,
        nn.ModuleDict({"enc": nn.Linear(3, 4), "head": nn.Linear(4, 1), "spare": nn.Linear(3, 3)}),
    )
    loss = blocks["head"](blocks["enc"](torch.tensor(X)).relu()).sum()
    params = {"model": blocks, "more": {"enc_weight": blocks["enc"].weight}}
    expected = {
        "model.enc.weight": ("ok", "", None),
        "more.enc_weight": ("ok", "", None),
        "model.spare.weight": ("unused", "", None),
    }
    return loss, params, expected, [], None


def loss_masked_to_zero(torch):
    model = _seeded(torch, torch.nn.Linear(3, 1))
    per_item = (model(torch.tensor(X)).squeeze(1) - 1) ** 2
    lengths = torch.tensor([3, 2, 4, 1, 5, 2])
    mask = (torch.arange(6) > lengths.max()).float()  # meant: < lengths
    loss = (per_item * mask).sum() / mask.sum().clamp(min=1)  # line: masked
    expected = {
        "weight": ("zero", "mask", "line: masked"),
        "bias": ("zero", "mask", "line: masked"),
    }
    return loss, model, expected, [], None


def truncated_bptt(torch):
    nn = torch.nn
    cell, head = _seeded(torch, nn.LSTMCell(3, 4)), _seeded(torch, nn.Linear(4, 1))
    hidden = (torch.zeros(2, 4), torch.zeros(2, 4))
    loss = torch.zeros(())
    for step in range(4):
        hidden = tuple(h.detach() for h in hidden)  # line: truncate
        hidden = cell(torch.tensor(SEQ[step]), hidden)
        loss = loss + head(hidden[0]).pow(2).mean()
    expected = {"cell.weight_hh": ("ok", "", None), "head.weight": ("ok", "", None)}
    return loss, {"cell": cell, "head": head}, expected, ["partial_cut"], None


def lstm_state_carried_across_batches(torch):
    nn = torch.nn
    lstm, head = _seeded(torch, nn.LSTM(3, 4, batch_first=True)), _seeded(torch, nn.Linear(4, 1))
    optimizer = torch.optim.SGD([*lstm.parameters(), *head.parameters()], lr=0.1)
    state = (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))
    for batch in range(3):
        state = (state[0].detach(), state[1].detach())  # line: carry
        out, state = lstm(torch.tensor(SEQ.transpose(1, 0, 2) * (batch + 1)), state)
        loss = head(out).pow(2).mean()
        if batch < 2:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    expected = {"lstm.weight_hh_l0": ("ok", "", None), "head.bias": ("ok", "", None)}
    return loss, {"lstm": lstm, "head": head}, expected, ["partial_cut"], optimizer


def no_grad_around_the_encoder(torch):
    nn = torch.nn
    enc, head = _seeded(torch, nn.Linear(3, 4)), _seeded(torch, nn.Linear(4, 1))
    with torch.no_grad():
        features = enc(torch.tensor(X))  # line: no_grad
    loss = head(features.relu()).sum()
    expected = {
        "enc.weight": ("cut", "no_grad()", "line: no_grad"),
        "enc.bias": ("cut", "no_grad()", "line: no_grad"),
        "head.weight": ("ok", "", None),
    }
    return loss, {"enc": enc, "head": head}, expected, [], None


def optimizer_made_before_layer_replaced(torch):
    nn = torch.nn
    model = _seeded(torch, nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model[2] = _seeded(torch, nn.Linear(4, 1))
    loss = model(torch.tensor(X)).sum()
    expected = {
        "2.weight": ("not_in_optimizer", "optimizer", None),
        "2.bias": ("not_in_optimizer", "optimizer", None),
        "0.weight": ("ok", "", None),
    }
    return loss, model, expected, ["stale_optimizer"], optimizer


def dead_relu_in_the_middle(torch):
    nn = torch.nn
    layers = [nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1)]
    model = _seeded(torch, nn.Sequential(*layers))
    with torch.no_grad():
        model[2].bias.fill_(-100.0)  # a bad initialisation kills every unit of layer 2
    loss = model(torch.tensor(X)).sum()  # line: dead
    expected = {
        "0.weight": ("zero", "ReLU", "line: dead"),
        "2.bias": ("zero", "ReLU", "line: dead"),
        "4.weight": ("zero", "ReLU", "line: dead"),
        "4.bias": ("ok", "", None),
    }
    return loss, model, expected, [], None


def sigmoid_saturated_by_large_inputs(torch):
    model = _seeded(torch, torch.nn.Linear(3, 1))
    with torch.no_grad():
        model.bias.fill_(60.0)
    loss = torch.nn.Sigmoid()(model(torch.tensor(X))).sum()  # line: sigmoid
    return loss, model, {"weight": ("zero", "sigmoid", "line: sigmoid")}, [], None


def training_loop_that_logs_its_loss(torch):
    nn = torch.nn
    model = _seeded(torch, nn.ModuleDict({"used": nn.Linear(3, 1), "spare": nn.Linear(3, 1)}))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    total = 0.0
    for _ in range(2):
        optimizer.zero_grad()
        outputs = model["used"](torch.tensor(X)) + model["spare"](torch.tensor(X))
        loss = outputs.pow(2).mean()
        print(f"loss {loss.item():.3f}")  # a log before backward: feeds nothing back
        loss.backward()
        optimizer.step()
        total += float(loss)  # and one after it
    loss = model["used"](torch.tensor(X)).pow(2).mean()  # the spare head is dropped now
    expected = {"spare.weight": ("unused", "", None), "used.weight": ("ok", "", None)}
    return loss, model, expected, [], optimizer


def earlier_step_logged_a_probe(torch):
    nn = torch.nn
    model = _seeded(torch, nn.ModuleDict({"body": nn.Linear(3, 1), "probe": nn.Linear(3, 1)}))
    optimizer = torch.optim.SGD(model["body"].parameters(), lr=0.01)
    for _ in range(2):
        optimizer.zero_grad()
        loss = model["body"](torch.tensor(X)).pow(2).mean()
        probe = model["probe"](torch.tensor(X)).mean().item()  # logged; fed into nothing
        loss.backward()
        optimizer.step()
    print(f"probe {probe:.3f}")
    loss = model["body"](torch.tensor(X)).pow(2).mean()
    expected = {"probe.weight": ("unused", "", None), "body.weight": ("ok", "", None)}
    return loss, model, expected, [], None


SCENARIOS = [
    gan_generator_detached,
    frozen_batchnorm_in_train_mode,
    tied_embedding,
    module_dict_and_nested_dicts,
    loss_masked_to_zero,
    truncated_bptt,
    lstm_state_carried_across_batches,
    no_grad_around_the_encoder,
    optimizer_made_before_layer_replaced,
    dead_relu_in_the_middle,
    sigmoid_saturated_by_large_inputs,
    training_loop_that_logs_its_loss,
    earlier_step_logged_a_probe,
]


def _line(marker: str) -> str:
    with open(__file__, encoding="utf-8") as source:
        found = [n for n, line in enumerate(source, 1) if line.rstrip().endswith(f"# {marker}")]
    return f"test_explain_realistic.py:{found[0]}"


def _truth(scenario) -> dict:
    """PyTorch's gradients for the scenario, per name: None, "zero", "nonfinite" or "ok"."""
    loss, params, _, _, _ = scenario(real_torch)
    named = named_tensors(params)
    for tensor in named.values():
        tensor.grad = None  # (a training loop's last step left its own)
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
def test_realistic_bug_is_named_with_its_line(scenario):
    loss, params, expected, findings, optimizer = scenario(glassgrad)
    table = glass.explain(loss, params, optimizer=optimizer)
    for name, (status, mechanism, marker) in expected.items():
        row = table[name]
        assert row.status == status, (name, row)
        assert row.mechanism == mechanism, (name, row)
        if marker is not None:
            assert row.where == _line(marker), (name, row)
    assert sorted({f.kind for f in table.findings}) == sorted(findings), table.findings


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_every_row_agrees_with_pytorch(scenario):
    loss, params, _, _, optimizer = scenario(glassgrad)
    table = glass.explain(loss, params, optimizer=optimizer)
    truth = _truth(scenario)
    assert {name for row in table.rows for name in row.names} == set(truth)
    for row in table.rows:
        for name in row.names:
            assert _agrees(row, truth[name]), (name, row, truth[name])


def test_tied_weight_is_listed_under_both_names():
    table = glass.explain(*tied_embedding(glassgrad)[:2])
    assert table["wte.weight"] is table["lm_head.weight"]
    assert table["wte.weight"].names == ("wte.weight", "lm_head.weight")


def test_frozen_batchnorm_in_train_mode_says_its_statistics_still_move():
    loss, model, _, _, _ = frozen_batchnorm_in_train_mode(glassgrad)
    assert "train mode" in glass.explain(loss, model)["1.weight"].cause


def test_a_replaced_layer_says_the_optimizer_was_made_before():
    loss, model, _, _, optimizer = optimizer_made_before_layer_replaced(glassgrad)
    row = glass.explain(loss, model, optimizer=optimizer)["2.weight"]
    assert "made before this layer was replaced" in row.cause


def test_a_dead_relu_names_its_layer_and_unit_count():
    loss, model, _, _, _ = dead_relu_in_the_middle(glassgrad)
    table = glass.explain(loss, model)
    for name in ("0.weight", "4.weight"):
        cause = table[name].cause
        assert "all 4 units inactive" in cause and "on the output of layer `2`" in cause


def test_truncated_bptt_is_named_without_claiming_a_bug():
    loss, params, _, _, _ = truncated_bptt(glassgrad)
    table = glass.explain(loss, params)
    (finding,) = table.findings
    assert _line("line: truncate") in finding.cause and "truncated" in finding.cause
    assert all(row.status == "ok" for row in table.rows)


def test_named_parameters_and_parameters_generators_are_accepted():
    loss, model, _, _, _ = frozen_batchnorm_in_train_mode(glassgrad)
    by_name = glass.explain(loss, model.named_parameters())
    assert [row.name for row in by_name.rows] == [name for name, _ in model.named_parameters()]
    assert by_name["1.weight"].status == "frozen" and by_name["0.weight"].status == "ok"
    plain = glass.explain(loss, model.parameters())
    assert [row.status for row in plain.rows] == [row.status for row in by_name.rows]
