"""LBFGS against PyTorch 2.13: trajectories with and without line search, state, errors."""

import copy
import warnings

import numpy as np
import pytest
import torch

import glassgrad


def _problem(lib, dtype):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((20, 5)).astype(dtype))
    b = lib.tensor(rng.standard_normal(20).astype(dtype))
    w = lib.tensor(np.zeros(5, dtype), requires_grad=True)
    c = lib.tensor(np.ones(2, dtype), requires_grad=True)

    def loss_fn():
        return ((lib.tanh(a @ w) * c[0] + c[1] - b) ** 2).mean() + (w**4).sum() * 0.01

    return [w, c], loss_fn


def _run(lib, dtype, steps, **kwargs):
    params, loss_fn = _problem(lib, dtype)
    opt = lib.optim.LBFGS(params, **kwargs)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        losses = [float(opt.step(closure)) for _ in range(steps)]
    return [p.detach().numpy().copy() for p in params], losses, opt


def _as_numpy(value):
    if isinstance(value, (torch.Tensor, glassgrad.Tensor)):
        return value.detach().numpy()
    if isinstance(value, list):
        return [_as_numpy(v) for v in value]
    return value


def _assert_same_state(theirs, ours, tol):
    want, got = theirs.state_dict(), ours.state_dict()
    assert got["param_groups"] == want["param_groups"]
    assert list(got["state"]) == list(want["state"])
    for key, value in want["state"][0].items():
        mine = got["state"][0][key]
        assert type(mine).__name__ == type(value).__name__, key
        if isinstance(value, list):
            assert len(mine) == len(value), key
            for v, m in zip(value, mine, strict=True):
                assert (v is None) == (m is None), key
                if v is not None:
                    np.testing.assert_allclose(_as_numpy(m), _as_numpy(v), rtol=tol, atol=tol)
        elif isinstance(value, torch.Tensor):
            assert mine.dtype.name == str(value.dtype).split(".")[1], key
            np.testing.assert_allclose(_as_numpy(mine), _as_numpy(value), rtol=tol, atol=tol)
        else:
            assert mine == pytest.approx(value, rel=tol, abs=tol), key


FLOAT64_CASES = [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"history_size": 3, "max_iter": 7},
    {"lr": 0.5, "line_search_fn": "strong_wolfe", "history_size": 2},
    {"lr": 0.3, "max_iter": 4, "max_eval": 5},
    {"tolerance_grad": 1e-3, "tolerance_change": 1e-5},
    {"line_search_fn": "strong_wolfe", "max_eval": 6},
]


@pytest.mark.parametrize("kwargs", FLOAT64_CASES, ids=str)
def test_float64_trajectory_and_state_match_torch(kwargs):
    want, want_losses, theirs = _run(torch, np.float64, 5, **kwargs)
    got, got_losses, ours = _run(glassgrad, np.float64, 5, **kwargs)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-12)
    # Near convergence ys, ro and H_diag come from differences of nearly equal gradients.
    _assert_same_state(theirs, ours, 1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_iter": 3},
        {"max_iter": 3, "line_search_fn": "strong_wolfe"},
        {"lr": 0.2, "max_iter": 4},
    ],
    ids=str,
)
def test_float32_first_iterations_match_torch(kwargs):
    # Near the optimum float32 rounding decides when the tolerances stop the loop; the
    # iterations before that follow PyTorch's to float32 precision.
    want, _, theirs = _run(torch, np.float32, 2, **kwargs)
    got, _, ours = _run(glassgrad, np.float32, 2, **kwargs)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    _assert_same_state(theirs, ours, 1e-4)


