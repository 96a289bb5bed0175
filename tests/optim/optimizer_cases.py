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
    if kwargs.get("foreach") and dtype == np.float64:
        # PyTorch's foreach path rounds some scalars (ASGD's eta) through float32 tensors where
        # its single-tensor path, which glassgrad follows, keeps them in Python floats.
        rtol, atol = 1e-6, 1e-7
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


def assert_round_trip(name, kwargs, dtype=np.float32):
    """A deep-copied state dict loaded into a fresh optimizer continues the same trajectory."""
    import copy

    params, first, _ = run(glassgrad, name, kwargs, steps=10, dtype=dtype)
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


def assert_torch_state_continues(name, kwargs):
    """PyTorch's state dict (tensors converted) loaded into glassgrad continues PyTorch's run."""
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


def error_of(lib, action):
    """``(type name, message)`` of what ``action(lib)`` raises."""
    try:
        action(lib)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc).__name__, str(exc)
    raise AssertionError("no exception raised")


def make(name, **kwargs):
    """An action building optimizer ``name`` on one parameter."""
    return lambda lib: getattr(lib.optim, name)([lib.tensor([1.0], requires_grad=True)], **kwargs)


def step_with(name, **kwargs):
    """An action building optimizer ``name`` and taking one step."""

    def action(lib):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = getattr(lib.optim, name)([p], **kwargs)
        p.grad = lib.tensor([0.1, -0.2])
        opt.step()

    return action


def assert_same_modules_training(name, kwargs, steps=15):
    """A small MLP trained with a cosine schedule ends with PyTorch's weights."""
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
        opt = getattr(lib.optim, name)(model.parameters(), **kwargs)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        xt, yt = lib.tensor(x.astype(np.float32)), lib.tensor(y.astype(np.float32))
        for _ in range(steps):
            opt.zero_grad()
            ((model(xt) - yt) ** 2).mean().backward()
            opt.step()
            sched.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)
