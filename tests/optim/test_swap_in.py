"""``optim.swap_in_optimizer_params_and_state`` against PyTorch 2.13."""

import copy

import numpy as np
import pytest
import torch

import glassgrad


def _setup(lib):
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([[0.5, -1.0]], requires_grad=True)
    opt = lib.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    a.grad, b.grad = lib.tensor([0.3, -0.1]), lib.tensor([[0.2, 0.4]])
    opt.step()
    return (a, b), opt


def _swapped_step(lib):
    (a, b), opt = _setup(lib)
    saved = copy.deepcopy(opt.state_dict())
    saved["param_groups"][0]["lr"] = 0.5
    x = lib.tensor([5.0, 6.0], requires_grad=True)
    y = lib.tensor([[7.0, 8.0]], requires_grad=True)
    x.grad, y.grad = lib.tensor([1.0, 1.0]), lib.tensor([[-1.0, 2.0]])
    live_params = opt.param_groups[0]["params"]
    with lib.optim.swap_in_optimizer_params_and_state(opt, {"a": x, "b": y}, saved):
        opt.step()
        inside = (opt.param_groups[0]["lr"], opt.param_groups[0]["params"][0] is x)
    assert opt.param_groups[0]["params"] is live_params
    out = [x, y, a, b, saved["state"][0]["exp_avg"], saved["state"][0]["step"]]
    return inside, opt.param_groups[0]["lr"], [t.detach().numpy().tolist() for t in out]


def test_step_runs_on_the_swapped_in_tensors_as_in_torch():
    want, got = _swapped_step(torch), _swapped_step(glassgrad)
    assert got[:2] == want[:2] == ((0.5, True), 0.1)
    for w, g in zip(want[2], got[2], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def _bad(lib, change):
    (a, b), opt = _setup(lib)
    saved = copy.deepcopy(opt.state_dict())
    params = {"a": a, "b": b}
    params, saved, opt = change(lib, params, saved, opt)
    with pytest.raises(RuntimeError) as info:
        with lib.optim.swap_in_optimizer_params_and_state(opt, params, saved):
            pass
    return str(info.value)


def _fresh(lib, params, saved, opt):
    p = lib.tensor([1.0], requires_grad=True)
    return params, saved, lib.optim.SGD([p], lr=0.1)


CHANGES = {
    "uninitialized": _fresh,
    "not_a_dict": lambda lib, p, s, o: (p, [s], o),
    "state_type": lambda lib, p, s, o: (p, {**s, "state": []}, o),
    "groups_type": lambda lib, p, s, o: (p, {**s, "param_groups": ()}, o),
    "groups_count": lambda lib, p, s, o: (p, {**s, "param_groups": s["param_groups"][:1]}, o),
    "extra_key": lambda lib, p, s, o: (p, {**s, "state": {**s["state"], 7: {}}}, o),
    "group_keys": lambda lib, p, s, o: (
        p,
        {**s, "param_groups": [{**s["param_groups"][0], "new": 1}, s["param_groups"][1]]},
        o,
    ),
    "too_few_params": lambda lib, p, s, o: ({"a": p["a"]}, s, o),
    "entry_not_dict": lambda lib, p, s, o: (p, {**s, "state": {0: 1, 1: s["state"][1]}}, o),
}


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_errors_match_torch(case):
    assert _bad(glassgrad, CHANGES[case]) == _bad(torch, CHANGES[case])
