"""Adadelta, ASGD and Rprop against PyTorch 2.13: trajectories, state dicts, flags, errors."""

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
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4}),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"rho": 1.0, "foreach": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "t0": 5}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 3, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 0, "maximize": True, "foreach": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.7)}),
    ("Rprop", {"lr": 0.05, "step_sizes": (1e-3, 0.1), "maximize": True}),
    ("Rprop", {"lr": 0.05, "foreach": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]
NAMES = ["Adadelta", "ASGD", "Rprop"]


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


@pytest.mark.parametrize("name", NAMES)
def test_with_lr_scheduler_and_modules(name):
    assert_same_modules_training(name, {"lr": 0.05})


ERRORS = {
    "Adadelta-lr": make("Adadelta", lr=-1.0),
    "Adadelta-rho": make("Adadelta", rho=1.5),
    "Adadelta-eps": make("Adadelta", eps=-1.0),
    "Adadelta-weight_decay": make("Adadelta", weight_decay=-1.0),
    "ASGD-lr": make("ASGD", lr=-1.0),
    "ASGD-weight_decay": make("ASGD", weight_decay=-1.0),
    "Rprop-lr": make("Rprop", lr=-1.0),
    "Rprop-etas": make("Rprop", etas=(0.5, 0.9)),
    "Rprop-etas-low": make("Rprop", etas=(0.0, 1.2)),
}
for _name in NAMES:
    ERRORS[f"{_name}-capturable"] = step_with(_name, capturable=True)
    ERRORS[f"{_name}-differentiable"] = step_with(_name, differentiable=True)


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    assert error_of(glassgrad, ERRORS[case]) == error_of(torch, ERRORS[case])


@pytest.mark.parametrize("name", NAMES)
def test_step_updates_in_place_and_bumps_the_version(name):
    counts = []
    for lib in (torch, glassgrad):
        p = lib.tensor([1.0, -2.0], requires_grad=True)
        view = p.detach()
        opt = getattr(lib.optim, name)([p], lr=0.1)
        for _ in range(3):
            p.grad = lib.tensor([0.5, -0.5])
            before = p._version
            opt.step()
            counts.append(p._version - before)
        assert view.tolist() == p.tolist()
    assert counts[:3] == counts[3:]


def test_asgd_positional_arguments_as_torch():
    for lib in (torch, glassgrad):
        p = lib.tensor([1.0], requires_grad=True)
        group = lib.optim.ASGD([p], 0.1, 0.2, 0.3, 4.0, 0.5, None, True, False, False)
        assert group.defaults["t0"] == 4.0 and group.defaults["maximize"] is True
