"""Schedulers' state_dict keys, ``get_lr``'s warning outside ``step`` and state round trips into
PyTorch, against PyTorch."""

from __future__ import annotations

import warnings

import pytest
import torch

import glassgrad


def _scheduler_state(lib, name, make):
    """state_dict keys after a few steps, and the warnings a direct ``get_lr()`` raises."""
    param = lib.nn.Parameter(lib.ones(1))
    opt = lib.optim.SGD([param], lr=1.0)
    sched = make(getattr(lib.optim.lr_scheduler, name), opt)
    with warnings.catch_warnings(record=True) as inside:
        warnings.simplefilter("always")
        for _ in range(3):
            opt.step()
            sched.step()
    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        lrs = sched.get_lr()
    keys = sorted(sched.state_dict())
    return keys, [str(w.message) for w in inside], [str(w.message) for w in outside], lrs


SCHEDULERS = {
    "StepLR": lambda cls, opt: cls(opt, step_size=2, gamma=0.5),
    "LambdaLR": lambda cls, opt: cls(opt, lambda epoch: 0.9**epoch),
    "CosineAnnealingLR": lambda cls, opt: cls(opt, T_max=4),
    "LinearLR": lambda cls, opt: cls(opt),
    "OneCycleLR": lambda cls, opt: cls(opt, 1.0, total_steps=10),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_state_dict_keys_and_get_lr_warning_match_torch(name):
    # PyTorch's state_dict carries _get_lr_called_within_step (set by step()), and get_lr()
    # called from user code warns to use get_last_lr(); both were missing.
    got = _scheduler_state(glassgrad, name, SCHEDULERS[name])
    expected = _scheduler_state(torch, name, SCHEDULERS[name])
    assert got[:3] == expected[:3]
    assert got[3] == pytest.approx(expected[3])


def test_scheduler_state_dict_round_trips_into_torch_after_a_group_is_added():
    def run(lib):
        p1, p2 = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.SGD([p1], lr=1.0)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        for _ in range(3):
            opt.step()
            sched.step()
        opt.add_param_group({"params": [p2], "lr": 0.3})
        sched.step()
        return sched.state_dict(), sched.get_last_lr(), [g["lr"] for g in opt.param_groups]

    got, expected = run(glassgrad), run(torch)
    assert got == expected
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=1.0)
    restored = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    restored.load_state_dict(got[0])
    assert restored.state_dict() == expected[0]
