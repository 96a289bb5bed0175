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
    "where": lambda L, x: L.where(x > 0, x, L.zeros_like(x)),
    "where_scalar": lambda L, x: L.where(x > 0, x, 0.0),
    "sqrt_of_where": lambda L, x: L.sqrt(L.where(x > 0, x, L.zeros_like(x))),
    "masked_fill": lambda L, x: x.masked_fill(x < 0, 0.0),
    "clamp": lambda L, x: L.clamp(x, -1.0, 2.0),
    "clamp_min": lambda L, x: L.clamp_min(x, 0.5),
    "clamp_max": lambda L, x: L.clamp_max(x, 0.5),
    "clamp_only_min": lambda L, x: L.clamp(x, min=0.0),
    "clamp_only_max": lambda L, x: L.clamp(x, max=0.0),
    "clamp_tensor_bounds": lambda L, x: L.clamp(x, L.full_like(x, -1.0), L.full_like(x, 2.0)),
    "clip": lambda L, x: L.clip(x, -1.0, 2.0),
    "maximum_zero": lambda L, x: L.maximum(x, L.zeros_like(x)),
    "minimum_zero": lambda L, x: L.minimum(x, L.zeros_like(x)),
    "max_two_tensors": lambda L, x: L.max(x, L.zeros_like(x)),
    "sign": lambda L, x: L.sign(x),
    "sqrt": lambda L, x: L.sqrt(x),
    "pow_0": lambda L, x: L.pow(x, 0.0),
    "pow_half": lambda L, x: L.pow(x, 0.5),
    "pow_minus_half": lambda L, x: L.pow(x, -0.5),
    "pow_2": lambda L, x: L.pow(x, 2.0),
    "pow_minus_1": lambda L, x: L.pow(x, -1.0),
    "zero_to_the_x": lambda L, x: L.pow(0.0, x),
    "two_to_the_x": lambda L, x: L.pow(2.0, x),
    "sinc": lambda L, x: L.sinc(x),
    "xlogy_self": lambda L, x: L.xlogy(x, x),
    "smooth_l1_loss": lambda L, x: F(L).smooth_l1_loss(x, L.zeros_like(x), reduction="none"),
    "huber_loss": lambda L, x: F(L).huber_loss(x, L.zeros_like(x), reduction="none"),
    "softplus_threshold": lambda L, x: F(L).softplus(x, 2.0, 20.0),
    "gelu": lambda L, x: F(L).gelu(x),
    "silu": lambda L, x: F(L).silu(x),
    "logsigmoid": lambda L, x: F(L).logsigmoid(x),
}
BINARY = {
    "maximum": lambda L, x, y: L.maximum(x, y),
    "minimum": lambda L, x, y: L.minimum(x, y),
    "max_two_tensors": lambda L, x, y: L.max(x, y),
    "min_two_tensors": lambda L, x, y: L.min(x, y),
    "fmax": lambda L, x, y: L.fmax(x, y),
    "fmin": lambda L, x, y: L.fmin(x, y),
    "hypot": lambda L, x, y: L.hypot(x, y),
    "pow": lambda L, x, y: L.pow(x, y),
    "pow_of_abs": lambda L, x, y: L.pow(x.abs(), y),
    "where_larger": lambda L, x, y: L.where(x > y, x, y),
    "clamp_tensor_min": lambda L, x, y: L.clamp(x, y, None),
    "clamp_tensor_max": lambda L, x, y: L.clamp(x, None, y),
    "clamp_crossed_bounds": lambda L, x, y: L.clamp(L.zeros_like(x), x, y),
    "xlogy": lambda L, x, y: L.xlogy(x, y),
    "mul": lambda L, x, y: x * y,
    "lerp": lambda L, x, y: L.lerp(x, y, 0.5),
    "logaddexp": lambda L, x, y: L.logaddexp(x, y),
}
# first order only: PyTorch's own double backward raises (hardsigmoid, norm), works on a
# ZeroTensor that cannot be read back (abs, l1), or gives NaN at 0 where glassgrad gives 0 (atan2,
# copysign, the 2-norm of zeros)
FIRST_ORDER = {
    "vector_norm_inf": lambda L, x: L.linalg.vector_norm(x, float("inf")),
    "norm_inf": lambda L, x: L.norm(x, float("inf")),
    "vector_norm_of_zeros": lambda L, x: L.linalg.vector_norm(x * 0),
    "norm_p1": lambda L, x: L.norm(x, 1),
    "norm_of_zeros": lambda L, x: L.norm(x * 0),
    "l1_loss": lambda L, x: F(L).l1_loss(x, L.zeros_like(x), reduction="none"),
    "abs": lambda L, x: L.abs(x),
    "copysign": lambda L, x: L.copysign(x, -x),
}
FIRST_ORDER_BINARY = {
    "smooth_l1_loss_beta_0": lambda L, x, y: F(L).smooth_l1_loss(x, y, reduction="none", beta=0.0),
    "l1_loss": lambda L, x, y: F(L).l1_loss(x, y, reduction="none"),
    "atan2": lambda L, x, y: L.atan2(x, y),
    "copysign": lambda L, x, y: L.copysign(x, y),
}
FIRST_ORDER["hardsigmoid"] = lambda L, x: F(L).hardsigmoid(x)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient_matches_torch_at_boundaries(name):
    assert mismatches(torch, glassgrad, UNARY[name], 1) == []


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradient_matches_torch_at_boundaries_and_ties(name):
    assert mismatches(torch, glassgrad, BINARY[name], 2) == []


@pytest.mark.parametrize("name", sorted(FIRST_ORDER))
def test_unary_first_order_gradient_matches_torch_at_boundaries(name):
    assert mismatches(torch, glassgrad, FIRST_ORDER[name], 1, first_order_only=True) == []


@pytest.mark.parametrize("name", sorted(FIRST_ORDER_BINARY))
def test_binary_first_order_gradient_matches_torch_at_boundaries(name):
    assert mismatches(torch, glassgrad, FIRST_ORDER_BINARY[name], 2, first_order_only=True) == []


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


def test_sgn_is_sign_for_real_tensors():
    def run(lib):
        x = lib.tensor([-2.0, -0.0, 0.0, 3.0, float("nan")], requires_grad=True)
        y = lib.sgn(x)
        z = lib.tensor([-1.0, 4.0])
        z.sgn_()
        return (
            type(y.grad_fn).__name__,
            str(y.tolist()),
            z.tolist(),
            lib.sgn(lib.tensor([-3, 0, 5])).tolist(),
        )

    assert run(glassgrad) == run(torch)
