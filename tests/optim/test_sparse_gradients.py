"""Sparse gradients against PyTorch 2.13: SGD, Adagrad and LBFGS take them; every other optimizer
refuses them with PyTorch's error."""

import warnings

import numpy as np
import pytest
import torch

import glassgrad

REFUSING = [
    "Adam", "AdamW", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta", "ASGD", "Rprop",
    "Adafactor", "Muon",
]  # fmt: skip


def _sparse_grad(lib, rng, dtype, duplicates=True):
    rows = [0, 2, 0] if duplicates else [1, 3]
    values = rng.standard_normal((len(rows), 2)).astype(dtype)
    return lib.sparse_coo_tensor(lib.tensor([rows]), lib.tensor(values), (4, 2))


def _error(lib, name):
    p = lib.zeros(4, 2, requires_grad=True)
    opt = getattr(lib.optim, name)([p], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p.grad = _sparse_grad(lib, np.random.default_rng(0), np.float32)
    with pytest.raises(RuntimeError) as info:
        opt.step()
    return str(info.value)


@pytest.mark.parametrize("name", REFUSING)
def test_refusals_match_torch(name):
    assert _error(glassgrad, name) == _error(torch, name)


def _trajectory(lib, name, kwargs, dtype=np.float64, steps=5):
    rng = np.random.default_rng(1)
    p = lib.tensor(rng.standard_normal((4, 2)).astype(dtype), requires_grad=True)
    opt = getattr(lib.optim, name)([p], **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(steps):
            p.grad = _sparse_grad(lib, rng, dtype, duplicates=i % 2 == 0)
            opt.step()
    state = {
        k: (v.to_dense() if v.is_sparse else v).numpy()
        for k, v in opt.state[p].items()
        if isinstance(v, lib.Tensor)
    }
    sparse_state = {k: v.is_sparse for k, v in opt.state[p].items() if isinstance(v, lib.Tensor)}
    return p.detach().numpy(), state, sparse_state


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "nesterov": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.3}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-3}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_sparse_trajectories_match_torch(name, kwargs, dtype):
    want, want_state, want_kinds = _trajectory(torch, name, kwargs, dtype)
    got, got_state, got_kinds = _trajectory(glassgrad, name, kwargs, dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert got_kinds == want_kinds
    for key, value in want_state.items():
        np.testing.assert_allclose(got_state[key], value, rtol=tol, atol=tol, err_msg=key)


@pytest.mark.parametrize("name", ["SGD", "Adagrad"])
def test_weight_decay_with_sparse_gradients_fails_as_torch(name):
    errors = []
    for lib in (torch, glassgrad):
        p = lib.zeros(4, 2, requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, weight_decay=0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p.grad = _sparse_grad(lib, np.random.default_rng(0), np.float32)
        with pytest.raises(RuntimeError) as info:
            opt.step()
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_lbfgs_densifies_sparse_gradients():
    results = []
    for lib in (torch, glassgrad):
        p = lib.tensor(np.ones((4, 2)), requires_grad=True)
        opt = lib.optim.LBFGS([p], max_iter=3)

        def closure(p=p, lib=lib):
            loss = (p.detach() ** 2).sum()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows = lib.tensor([[0, 3]])
                p.grad = lib.sparse_coo_tensor(rows, 2 * p.detach()[[0, 3]], (4, 2))
            return loss

        opt.step(closure)
        results.append(p.detach().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
