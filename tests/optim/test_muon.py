"""Muon against PyTorch 2.13 (its bfloat16 Newton-Schulz iteration included)."""

import copy

import numpy as np
import pytest
import torch
from tests.optim.optimizer_cases import error_of

import glassgrad

SHAPES = [(4, 6), (5, 3), (2, 2)]


def _run(lib, dtype, steps=6, **kwargs):
    rng = np.random.default_rng(0)
    params = [lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]
    opt = lib.optim.Muon(params, lr=0.02, **kwargs)
    history = []
    for i in range(steps):
        for j, p in enumerate(params):
            if j == 2 and i % 2:
                p.grad = None
                continue
            p.grad = lib.tensor((np.cos(p.detach().numpy() * (j + 2)) + 0.1 * i).astype(dtype))
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history, opt


CASES = [
    {},
    {"nesterov": False},
    {"adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.0},
    {"adjust_lr_fn": "original", "momentum": 0.8, "ns_steps": 3},
    {"ns_coefficients": (2.0, -1.5, 0.5), "eps": 1e-5, "weight_decay": 0.3},
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_trajectory_and_state_match_torch(kwargs, dtype):
    want, theirs = _run(torch, dtype, **kwargs)
    got, ours = _run(glassgrad, dtype, **kwargs)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for step, (w_step, g_step) in enumerate(zip(want, got, strict=True)):
        for w, g in zip(w_step, g_step, strict=True):
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"step {step}")
    want_sd, got_sd = theirs.state_dict(), ours.state_dict()
    assert got_sd["param_groups"] == want_sd["param_groups"]
    for pid, entry in want_sd["state"].items():
        assert list(got_sd["state"][pid]) == list(entry)
        np.testing.assert_allclose(
            got_sd["state"][pid]["momentum_buffer"].numpy(),
            entry["momentum_buffer"].numpy(),
            rtol=tol,
            atol=tol,
        )


def test_state_dict_round_trip():
    _, first = _run(glassgrad, np.float64, steps=3)
    saved = copy.deepcopy(first.state_dict())
    params = [p.detach().clone().requires_grad_() for p in first.param_groups[0]["params"]]
    resumed = glassgrad.optim.Muon(params, lr=0.02)
    resumed.load_state_dict(saved)
    for opt in (first, resumed):
        for p in opt.param_groups[0]["params"]:
            p.grad = glassgrad.tensor(np.sin(p.detach().numpy()))
        opt.step()
    for a, b in zip(first.param_groups[0]["params"], params, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _make(**kwargs):
    return lambda lib: lib.optim.Muon([lib.zeros(2, 2, requires_grad=True)], **kwargs)


def _step(**kwargs):
    def action(lib):
        p = lib.zeros(2, 2, requires_grad=True)
        opt = lib.optim.Muon([p], **kwargs)
        p.grad = lib.ones(2, 2)
        opt.step()

    return action


ERRORS = {
    "lr": _make(lr=-1.0),
    "momentum": _make(momentum=-0.5),
    "weight_decay": _make(weight_decay=-0.5),
    "adjust": _make(adjust_lr_fn="sqrt"),
    "vector": lambda lib: lib.optim.Muon([lib.zeros(3, requires_grad=True)]),
    "ns_steps": _step(ns_steps=100),
    "coefficients": _step(ns_coefficients=(1.0, 2.0)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    assert error_of(glassgrad, ERRORS[case]) == error_of(torch, ERRORS[case])
