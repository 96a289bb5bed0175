"""What every optimizer does with ``foreach``, ``fused``, ``capturable`` and ``differentiable``
on the CPU, against PyTorch 2.13: the same values, or the same error at ``step()``."""

import numpy as np
import pytest
import torch

import glassgrad

NAMES = [
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam",
    "Adadelta", "ASGD", "Rprop", "Adafactor",
]  # fmt: skip
FLAGS = ["capturable", "foreach", "differentiable", "fused"]


def _outcome(lib, name, flag):
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    kwargs = {flag: True, "lr": 0.1}
    try:
        opt = getattr(lib.optim, name)([p], **kwargs)
        for _ in range(3):
            p.grad = lib.tensor([0.1, -0.2])
            opt.step()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc)
    return "ok", p.detach().numpy().tolist()


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("name", NAMES)
def test_flag_outcome_matches_torch(name, flag):
    want, got = _outcome(torch, name, flag), _outcome(glassgrad, name, flag)
    assert got[0] == want[0]
    if want[0] == "ok":
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    else:
        assert got[1] == want[1]


@pytest.mark.parametrize("name", ["SGD", "Adam", "NAdam"])
def test_differentiable_steps_that_would_need_a_graph_are_refused(name):
    base = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    p = base * 1.0  # a non-leaf parameter: PyTorch would record the update in the graph
    opt = getattr(glassgrad.optim, name)([p], lr=0.1, differentiable=True)
    p.grad = glassgrad.tensor([0.1, -0.2])
    with pytest.raises(RuntimeError, match="cannot be differentiated through"):
        opt.step()


@pytest.mark.parametrize("name", ["SGD", "Adam", "RAdam"])
def test_differentiable_without_anything_to_differentiate_matches_torch(name):
    results = []
    for lib in (torch, glassgrad):
        p = lib.tensor([1.0, 2.0])
        opt = getattr(lib.optim, name)([p], lr=0.1, differentiable=True)
        for _ in range(3):
            p.grad = lib.tensor([0.1, -0.2])
            opt.step()
        results.append(p.numpy().tolist())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
