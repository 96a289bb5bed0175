"""Adamax, NAdam and RAdam against PyTorch 2.13: trajectories, state dicts, flags, errors."""

import copy

import numpy as np
import pytest
import torch
from tests.optim.optimizer_cases import assert_same_run, gradient, run

import glassgrad

CASES = [
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-4}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adamax", {"lr": 0.05, "foreach": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.05, "betas": (0.7, 0.9), "eps": 1e-5, "maximize": True}),
    ("NAdam", {"lr": 0.05, "foreach": False}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9)}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "betas": (0.5, 0.7), "maximize": True, "foreach": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_trajectory_and_state_match_torch(name, kwargs, dtype):
    assert_same_run(name, kwargs, dtype=dtype)


@pytest.mark.parametrize("name,kwargs", CASES[::2], ids=IDS[::2])
def test_groups_and_parameters_without_gradient(name, kwargs):
    assert_same_run(name, kwargs, steps=5, groups=True, skip=1)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip_continues_the_trajectory(name, kwargs):
    params, first, _ = run(glassgrad, name, kwargs, steps=10)
    saved = copy.deepcopy(first.state_dict())
    resumed_params = [
        glassgrad.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params
    ]
    resumed = getattr(glassgrad.optim, name)(resumed_params, **kwargs)
    resumed.load_state_dict(saved)
    for _ in range(10):
        for opt, ps in ((first, params), (resumed, resumed_params)):
            for i, p in enumerate(ps):
                p.grad = glassgrad.tensor(gradient(p.detach().numpy(), i))
            opt.step()
    for a, b in zip(params, resumed_params, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=IDS[::3])
def test_torch_state_dict_continues_in_glassgrad(name, kwargs):
    torch_params, theirs, _ = run(torch, name, kwargs, steps=5)
    saved = theirs.state_dict()
    converted = {
        "param_groups": saved["param_groups"],
        "state": {
            pid: {
                k: glassgrad.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v
                for k, v in entry.items()
            }
            for pid, entry in saved["state"].items()
        },
    }
    ours_params = [
        glassgrad.tensor(p.detach().numpy().copy(), requires_grad=True) for p in torch_params
    ]
    ours = getattr(glassgrad.optim, name)(ours_params, **kwargs)
    ours.load_state_dict(converted)
    for _ in range(5):
        for opt, ps, lib in ((theirs, torch_params, torch), (ours, ours_params, glassgrad)):
            for i, p in enumerate(ps):
                p.grad = lib.tensor(gradient(p.detach().numpy(), i))
            opt.step()
    for a, b in zip(torch_params, ours_params, strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam"])
def test_with_lr_scheduler_and_modules(name):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    ours = glassgrad.nn.Sequential(
        glassgrad.nn.Linear(3, 8), glassgrad.nn.Tanh(), glassgrad.nn.Linear(8, 1)
    )
    with glassgrad.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            p.copy_(glassgrad.tensor(q.detach().numpy()))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    for lib, model in ((torch, theirs), (glassgrad, ours)):
        opt = getattr(lib.optim, name)(model.parameters(), lr=0.02)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        xt, yt = lib.tensor(x.astype(np.float32)), lib.tensor(y.astype(np.float32))
        for _ in range(15):
            opt.zero_grad()
            ((model(xt) - yt) ** 2).mean().backward()
            opt.step()
            sched.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)


def _error(lib, action):
    with pytest.raises(Exception) as info:
        action(lib)
    return type(info.value).__name__, str(info.value)


def _make(name, **kwargs):
    return lambda lib: getattr(lib.optim, name)([lib.tensor([1.0], requires_grad=True)], **kwargs)


def _step_with(name, **kwargs):
    def action(lib):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = getattr(lib.optim, name)([p], **kwargs)
        p.grad = lib.tensor([0.1, -0.2])
        opt.step()

    return action


ERRORS = {}
for _name in ("Adamax", "NAdam", "RAdam"):
    ERRORS[f"{_name}-lr"] = _make(_name, lr=-1.0)
    ERRORS[f"{_name}-tensor_lr"] = _make(_name, lr=torch.tensor([1.0, 2.0]))
    ERRORS[f"{_name}-eps"] = _make(_name, eps=-1.0)
    ERRORS[f"{_name}-beta0"] = _make(_name, betas=(1.0, 0.9))
    ERRORS[f"{_name}-beta1"] = _make(_name, betas=(0.9, -0.1))
    ERRORS[f"{_name}-weight_decay"] = _make(_name, weight_decay=-0.5)
    ERRORS[f"{_name}-capturable"] = _step_with(_name, capturable=True)
    ERRORS[f"{_name}-differentiable"] = _step_with(_name, differentiable=True)
ERRORS["NAdam-momentum_decay"] = _make("NAdam", momentum_decay=-1.0)


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    action = ERRORS[case]
    if "tensor_lr" in case:
        ours = lambda lib: _make(case.split("-")[0], lr=lib.tensor([1.0, 2.0]))(lib)  # noqa: E731
        assert _error(glassgrad, ours) == _error(torch, action)
    else:
        assert _error(glassgrad, action) == _error(torch, action)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam"])
def test_step_updates_in_place_and_bumps_the_version(name):
    counts = []
    for lib in (torch, glassgrad):
        p = lib.tensor([1.0, -2.0], requires_grad=True)
        view = p.detach()
        opt = getattr(lib.optim, name)([p], lr=0.1)
        p.grad = lib.tensor([0.5, 0.5])
        before = p._version
        opt.step()
        assert view.tolist() == p.tolist()
        counts.append(p._version - before)
    assert counts[0] == counts[1]
