"""Optimizers against PyTorch 2.13: trajectories, state dicts, None-grad skipping, errors."""

import copy

import numpy as np
import pytest
import torch

import glassgrad
from glassgrad import optim

SHAPES = [(3, 4), (4,), (2, 1, 3)]
STEPS = 20


def _initial_params():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]


def _gradient(value: np.ndarray, index: int) -> np.ndarray:
    """A deterministic, non-linear gradient field, evaluated in float32 for both libraries."""
    target = np.float32(0.5 * (index + 1))
    return (np.float32(1.5) * (value - target) + np.float32(0.3) * np.cos(3 * value)).astype(
        np.float32
    )


def _run(lib, cls_name, kwargs, steps=STEPS, groups=False):
    params = [lib.tensor(p, requires_grad=True) for p in _initial_params()]
    if groups:
        spec = [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]
    else:
        spec = params
    opt = getattr(lib.optim, cls_name)(spec, **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            p.grad = lib.tensor(_gradient(p.detach().numpy(), i))
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return params, opt, history


CASES = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    (
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01, "maximize": True},
    ),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.2}),
    ("AdamW", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "eps": 1e-4, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6, "maximize": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]


def _state_arrays(opt, lib):
    packed = opt.state_dict()["state"]
    return {
        (pid, key): (value.detach().numpy() if isinstance(value, lib.Tensor) else value)
        for pid, entry in packed.items()
        for key, value in entry.items()
    }


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_trajectory_matches_torch(name, kwargs):
    _, torch_opt, expected = _run(torch, name, kwargs)
    _, ours, actual = _run(glassgrad, name, kwargs)
    for step, (want, got) in enumerate(zip(expected, actual, strict=True)):
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6, err_msg=f"step {step}")
    want_state, got_state = _state_arrays(torch_opt, torch), _state_arrays(ours, glassgrad)
    assert sorted(got_state) == sorted(want_state)
    for key, value in want_state.items():
        np.testing.assert_allclose(got_state[key], value, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=IDS[::3])
