"""nn.utils.prune against PyTorch: l1_unstructured (fractions, counts, importance scores,
repeated pruning), random_unstructured, identity, remove, is_pruned; parameters, buffers and
state-dict keys, the masks, values and gradients through the pruning hook, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401 - (PyTorch does not import it with nn.utils)

import glassgrad

RNG = np.random.default_rng(90)


def _pair():
    t_mod = torch.nn.Linear(5, 4).double()
    g_mod = glassgrad.nn.Linear(5, 4).double()
    g_mod.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    return t_mod, g_mod


def _same_state(t_mod, g_mod):
    assert [n for n, _ in g_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    assert [n for n, _ in g_mod.named_buffers()] == [n for n, _ in t_mod.named_buffers()]
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    for key, value in t_mod.state_dict().items():
        np.testing.assert_array_equal(g_mod.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    np.testing.assert_array_equal(g_mod.weight.detach().numpy(), t_mod.weight.detach().numpy())


STEPS = {
    "fraction": [("l1_unstructured", "weight", {"amount": 0.3})],
    "count": [("l1_unstructured", "weight", {"amount": 7})],
    "zero": [("l1_unstructured", "bias", {"amount": 0})],
    "all": [("l1_unstructured", "bias", {"amount": 1.0})],
    "twice": [
        ("l1_unstructured", "weight", {"amount": 0.5}),
        ("l1_unstructured", "weight", {"amount": 3}),
    ],
    "both": [
        ("l1_unstructured", "weight", {"amount": 0.25}),
        ("l1_unstructured", "bias", {"amount": 2}),
        ("identity", "weight", {}),
    ],
    "identity": [("identity", "weight", {})],
}


@pytest.mark.parametrize("case", list(STEPS))
def test_pruning_matches_torch(case):
    t_mod, g_mod = _pair()
    for fn, name, kwargs in STEPS[case]:
        assert getattr(torch.nn.utils.prune, fn)(t_mod, name, **kwargs) is t_mod
        assert getattr(glassgrad.nn.utils.prune, fn)(g_mod, name, **kwargs) is g_mod
        _same_state(t_mod, g_mod)
    assert glassgrad.nn.utils.prune.is_pruned(g_mod)
    x = RNG.standard_normal((3, 5))
    t_x, g_x = torch.tensor(x, requires_grad=True), glassgrad.tensor(x, requires_grad=True)
    t_y, g_y = t_mod(t_x), g_mod(g_x)
    np.testing.assert_allclose(g_y.detach().numpy(), t_y.detach().numpy(), rtol=1e-12)
    t_y.sum().backward()
    g_y.sum().backward()
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-12)
    for (name, t_p), (_, g_p) in zip(
        t_mod.named_parameters(), g_mod.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(g_p.grad.numpy(), t_p.grad.numpy(), rtol=1e-12, err_msg=name)
    for name in {step[1] for step in STEPS[case]}:
        torch.nn.utils.prune.remove(t_mod, name)
        glassgrad.nn.utils.prune.remove(g_mod, name)
    _same_state(t_mod, g_mod)
    assert not glassgrad.nn.utils.prune.is_pruned(g_mod)
    assert type(g_mod.weight).__name__ == "Parameter" and not g_mod._forward_pre_hooks


def test_importance_scores_choose_the_mask():
    t_mod, g_mod = _pair()
    scores = RNG.standard_normal((4, 5))
    torch.nn.utils.prune.l1_unstructured(
        t_mod, "weight", 0.4, importance_scores=torch.tensor(scores)
    )
    glassgrad.nn.utils.prune.l1_unstructured(
        g_mod, "weight", 0.4, importance_scores=glassgrad.tensor(scores)
    )
    _same_state(t_mod, g_mod)


def test_random_unstructured_prunes_the_amount_as_torch():
    for lib in (torch, glassgrad):
        module = lib.nn.Linear(10, 10)
        lib.nn.utils.prune.random_unstructured(module, "weight", amount=0.3)
        assert float(module.weight_mask.sum()) == 70
        assert float((module.weight == 0).sum()) >= 30
        lib.nn.utils.prune.random_unstructured(module, "weight", amount=7)
        assert float(module.weight_mask.sum()) == 63
        assert type(next(iter(module._forward_pre_hooks.values()))).__name__ == "PruningContainer"


def test_is_pruned_sees_submodules():
    for lib in (torch, glassgrad):
        model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
        assert not lib.nn.utils.prune.is_pruned(model)
        lib.nn.utils.prune.l1_unstructured(model[0], "weight", 0.5)
        assert lib.nn.utils.prune.is_pruned(model)


def _outcome(call):
    try:
        module = call()
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return (type(exc).__name__, str(exc))
    return ("ok", [n for n, _ in module.named_parameters()])


def _failed_then(L):
    module = L.nn.Linear(3, 3)
    try:
        L.nn.utils.prune.l1_unstructured(module, "weight", amount=20)
    except ValueError:
        pass
    return module


BAD = {
    "remove_unpruned": lambda L: L.nn.utils.prune.remove(L.nn.Linear(4, 3), "weight"),
    "fraction_above_one": lambda L: L.nn.utils.prune.l1_unstructured(
        L.nn.Linear(2, 2), "weight", 1.5
    ),
    "negative": lambda L: L.nn.utils.prune.l1_unstructured(L.nn.Linear(2, 2), "weight", -1),
    "too_many": lambda L: L.nn.utils.prune.l1_unstructured(L.nn.Linear(2, 2), "weight", 5),
    "missing": lambda L: L.nn.utils.prune.l1_unstructured(L.nn.Linear(2, 2), "foo", 1),
    "amount_type": lambda L: L.nn.utils.prune.random_unstructured(L.nn.Linear(2, 2), "weight", "a"),
    "failed_leaves_module": _failed_then,
}


@pytest.mark.parametrize("case", list(BAD))
def test_errors_match_torch(case):
    assert _outcome(lambda: BAD[case](glassgrad)) == _outcome(lambda: BAD[case](torch))
