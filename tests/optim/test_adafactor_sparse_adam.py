"""Adafactor and SparseAdam against PyTorch 2.13."""

import numpy as np
import pytest
import torch
from tests.optim.optimizer_cases import (
    assert_round_trip,
    assert_same_modules_training,
    assert_same_run,
    assert_torch_state_continues,
    error_of,
    make,
    step_with,
)

import glassgrad

CASES = [
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5}),
    ("Adafactor", {"lr": 0.05, "eps": (1e-6, 1e-2), "d": 2.0}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adafactor", {"lr": 0.5, "foreach": False}),
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
    assert_round_trip(name, kwargs)


@pytest.mark.parametrize("name,kwargs", CASES[::2], ids=IDS[::2])
def test_torch_state_dict_continues_in_glassgrad(name, kwargs):
    assert_torch_state_continues(name, kwargs)


def test_with_lr_scheduler_and_modules():
    assert_same_modules_training("Adafactor", {"lr": 0.05})


def test_higher_dimensional_parameters_factor_the_last_two_axes():
    shapes = [(2, 3, 4, 5), (1,), ()]
    results = []
    for lib in (torch, glassgrad):
        rng = np.random.default_rng(3)
        params = [
            lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
            for s in shapes
        ]
        opt = lib.optim.Adafactor(params, lr=0.1)
        for _ in range(5):
            for p in params:
                p.grad = lib.tensor(np.sin(3 * p.detach().numpy()) + 0.1)
            opt.step()
        shapes_of_state = [{k: tuple(v.shape) for k, v in opt.state[p].items()} for p in params]
        results.append(([p.detach().numpy() for p in params], shapes_of_state))
    assert results[0][1] == results[1][1]
    for w, g in zip(results[0][0], results[1][0], strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-6)


ERRORS = {
    "Adafactor-lr": make("Adafactor", lr=-1.0),
    "Adafactor-beta2_decay": make("Adafactor", beta2_decay=0.5),
    "Adafactor-eps1": make("Adafactor", eps=(-1.0, 1e-3)),
    "Adafactor-eps2": make("Adafactor", eps=(None, -1.0)),
    "Adafactor-d": make("Adafactor", d=0.5),
    "Adafactor-weight_decay": make("Adafactor", weight_decay=-1.0),
    "SparseAdam-lr": make("SparseAdam", lr=0.0),
    "SparseAdam-eps": make("SparseAdam", eps=0.0),
    "SparseAdam-beta0": make("SparseAdam", betas=(1.0, 0.5)),
    "SparseAdam-beta1": make("SparseAdam", betas=(0.5, 1.0)),
    "SparseAdam-dense": step_with("SparseAdam"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    assert error_of(glassgrad, ERRORS[case]) == error_of(torch, ERRORS[case])


def test_sparse_adam_groups_and_state_dict_as_torch():
    dicts = []
    for lib in (torch, glassgrad):
        a = lib.tensor([1.0], requires_grad=True)
        b = lib.tensor([2.0], requires_grad=True)
        opt = lib.optim.SparseAdam([{"params": [a]}, {"params": [b], "lr": 0.1}], maximize=True)
        opt.step()  # no gradients yet: nothing to refuse
        dicts.append((opt.state_dict(), repr(opt)))
    assert dicts[0] == dicts[1]
