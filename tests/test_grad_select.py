"""Gradients that zero part of their input select (``where``) rather than multiply by a mask.

Each op runs on PyTorch 2.13 and on glassgrad at zeros, ties, bounds, +-inf and NaN, with
gradients of 1, inf and NaN flowing in, first and second order (see ``grad_boundary_cases``).
"""

from __future__ import annotations

import pytest
import torch
from tests.grad_boundary_cases import mismatches

import glassgrad


def F(lib):
    return lib.nn.functional


UNARY = {
    "relu": lambda L, x: L.relu(x),
    "relu_method": lambda L, x: x.relu(),
    "hardtanh": lambda L, x: F(L).hardtanh(x),
    "hardtanh_bounds": lambda L, x: F(L).hardtanh(x, -2.0, 3.0),
    "relu6": lambda L, x: F(L).relu6(x),
    "leaky_relu": lambda L, x: F(L).leaky_relu(x, 0.2),
    "elu": lambda L, x: F(L).elu(x),
    "selu": lambda L, x: F(L).selu(x),
    "celu": lambda L, x: F(L).celu(x, 2.0),
    "threshold": lambda L, x: F(L).threshold(x, 0.5, -1.0),
    "threshold_nan_value": lambda L, x: F(L).threshold(x, 0.0, 2.0),
    "hardswish": lambda L, x: F(L).hardswish(x),
    "rrelu_eval": lambda L, x: F(L).rrelu(x, training=False),
}
# PyTorch refuses double backward through hardsigmoid; glassgrad differentiates it
FIRST_ORDER_ONLY = {"hardsigmoid": lambda L, x: F(L).hardsigmoid(x)}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient_matches_torch_at_boundaries(name):
    assert mismatches(torch, glassgrad, UNARY[name], 1) == []


@pytest.mark.parametrize("name", sorted(FIRST_ORDER_ONLY))
def test_unary_first_order_gradient_matches_torch_at_boundaries(name):
    assert mismatches(torch, glassgrad, FIRST_ORDER_ONLY[name], 1, first_order_only=True) == []


def _sqrt_of_where(lib):
    x = lib.tensor([-1.0, 0.0, 4.0], requires_grad=True)
    lib.sqrt(lib.where(x > 0, x, lib.zeros(3))).sum().backward()
    return x.grad.tolist()


def test_nan_safe_where_idiom_gives_zero_gradient():
    assert _sqrt_of_where(glassgrad) == _sqrt_of_where(torch) == [0.0, 0.0, 0.25]


def _two_tensor_max_min(lib):
    a = lib.tensor([1.0, 5.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, 2.0, 2.0], requires_grad=True)
    out = [lib.max(a, b), lib.min(a, b), a.max(b), a.min(b), lib.max(a, other=b)]
    sum(o.sum() for o in out).backward()
    return [o.tolist() for o in out] + [a.grad.tolist(), b.grad.tolist()]


def test_two_tensor_max_and_min():
    assert _two_tensor_max_min(glassgrad) == _two_tensor_max_min(torch)


INPLACE = {
    "relu": ((), {}),
    "relu6": ((), {}),
    "elu": ((), {"alpha": 0.5}),
    "selu": ((), {}),
    "celu": ((), {"alpha": 2.0}),
    "leaky_relu": ((0.2,), {}),
    "hardtanh": ((-0.5, 1.5), {}),
    "hardsigmoid": ((), {}),
    "hardswish": ((), {}),
    "silu": ((), {}),
    "mish": ((), {}),
    "rrelu": ((), {"training": False}),
    "threshold": ((0.5, -1.0), {}),
    "dropout": ((), {"p": 0.0}),
}


def _inplace_run(lib, name):
    args, kwargs = INPLACE[name]
    w = lib.tensor([[-3.0, -1.0, 0.0, 0.5], [0.7, 2.0, 3.0, -0.2]], requires_grad=True)
    x = w * 1
    version = x._version
    out = getattr(lib.nn.functional, name)(x, *args, inplace=True, **kwargs)
    same = out is x
    out.sum().backward()
    values = [round(v, 5) for v in x.detach().flatten().tolist()]
    grads = [round(v, 5) for v in w.grad.flatten().tolist()]
    return same, x._version - version, type(x.grad_fn).__name__, values, grads


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_functional_writes_into_input_as_torch(name):
    assert _inplace_run(glassgrad, name) == _inplace_run(torch, name)


@pytest.mark.parametrize("name", ["elu_", "selu_", "celu_", "leaky_relu_", "hardtanh_", "relu_"])
def test_underscore_functionals_write_in_place(name):
    def run(lib):
        x = lib.tensor([-2.0, -0.5, 0.0, 1.5]) * 1
        out = getattr(lib.nn.functional, name)(x)
        return out is x, x._version, [round(v, 5) for v in x.tolist()]

    assert run(glassgrad) == run(torch)


def test_threshold_function_and_method_forms():
    def run(lib):
        x = lib.tensor([-1.0, 0.5, 0.7, float("nan")], requires_grad=True)
        y = lib.threshold(x, 0.5, -1.0)
        y.sum().backward()
        return type(y.grad_fn).__name__, str(y.detach().tolist()), x.grad.tolist()

    assert run(glassgrad) == run(torch)


def test_inplace_elu_output_changed_again_refuses_backward():
    def run(lib):
        w = lib.tensor([-1.0, 2.0], requires_grad=True)
        x = w * 1
        lib.nn.functional.elu(x, inplace=True)
        x.mul_(2)
        with pytest.raises(RuntimeError) as info:
            x.sum().backward()
        return str(info.value).split(";")[0]

    assert run(glassgrad) == run(torch)
