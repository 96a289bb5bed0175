"""Regressions found reviewing printing, nn.Module utilities, optim state and data loading."""

from __future__ import annotations

import warnings

import pytest
import torch

import glassgrad


def _size_results(lib):
    """What concatenating and repeating a shape gives, as reprs."""
    s = lib.Size([2, 3])
    return [repr(s + (1,)), repr((1,) + s), repr(s * 2), repr(2 * s), repr(s + s), repr(s[1:])]


def test_size_concatenation_and_repetition_give_a_size():
    # Size + tuple used to fall back to tuple.__add__ and print as a plain tuple.
    assert _size_results(glassgrad) == _size_results(torch)


@pytest.mark.parametrize("operand", [[1], "a"])
def test_size_concatenation_with_a_non_tuple_raises_torch_text(operand):
    with pytest.raises(TypeError) as expected:
        torch.Size([2]) + operand
    with pytest.raises(TypeError) as got:
        glassgrad.Size([2]) + operand
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("count", [1.5, "a"])
def test_size_repetition_by_a_non_int_raises_torch_text(count):
    with pytest.raises(TypeError) as expected:
        torch.Size([2]) * count
    with pytest.raises(TypeError) as got:
        glassgrad.Size([2]) * count
    assert str(got.value) == str(expected.value)


def _halved(lib):
    """dtypes of a module's parameter and buffer after ``half()``."""
    block = lib.nn.BatchNorm1d(3)
    assert block.half() is block
    return str(block.weight.dtype), str(block.running_mean.dtype), str(block.weight.grad)


def test_module_half_casts_parameters_and_buffers_to_float16():
    # Module.half() was missing (float() and double() existed).
    assert _halved(glassgrad) == _halved(torch)


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


def _hooked_two_outputs(lib):
    """Which outputs of a backward-hooked module require grad when one input does not."""

    class Two(lib.nn.Module):
        def forward(self, a, b):
            return a * 2, b * 3

    two = Two()
    seen = {}
    two.register_full_backward_hook(lambda m, gi, go: seen.update(go=[g is None for g in go]))
    first, second = two(lib.ones(2, requires_grad=True), lib.ones(2))
    flags = (first.requires_grad, second.requires_grad, second.grad_fn is None)
    (first.sum() + second.sum()).backward()
    return flags, seen["go"]


def test_full_backward_hook_leaves_outputs_of_untracked_inputs_untracked():
    # The hook's identity node used to take every tensor argument, so b * 3 came back
    # requiring grad with a BackwardHookFunctionBackward grad_fn.
    assert _hooked_two_outputs(glassgrad) == _hooked_two_outputs(torch)


def _hook_warning_files(lib):
    """The files the no-input full-backward-hook warning is attributed to, for two calls."""
    lin = lib.nn.Linear(2, 1)
    lin.register_full_backward_hook(lambda m, gi, go: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lin(lib.ones(1, 2)).sum().backward()
        lib.nn.Sequential(lin)(lib.ones(3, 2)).sum().backward()
    return [w.filename for w in caught]


def test_full_backward_hook_warning_points_at_the_users_backward_call():
    # A fixed stacklevel blamed a line inside the engine (so the default filter showed it only
    # once per process); PyTorch attributes it to the caller of backward().
    assert _hook_warning_files(glassgrad) == _hook_warning_files(torch) == [__file__] * 2
