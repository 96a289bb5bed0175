"""The differential harness the optimizer tests share: the same gradients fed to PyTorch and
glassgrad step after step, in float32 and float64, with parameters and state compared."""

import numpy as np
import torch

import glassgrad

SHAPES = [(3, 4), (4,), (2, 1, 3)]
TOLERANCE = {np.float32: (2e-5, 1e-6), np.float64: (1e-10, 1e-12)}


def initial_params(dtype):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def gradient(value: np.ndarray, index: int) -> np.ndarray:
    """A deterministic, non-linear gradient field, evaluated in the parameters' dtype."""
    dtype = value.dtype.type
    target = dtype(0.5 * (index + 1))
    return (dtype(1.5) * (value - target) + dtype(0.3) * np.cos(3 * value)).astype(dtype)


def run(lib, cls_name, kwargs, steps=20, dtype=np.float32, groups=False, skip=None):
    """Step an optimizer ``steps`` times; ``skip`` is a parameter left without a gradient."""
    params = [lib.tensor(p, requires_grad=True) for p in initial_params(dtype)]
    spec = [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}] if groups else params
    opt = getattr(lib.optim, cls_name)(spec, **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            if i != skip:
                p.grad = lib.tensor(gradient(p.detach().numpy(), i))
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return params, opt, history


def state_arrays(opt, lib):
    packed = opt.state_dict()["state"]
    return {
        (pid, key): (value.detach().numpy() if isinstance(value, lib.Tensor) else value)
        for pid, entry in packed.items()
        for key, value in entry.items()
    }


def assert_same_run(name, kwargs, dtype=np.float32, steps=20, groups=False, skip=None):
    """Parameters after every step and the final state agree with PyTorch's."""
    rtol, atol = TOLERANCE[dtype]
    _, theirs, expected = run(torch, name, kwargs, steps, dtype, groups, skip)
    _, ours, actual = run(glassgrad, name, kwargs, steps, dtype, groups, skip)
    for step, (want, got) in enumerate(zip(expected, actual, strict=True)):
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"step {step}")
    want_state, got_state = state_arrays(theirs, torch), state_arrays(ours, glassgrad)
    assert list(got_state) == list(want_state)
    for key, value in want_state.items():
        np.testing.assert_allclose(got_state[key], value, rtol=rtol, atol=atol, err_msg=str(key))
        if isinstance(value, np.ndarray):
            assert got_state[key].dtype == value.dtype, key
    want, got = theirs.state_dict(), ours.state_dict()
    assert got["param_groups"] == want["param_groups"]
    assert repr(ours) == repr(theirs)
    return theirs, ours