def test_param_groups_and_state_dict_format(name, kwargs):
    _, torch_opt, expected = _run(torch, name, kwargs, steps=3, groups=True)
    _, ours, actual = _run(glassgrad, name, kwargs, steps=3, groups=True)
    np.testing.assert_allclose(actual[-1][2], expected[-1][2], rtol=2e-5, atol=2e-6)
    want, got = torch_opt.state_dict(), ours.state_dict()
    assert got["param_groups"] == want["param_groups"]
    assert sorted(got["state"]) == sorted(want["state"])
    for pid, entry in want["state"].items():
        assert list(got["state"][pid]) == list(entry)
        for key, value in entry.items():
            assert got["state"][pid][key].dtype.name == str(value.dtype).split(".")[1]
    assert repr(ours) == repr(torch_opt)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip_continues_the_trajectory(name, kwargs):
    params, first, _ = _run(glassgrad, name, kwargs, steps=10)
    # A deep copy, as a checkpoint is: PyTorch's load_state_dict keeps the very tensors it is
    # given, so loading a live state dict would make both optimizers share their buffers.
    saved = copy.deepcopy(first.state_dict())
    resumed_params = [
        glassgrad.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params
    ]
    resumed = getattr(optim, name)(resumed_params, **kwargs)
    resumed.load_state_dict(saved)
    for _ in range(10):
        for opt, ps in ((first, params), (resumed, resumed_params)):
            for i, p in enumerate(ps):
                p.grad = glassgrad.tensor(_gradient(p.detach().numpy(), i))
            opt.step()
    for a, b in zip(params, resumed_params, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name,kwargs", CASES[::4], ids=IDS[::4])
def test_torch_state_dict_loads_into_glassgrad(name, kwargs):
    torch_params, torch_opt, _ = _run(torch, name, kwargs, steps=5)
    saved = torch_opt.state_dict()
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
    ours = getattr(optim, name)(ours_params, **kwargs)
    ours.load_state_dict(converted)
    for _ in range(5):
        for opt, ps, lib in ((torch_opt, torch_params, torch), (ours, ours_params, glassgrad)):
            for i, p in enumerate(ps):
                p.grad = lib.tensor(_gradient(p.detach().numpy(), i))
            opt.step()
    for a, b in zip(torch_params, ours_params, strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_real_backward_training_loop_matches_torch():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    results = []
    for lib in (torch, glassgrad):
        w = lib.tensor(np.ones(3, dtype=np.float32) * 0.1, requires_grad=True)
        b = lib.tensor(0.0, requires_grad=True)
        opt = lib.optim.Adam([w, b], lr=0.1)
        xt, yt = lib.tensor(x), lib.tensor(y)
        for _ in range(STEPS):
            opt.zero_grad()
            loss = (((xt * w).sum(1) + b - yt) ** 2).mean()
            loss.backward()
            opt.step()
        results.append((w.detach().numpy().copy(), b.item()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    assert results[1][1] == pytest.approx(results[0][1], rel=1e-5, abs=1e-6)


def _spec_9_2(lib):
    """The spec's section 9.2 snippet, with plain leaves in place of nn.Parameter."""
    out = []
    p1 = lib.tensor([1.0, 2.0], requires_grad=True)
    p2 = lib.tensor([3.0, 4.0], requires_grad=True)
    opt = lib.optim.SGD([p1, p2], lr=0.1, momentum=0.9, weight_decay=0.5)
    (p1 * 2).sum().backward()
    opt.step()
    out.append((p1.data.tolist(), p2.data.tolist(), p2.grad))
    out.append((sorted(opt.state[p1].keys()), p2 in opt.state))
    out.append((p1.is_leaf, p1.grad_fn, p1.requires_grad))
    adam = lib.optim.Adam([p1, p2], lr=0.1, weight_decay=0.1)
    adam.zero_grad()
    (p1 * 2).sum().backward()
    adam.step()
    out.append((p2.data.tolist(), p1 in adam.state, p2 in adam.state))
    p3 = lib.tensor([1.0], requires_grad=True)
    p3.grad = lib.zeros(1)
    p4 = lib.tensor([1.0], requires_grad=True)
    lib.optim.AdamW([p3, p4], lr=0.1, weight_decay=0.5).step()
    out.append((p3.data.tolist(), p4.data.tolist(), p4 in lib.optim.AdamW([p4]).state))
    return out


def test_none_grads_are_skipped_and_zero_grads_are_not():
    assert _spec_9_2(glassgrad) == _spec_9_2(torch)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_step_updates_in_place_and_bumps_the_version(name):
    counts = []
    for lib in (torch, glassgrad):
        p = lib.tensor([1.0, -2.0], requires_grad=True)
        view = p.detach()
        opt = getattr(lib.optim, name)([p], lr=0.1, weight_decay=0.1)
        p.grad = lib.tensor([0.5, 0.5])
        before = p._version
        opt.step()
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
        assert view.tolist() == p.tolist()  # the update wrote into the shared storage
        counts.append(p._version - before)
        assert len(opt.state) == (1 if name != "SGD" else 0)
    assert counts[0] == counts[1]


def test_zero_grad():
    for lib in (torch, glassgrad):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        (p * 3).sum().backward()
        grad = p.grad
        opt.zero_grad(set_to_none=False)
        assert p.grad is grad and p.grad.tolist() == [0.0, 0.0]
        opt.zero_grad()
        assert p.grad is None


def test_closure_runs_with_grad_enabled_and_returns_the_loss():
    p = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with glassgrad.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert p.tolist() == pytest.approx([0.8, 1.6])


def test_add_param_group_and_defaults():
    for lib in (torch, glassgrad):
        a = lib.tensor([1.0], requires_grad=True)
        b = lib.tensor([2.0], requires_grad=True)
        opt = lib.optim.SGD([a], lr=0.1, momentum=0.9)
        opt.add_param_group({"params": b, "lr": 0.01})
        assert opt.param_groups[1]["lr"] == 0.01
        assert opt.param_groups[1]["momentum"] == 0.9
        assert opt.param_groups[1]["params"] == [b]


def _error(lib, action):
    with pytest.raises(Exception) as info:
        action(lib)
    return type(info.value).__name__, str(info.value)


ERRORS = {
    "empty": lambda lib: lib.optim.SGD([], lr=0.1),
    "tensor": lambda lib: lib.optim.SGD(lib.tensor([1.0], requires_grad=True), lr=0.1),
    "non_leaf": lambda lib: lib.optim.SGD([lib.tensor([1.0], requires_grad=True) * 2], lr=0.1),
    "not_tensor": lambda lib: lib.optim.SGD([1.0], lr=0.1),
    "negative_lr": lambda lib: lib.optim.Adam([lib.tensor([1.0], requires_grad=True)], lr=-1),
    "beta": lambda lib: lib.optim.Adam([lib.tensor([1.0], requires_grad=True)], betas=(1.0, 0.9)),
    "nesterov": lambda lib: lib.optim.SGD(
        [lib.tensor([1.0], requires_grad=True)], lr=0.1, nesterov=True
    ),
    "momentum": lambda lib: lib.optim.RMSprop([lib.tensor([1.0], requires_grad=True)], momentum=-1),
    "lr_decay": lambda lib: lib.optim.Adagrad([lib.tensor([1.0], requires_grad=True)], lr_decay=-1),
    "set": lambda lib: lib.optim.SGD([{"params": {lib.tensor([1.0], requires_grad=True)}}], lr=0.1),
}


def _duplicate_group(lib):
    p = lib.tensor([1.0], requires_grad=True)
    lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def _mismatched_load(lib):
    a = lib.tensor([1.0], requires_grad=True)
    lib.optim.SGD([a], lr=0.1).load_state_dict(
        lib.optim.SGD([{"params": [a]}, {"params": [lib.tensor([1.0])]}], lr=0.1).state_dict()
    )


ERRORS["duplicate_group"] = _duplicate_group
ERRORS["mismatched_load"] = _mismatched_load


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    assert _error(glassgrad, ERRORS[case]) == _error(torch, ERRORS[case])


SPEC_9_2 = """
p1 = nn.Parameter(torch.tensor([1., 2.]))
p2 = nn.Parameter(torch.tensor([3., 4.]))
opt = torch.optim.SGD([p1, p2], lr=0.1, momentum=0.9, weight_decay=0.5)
(p1 * 2).sum().backward()
opt.step()
print(p1.data, p2.data, p2.grad)
print(sorted(opt.state[p1].keys()), p2 in opt.state)
print(p1.is_leaf, p1.grad_fn, p1.requires_grad)
adam = torch.optim.Adam([p1, p2], lr=0.1, weight_decay=0.1)
adam.zero_grad()
(p1 * 2).sum().backward()
adam.step()
print(p2.data, p1 in adam.state, p2 in adam.state)
p3 = nn.Parameter(torch.tensor([1.]))
p3.grad = torch.zeros(1)
p4 = nn.Parameter(torch.tensor([1.]))
torch.optim.AdamW([p3, p4], lr=0.1, weight_decay=0.5).step()
print(p3.data, p4.data)
"""


def _printed(lib, source):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, {"torch": lib, "nn": lib.nn})
    return out.getvalue()


def test_spec_section_9_2_prints_what_torch_prints():
    assert _printed(glassgrad, SPEC_9_2) == _printed(torch, SPEC_9_2)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        ("AdamW", {"lr": 0.01}),
        ("RMSprop", {"lr": 0.01, "centered": True}),
        ("Adagrad", {"lr": 0.1}),
    ],
)
def test_mlp_training_with_nn_modules_matches_torch(name, kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    ours = glassgrad.nn.Sequential(
        glassgrad.nn.Linear(3, 8), glassgrad.nn.Tanh(), glassgrad.nn.Linear(8, 1)
    )
    with glassgrad.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            p.copy_(glassgrad.tensor(q.detach().numpy()))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)).astype(np.float32), rng.standard_normal((16, 1))
    for lib, model in ((torch, theirs), (glassgrad, ours)):
        opt = getattr(lib.optim, name)(model.parameters(), **kwargs)
        xt, yt = lib.tensor(x), lib.tensor(y.astype(np.float32))
        for _ in range(STEPS):
            opt.zero_grad()
            ((model(xt) - yt) ** 2).mean().backward()
            opt.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)
