"""nn.utils.weight_norm / remove_weight_norm against PyTorch: parameters and state-dict keys,
the initial split (g = ||w||, v = w), forward values and gradients for g, v and the input,
training through the hook, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad

RNG = np.random.default_rng(77)

CASES = {
    "linear": (lambda nn: nn.Linear(3, 4), (2, 3), {}),
    "linear_dim1": (lambda nn: nn.Linear(3, 4), (2, 3), {"dim": 1}),
    "linear_all": (lambda nn: nn.Linear(3, 4), (2, 3), {"dim": None}),
    "conv1d": (lambda nn: nn.Conv1d(2, 4, 3), (2, 2, 7), {}),
    "conv2d_dim1": (lambda nn: nn.Conv2d(2, 3, 2), (1, 2, 4, 4), {"dim": 1}),
    "conv1d_last": (lambda nn: nn.Conv1d(2, 4, 3), (2, 2, 7), {"dim": -1}),
    "bias": (lambda nn: nn.Linear(3, 4), (2, 3), {"name": "bias"}),
}


def _pair(case):
    ctor, shape, kwargs = CASES[case]
    t_mod = ctor(torch.nn).double()
    g_mod = ctor(glassgrad.nn).double()
    g_mod.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated"):
        t_out = torch.nn.utils.weight_norm(t_mod, **kwargs)
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated"):
        g_out = glassgrad.nn.utils.weight_norm(g_mod, **kwargs)
    assert t_out is t_mod and g_out is g_mod
    return t_mod, g_mod, RNG.standard_normal(shape)


@pytest.mark.parametrize("case", list(CASES))
def test_weight_norm_matches_torch(case):
    t_mod, g_mod, x = _pair(case)
    assert [n for n, _ in g_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    assert repr(g_mod) == repr(t_mod)
    for key, value in t_mod.state_dict().items():
        assert tuple(g_mod.state_dict()[key].shape) == tuple(value.shape), key
        np.testing.assert_allclose(g_mod.state_dict()[key].numpy(), value.numpy(), rtol=1e-12)
    t_x, g_x = torch.tensor(x, requires_grad=True), glassgrad.tensor(x, requires_grad=True)
    t_y, g_y = t_mod(t_x), g_mod(g_x)
    np.testing.assert_allclose(g_y.detach().numpy(), t_y.detach().numpy(), rtol=1e-10)
    seed = RNG.standard_normal(tuple(t_y.shape))
    t_y.backward(torch.tensor(seed))
    g_y.backward(glassgrad.tensor(seed))
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, t_p), (_, g_p) in zip(
        t_mod.named_parameters(), g_mod.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            g_p.grad.numpy(), t_p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize("case", ["linear", "conv1d", "linear_all"])
def test_training_through_the_hook_then_removal(case):
    t_mod, g_mod, x = _pair(case)
    for lib, module in ((torch, t_mod), (glassgrad, g_mod)):
        opt = lib.optim.SGD(module.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (module(lib.tensor(x)) ** 2).mean().backward()
            opt.step()
    np.testing.assert_allclose(
        g_mod(glassgrad.tensor(x)).detach().numpy(),
        t_mod(torch.tensor(x)).detach().numpy(),
        rtol=1e-9,
    )
    assert glassgrad.nn.utils.remove_weight_norm(g_mod) is g_mod
    torch.nn.utils.remove_weight_norm(t_mod)
    assert [n for n, _ in g_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    assert type(g_mod.weight).__name__ == "Parameter" and not g_mod._forward_pre_hooks
    np.testing.assert_allclose(
        g_mod.weight.detach().numpy(), t_mod.weight.detach().numpy(), rtol=1e-9
    )


def _outcome(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return (type(exc).__name__, str(exc))
    return ("ok",)


BAD = {
    "twice": lambda L: L.nn.utils.weight_norm(L.nn.utils.weight_norm(L.nn.Linear(2, 2))),
    "remove_missing": lambda L: L.nn.utils.remove_weight_norm(L.nn.Linear(2, 2)),
    "remove_other_name": lambda L: L.nn.utils.remove_weight_norm(
        L.nn.utils.weight_norm(L.nn.Linear(2, 2)), "bias"
    ),
    "lazy": lambda L: L.nn.utils.weight_norm(L.nn.LazyLinear(2)),
    "missing_name": lambda L: L.nn.utils.weight_norm(L.nn.Linear(2, 2), name="foo"),
}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_errors_match_torch(case):
    assert _outcome(lambda: BAD[case](glassgrad)) == _outcome(lambda: BAD[case](torch))
