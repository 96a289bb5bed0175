"""A backward that fails part way leaves the gradients PyTorch leaves.

PyTorch accumulates into a leaf as soon as every edge into it has delivered; when a node fails,
the leaves finished before it hold their gradients and the others nothing new. Each scenario runs
on PyTorch 2.13 and glassgrad, through both engine loops (plain ``backward()`` and the general
one: ``create_graph``, ``inputs=``).
"""

from __future__ import annotations

import warnings

import pytest
import torch

import glassgrad


def _boom(lib):
    class Boom(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            raise ValueError("boom")

    return Boom.apply


def _early_then_fail(lib, a, b):
    """``a``'s node is newer than the failing one: it runs, and ``a`` is complete, first."""
    failing = _boom(lib)(b).sum()
    return failing + (a * 2).sum()


def _fail_then_late(lib, a, b):
    """``a``'s node is older than the failing one: it never runs."""
    early = (a * 2).sum()
    return early + _boom(lib)(b).sum()


def _shared_leaf(lib, a, b):
    """``a`` is reached before and after the failing node: never complete, nothing written."""
    return (a * 3).sum() + _boom(lib)(a).sum() + (a * 5).sum() + (b * 7).sum()


def _version_error(lib, a, b):
    """A saved tensor changed in place: the failing node is an ordinary one."""
    w = b * 1
    e = w.sin()
    w.mul_(2)
    return e.sum() + (a * 3).sum()


def _leaf_hook_raises(lib, a, b):
    def refuse(grad):
        raise ValueError("hook")

    a.register_hook(refuse)
    return (a * 2).sum() + (b * 2).sum()


SCENARIOS = {
    "early_then_fail": _early_then_fail,
    "fail_then_late": _fail_then_late,
    "shared_leaf": _shared_leaf,
    "version_error": _version_error,
    "leaf_hook_raises": _leaf_hook_raises,
}
CALLS = {
    "plain": lambda loss, a, b: loss.backward(),
    "create_graph": lambda loss, a, b: loss.backward(create_graph=True),
    "inputs_both": lambda loss, a, b: loss.backward(inputs=[a, b]),
    "inputs_a": lambda loss, a, b: loss.backward(inputs=[a]),
    "retain_graph": lambda loss, a, b: loss.backward(retain_graph=True),
}


def _run(lib, scenario, call, shape):
    a = lib.full(shape, 1.5, requires_grad=True)
    b = lib.full(shape, 2.5, requires_grad=True)
    loss = SCENARIOS[scenario](lib, a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            CALLS[call](loss, a, b)
            raised = None
        except (ValueError, RuntimeError) as exc:
            raised = type(exc).__name__
    grads = [None if t.grad is None else t.grad.detach().tolist() for t in (a, b)]
    return raised, grads


@pytest.mark.parametrize("shape", [(), (2,)])
@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_failed_backward_leaves_torch_partial_gradients(scenario, call, shape):
    assert _run(glassgrad, scenario, call, shape) == _run(torch, scenario, call, shape)


def test_leaf_with_an_earlier_gradient_keeps_it_when_incomplete():
    def run(lib):
        a = lib.tensor(2.0, requires_grad=True)
        (a * 4).backward()  # a pending 0-d gradient nobody has read yet
        with pytest.raises(ValueError):
            ((a * 3) + _boom(lib)(a) + a * 5).backward()
        return a.grad.item()

    assert run(glassgrad) == run(torch) == 4.0