def test_state_dict_round_trip_continues_the_trajectory():
    _, _, first = _run(glassgrad, np.float64, 2, history_size=4, max_iter=3)
    saved = copy.deepcopy(first.state_dict())
    params, loss_fn = _problem(glassgrad, np.float64)
    with glassgrad.no_grad():
        for p, q in zip(params, first.param_groups[0]["params"], strict=True):
            p.copy_(q)
    resumed = glassgrad.optim.LBFGS(params, history_size=4, max_iter=3)
    resumed.load_state_dict(saved)
    for opt, ps in ((first, first.param_groups[0]["params"]), (resumed, params)):
        a = ps

        def closure(opt=opt, a=a):
            opt.zero_grad()
            loss = ((a[0] ** 2).sum() - a[1].sum()) ** 2
            loss.backward()
            return loss

        opt.step(closure)
    for a, b in zip(first.param_groups[0]["params"], params, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_fits_a_module_as_torch_does():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    ours = glassgrad.nn.Sequential(
        glassgrad.nn.Linear(1, 8), glassgrad.nn.Tanh(), glassgrad.nn.Linear(8, 1)
    )
    theirs.double()
    ours.double()
    with glassgrad.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            p.copy_(glassgrad.tensor(q.detach().numpy()))
    x = np.linspace(-2, 2, 30)[:, None]
    results = []
    for lib, model in ((torch, theirs), (glassgrad, ours)):
        opt = lib.optim.LBFGS(model.parameters(), lr=0.8, line_search_fn="strong_wolfe")
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        xt = lib.tensor(x)
        yt = lib.sin(xt)

        def closure(opt=opt, model=model, xt=xt, yt=yt):
            opt.zero_grad()
            loss = ((model(xt) - yt) ** 2).mean()
            loss.backward()
            return loss

        losses = []
        for _ in range(3):
            losses.append(opt.step(closure).item())
            sched.step()
        results.append((losses, [p.detach().numpy() for p in model.parameters()]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10)
    for g, w in zip(results[1][1], results[0][1], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-10)


def test_gradient_already_small_returns_at_once():
    for lib in (torch, glassgrad):
        p = lib.tensor([0.0], requires_grad=True)
        opt = lib.optim.LBFGS([p])
        calls = []

        def closure(opt=opt, p=p, calls=calls):
            calls.append(1)
            opt.zero_grad()
            loss = (p**2).sum()
            loss.backward()
            return loss

        assert opt.step(closure).item() == 0.0
        assert len(calls) == 1 and opt.state[p] == {"func_evals": 1, "n_iter": 0}


def _error(lib, action):
    with pytest.raises(Exception) as info:
        action(lib)
    return type(info.value).__name__, str(info.value)


def _bad_line_search(lib):
    p = lib.tensor([1.0], requires_grad=True)
    opt = lib.optim.LBFGS([p], line_search_fn="wolfe")

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    opt.step(closure)


ERRORS = {
    "negative_lr": lambda lib: lib.optim.LBFGS([lib.tensor([1.0], requires_grad=True)], lr=-1),
    "tensor_lr": lambda lib: lib.optim.LBFGS(
        [lib.tensor([1.0], requires_grad=True)], lr=lib.tensor([1.0, 2.0])
    ),
    "groups": lambda lib: lib.optim.LBFGS(
        [
            {"params": [lib.tensor([1.0], requires_grad=True)]},
            {"params": [lib.tensor([1.0], requires_grad=True)]},
        ]
    ),
    "line_search": _bad_line_search,
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    assert _error(glassgrad, ERRORS[case]) == _error(torch, ERRORS[case])


def test_defaults_match_torch():
    for kwargs in ({}, {"max_iter": 9}, {"max_iter": 9, "max_eval": 3}):
        groups = []
        for lib in (torch, glassgrad):
            p = lib.tensor([1.0], requires_grad=True)
            group = dict(lib.optim.LBFGS([p], **kwargs).param_groups[0])
            del group["params"]
            groups.append(group)
        assert groups[0] == groups[1]


def test_step_warns_as_torch_does():
    """PyTorch reads the closure's loss as a float under no_grad: no requires-grad warning."""
    for lib in (torch, glassgrad):
        params, loss_fn = _problem(lib, np.float64)
        opt = lib.optim.LBFGS(params, max_iter=3)

        def closure(opt=opt, loss_fn=loss_fn):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step(closure)
