"""Optimizers on complex parameters against PyTorch: they update the real and imaginary parts as
pairs of reals (PyTorch's view_as_real), and their state stays complex."""

import numpy as np
import pytest
import torch

import glassgrad as gg

OPTIMIZERS = {
    "SGD": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
    "Adam": {"lr": 0.1},
    "Adam_amsgrad": {"lr": 0.1, "amsgrad": True, "weight_decay": 0.01},
    "AdamW": {"lr": 0.1, "weight_decay": 0.1},
    "RMSprop": {"lr": 0.01, "centered": True, "momentum": 0.5},
    "Adagrad": {"lr": 0.1},
    "Adamax": {"lr": 0.1},
    "NAdam": {"lr": 0.1},
    "RAdam": {"lr": 0.1},
    "Adadelta": {"lr": 1.0},
    "Rprop": {"lr": 0.1},
    "ASGD": {"lr": 0.1},
}


def _run(L, name):
    kind = name.split("_")[0]
    complex_param = L.nn.Parameter(L.tensor([[1 + 2j, -0.5 + 0.3j], [0.1 - 1j, 2j]]))
    real_param = L.nn.Parameter(L.tensor([0.5, -1.5]))
    optimizer = getattr(L.optim, kind)([complex_param, real_param], **OPTIMIZERS[name])
    for _ in range(4):
        optimizer.zero_grad()
        loss = (complex_param * complex_param.conj()).real.sum() * (real_param**2).sum()
        loss = loss + (complex_param * (1 - 1j)).real.sum() + (complex_param**2).imag.sum()
        loss.backward()
        optimizer.step()
    state = optimizer.state[complex_param]
    dtypes = sorted(str(v.dtype) for v in state.values() if isinstance(v, L.Tensor) and v.ndim)
    return complex_param.detach().numpy(), real_param.detach().numpy(), dtypes


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_matches_torch(name):
    ours, theirs = _run(gg, name), _run(torch, name)
    np.testing.assert_allclose(ours[0], theirs[0], 1e-5, 1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], 1e-5, 1e-6)
    assert ours[2] == theirs[2]
