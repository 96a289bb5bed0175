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


def _sparse_adam_run(lib, dtype, steps=6, **kwargs):
    import warnings

    rng = np.random.default_rng(0)
    table = lib.tensor(rng.standard_normal((6, 3)).astype(dtype), requires_grad=True)
    vector = lib.tensor(rng.standard_normal(5).astype(dtype), requires_grad=True)
    opt = lib.optim.SparseAdam([table, vector], lr=0.05, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(steps):
            rows = lib.tensor([[i % 6, (i + 2) % 6, i % 6]])
            values = lib.tensor(rng.standard_normal((3, 3)).astype(dtype))
            table.grad = lib.sparse_coo_tensor(rows, values, (6, 3))
            points = lib.tensor([[1, 3]] if i % 2 else [[4]])
            weights = lib.tensor(rng.standard_normal(points.shape[1]).astype(dtype))
            vector.grad = lib.sparse_coo_tensor(points, weights, (5,)) if i != 3 else None
            opt.step()
    return [table.detach().numpy(), vector.detach().numpy()], opt


@pytest.mark.parametrize("kwargs", [{}, {"maximize": True, "betas": (0.5, 0.9), "eps": 1e-3}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_sparse_adam_with_sparse_gradients_matches_torch(dtype, kwargs):
    want, theirs = _sparse_adam_run(torch, dtype, **kwargs)
    got, ours = _sparse_adam_run(glassgrad, dtype, **kwargs)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    want_sd, got_sd = theirs.state_dict(), ours.state_dict()
    assert got_sd["param_groups"] == want_sd["param_groups"]
    for pid, entry in want_sd["state"].items():
        assert list(got_sd["state"][pid]) == list(entry)
        assert got_sd["state"][pid]["step"] == entry["step"]
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(
                got_sd["state"][pid][key].numpy(), entry[key].numpy(), rtol=tol, atol=tol
            )


def test_sparse_adam_refuses_sparse_parameters_as_torch():
    errors = []
    for lib in (torch, glassgrad):
        sparse = lib.sparse_coo_tensor(lib.tensor([[0]]), lib.tensor([1.0]), (2,))
        with pytest.raises(ValueError) as info:
            lib.optim.SparseAdam([lib.zeros(2, requires_grad=True), sparse])
        errors.append(str(info.value))
    assert errors[0] == errors[1]
