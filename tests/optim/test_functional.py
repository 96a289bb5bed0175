"""``optim._functional`` (adam, adamw, sgd on explicit tensor lists) against PyTorch 2.13."""

import importlib

import numpy as np
import pytest
import torch

import glassgrad

SHAPES = [(3, 2), (4,)]


def _lists(lib, dtype):
    rng = np.random.default_rng(0)
    params = [lib.tensor(rng.standard_normal(s).astype(dtype)) for s in SHAPES]
    return params, rng


def _adam(lib, name, dtype, **kwargs):
    functional = importlib.import_module(f"{lib.__name__}.optim._functional")
    params, rng = _lists(lib, dtype)
    avgs = [lib.zeros_like(p) for p in params]
    sqs = [lib.zeros_like(p) for p in params]
    maxes = [lib.zeros_like(p) for p in params]
    steps = [lib.tensor(0.0) for _ in params]
    for _ in range(6):
        grads = [lib.tensor(rng.standard_normal(p.shape).astype(dtype)) for p in params]
        for s in steps:
            s += 1
        getattr(functional, name)(
            params, grads, avgs, sqs, maxes, steps, lr=0.05, beta1=0.9, beta2=0.99,
            weight_decay=0.1, eps=1e-8, **kwargs,
        )  # fmt: skip
    return [t.numpy() for t in params + avgs + sqs + maxes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("adam", {"amsgrad": False, "maximize": False}),
        ("adam", {"amsgrad": True, "maximize": True}),
        ("adam", {"amsgrad": False, "maximize": False, "decoupled_weight_decay": True}),
        ("adamw", {"amsgrad": True, "maximize": False}),
    ],
)
def test_adam_functions_match_torch(name, kwargs, dtype):
    want, got = _adam(torch, name, dtype, **kwargs), _adam(glassgrad, name, dtype, **kwargs)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def _sgd(lib, dtype, **kwargs):
    functional = importlib.import_module(f"{lib.__name__}.optim._functional")
    params, rng = _lists(lib, dtype)
    buffers = [None] * len(params)
    for _ in range(5):
        grads = [lib.tensor(rng.standard_normal(p.shape).astype(dtype)) for p in params]
        functional.sgd(params, grads, buffers, lr=0.1, **kwargs)
    return [t.numpy() for t in params] + [None if b is None else b.numpy() for b in buffers]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"weight_decay": 0, "momentum": 0, "dampening": 0, "nesterov": False, "maximize": False},
        {
            "weight_decay": 0.1,
            "momentum": 0.9,
            "dampening": 0.2,
            "nesterov": False,
            "maximize": True,
        },
        {"weight_decay": 0, "momentum": 0.5, "dampening": 0, "nesterov": True, "maximize": False},
    ],
    ids=str,
)
def test_sgd_function_matches_torch(kwargs, dtype):
    want, got = _sgd(torch, dtype, **kwargs), _sgd(glassgrad, dtype, **kwargs)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for w, g in zip(want, got, strict=True):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def test_state_steps_must_be_tensors():
    errors = []
    for lib in (torch, glassgrad):
        functional = importlib.import_module(f"{lib.__name__}.optim._functional")
        p = lib.zeros(2)
        with pytest.raises(RuntimeError) as info:
            functional.adam(
                [p], [lib.ones(2)], [lib.zeros(2)], [lib.zeros(2)], [], [1], amsgrad=False,
                beta1=0.9, beta2=0.99, lr=0.1, weight_decay=0, eps=1e-8, maximize=False,
            )  # fmt: skip
        errors.append(str(info.value))
    assert errors[0] == errors[1]
