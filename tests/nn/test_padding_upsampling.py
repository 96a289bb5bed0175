"""Padding and upsampling layers against PyTorch 2.13: printout, forward values, input gradients,
grad_fn names and the errors for bad input shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad

PAD_LAYERS = [
    "ZeroPad1d(2)",
    "ZeroPad1d((1, 3))",
    "ConstantPad1d((1, -2), 3.5)",
    "ReflectionPad1d((2, 3))",
    "ReplicationPad1d(2)",
    "CircularPad1d((2, 1))",
    "ZeroPad2d((1, 2, 0, 1))",
    "ConstantPad2d(1, 2.0)",
    "ReflectionPad2d(2)",
    "ReplicationPad2d((1, 2, 3, 0))",
    "CircularPad2d(2)",
    "ZeroPad3d(1)",
    "ConstantPad3d((1, 0, 1, 0, 0, 2), 2.0)",
    "ReflectionPad3d(1)",
    "ReplicationPad3d((1, 0, 2, 1, 0, 1))",
    "CircularPad3d(1)",
]
UP_LAYERS = [
    "Upsample(scale_factor=2)",
    "Upsample(scale_factor=1.7)",
    "Upsample(size=7)",
    "Upsample(scale_factor=2, mode='linear')",
    "Upsample(size=11, mode='linear', align_corners=True)",
    "Upsample(scale_factor=0.6, mode='linear')",
    "Upsample(scale_factor=1.5, mode='linear', recompute_scale_factor=True)",
    "Upsample(size=(5, 9))",
    "Upsample(scale_factor=(2, 3))",
    "Upsample(scale_factor=2, mode='bilinear')",
    "Upsample(scale_factor=1.7, mode='bilinear')",
    "Upsample(scale_factor=1.5, mode='bilinear', align_corners=True)",
    "Upsample(size=(3, 4), mode='bilinear')",
    "Upsample(scale_factor=2.5, mode='nearest-exact')",
    "Upsample(size=(7, 3), mode='nearest-exact')",
    "Upsample(scale_factor=1.5, mode='bicubic')",
    "Upsample(size=(3, 7), mode='bicubic', align_corners=True)",
    "Upsample(size=(4, 3), mode='area')",
    "Upsample(size=4, mode='area')",
    "Upsample(scale_factor=2, mode='trilinear')",
    "Upsample(size=(2, 5, 4), mode='trilinear', align_corners=True)",
    "Upsample(size=(5, 9, 2))",
    "UpsamplingNearest2d(scale_factor=2)",
    "UpsamplingNearest2d(size=(3, 7))",
    "UpsamplingBilinear2d(scale_factor=2)",
    "UpsamplingBilinear2d(size=(3, 7))",
]
SHAPES = [(5,), (3, 8), (2, 3, 5), (2, 2, 4, 5), (1, 2, 3, 4, 3)]


def _build(nn, spec):
    return eval("nn." + spec, {"nn": nn})


def _run(module, lib, data, weights):
    x = lib.tensor(data, requires_grad=True)
    y = module(x)
    if isinstance(y, tuple):  # (values, indices): the indices must match too
        indices = y[1].numpy()
        y = y[0]
        y = y + lib.tensor(indices.astype(data.dtype) * 1e-3)
    (y * y * lib.tensor(weights[: int(np.prod(y.shape))].reshape(tuple(y.shape)))).sum().backward()
    return y, x.grad


def compare(spec, shape, dtype=np.float64, positive=False):
    """Run ``spec`` in both libraries on one input; outputs, grads, grad_fn or errors must match."""
    rng = np.random.default_rng(0)
    data, weights = rng.standard_normal(shape).astype(dtype), rng.standard_normal(4000)
    data = np.abs(data) + 0.1 if positive else data
    t_module, g_module = _build(torch.nn, spec), _build(glassgrad.nn, spec)
    assert repr(g_module) == repr(t_module)
    try:
        t_out, t_grad = _run(t_module, torch, data, weights.astype(dtype))
    except Exception as exc:  # noqa: BLE001 - the same error must come from glassgrad
        with pytest.raises(type(exc)) as info:
            _run(g_module, glassgrad, data, weights.astype(dtype))
        assert str(info.value) == str(exc)
        return
    g_out, g_grad = _run(g_module, glassgrad, data, weights.astype(dtype))
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__ or (
        spec.startswith("CircularPad")  # PyTorch builds circular padding from slice copies
    )
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(g_grad.numpy(), t_grad.numpy(), rtol=tol, atol=tol)
    assert g_out.dtype == getattr(glassgrad, str(t_out.dtype).split(".")[1])


POOL_LAYERS = [
    "MaxPool1d(2)",
    "MaxPool1d(3, 2, 1, return_indices=True)",
    "MaxPool1d(3, 1, 1, dilation=2, ceil_mode=True)",
    "MaxPool1d(3, 2, 2)",
    "MaxPool1d(9)",
    "AvgPool1d(2)",
    "AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False)",
    "AvgPool1d((3,), (1,), (1,))",
    "AvgPool1d(3, padding=2)",
    "AvgPool1d(9)",
    "AdaptiveAvgPool1d(3)",
    "AdaptiveAvgPool1d((5,))",
    "AdaptiveAvgPool1d((2, 3))",
    "AdaptiveMaxPool1d(3)",
    "AdaptiveMaxPool1d(5, return_indices=True)",
    "AdaptiveMaxPool2d(3)",
    "AdaptiveMaxPool2d((3, None), True)",
    "AdaptiveMaxPool2d((2, 4), return_indices=True)",
    "LPPool1d(2, 3)",
    "LPPool1d(1.5, 3, 2)",
    "LPPool1d(float('inf'), 2)",
    "LPPool2d(2, 2)",
    "LPPool2d(3, (2, 3), 1)",
    "LPPool2d(1, 2, ceil_mode=True)",
]


@pytest.mark.parametrize("shape", [(3, 8), (2, 3, 8), (2, 3, 5, 6), (1, 2, 3, 4, 5), (8,)])
@pytest.mark.parametrize("spec", POOL_LAYERS)
def test_pooling_layer(spec, shape):
    compare(spec, shape, positive=spec.startswith("LPPool"))  # fractional powers: positive x


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("spec", PAD_LAYERS)
def test_padding_layer(spec, shape):
    compare(spec, shape)


@pytest.mark.parametrize("shape", SHAPES[1:])
@pytest.mark.parametrize("spec", UP_LAYERS)
def test_upsampling_layer(spec, shape):
    compare(spec, shape)


@pytest.mark.parametrize(
    "spec", ["Upsample(scale_factor=1.7)", "Upsample(scale_factor=1.3, mode='bicubic')"]
)
def test_upsampling_float32(spec):
    compare(spec, (2, 2, 5, 6), np.float32)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 3, "scale_factor": 2},
        {},
        {"scale_factor": 2, "align_corners": True},
        {"scale_factor": 2, "mode": "cubic"},
        {"size": (3, 4), "recompute_scale_factor": True},
        {"size": (3.0, 4)},
        {"scale_factor": 2, "mode": "bilinear", "antialias": True, "align_corners": False},
    ],
)
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 4, 5)])
def test_interpolate_errors(kwargs, shape):
    data = np.zeros(shape)
    if "antialias" in kwargs and len(shape) == 4:  # valid: compared in test_antialias
        return
    with pytest.raises(Exception) as expected:
        torch.nn.functional.interpolate(torch.tensor(data), **kwargs)
    with pytest.raises(type(expected.value)) as info:
        glassgrad.nn.functional.interpolate(glassgrad.tensor(data), **kwargs)
    assert str(info.value) == str(expected.value)


def test_reflection_pad_too_wide():
    compare("ReflectionPad1d(8)", (2, 3, 8))
    compare("ReflectionPad2d((1, 1, 4, 0))", (1, 4, 4))


def _double_backward(lib, spec, data):
    x = lib.tensor(data, requires_grad=True)
    (grad,) = lib.autograd.grad((_build(lib.nn, spec)(x) ** 3).sum(), x, create_graph=True)
    (grad * grad).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize(
    "spec",
    [
        "Upsample(scale_factor=1.5, mode='bicubic')",
        "Upsample(scale_factor=2.5, mode='nearest-exact')",
        "Upsample(scale_factor=2, mode='trilinear')",
        "Upsample(size=(2, 3, 2), mode='area')",
    ],
)
def test_upsample_double_backward(spec):
    data = np.random.default_rng(1).standard_normal(
        (1, 2, 3, 4, 3) if "tri" in spec or "area" in spec else (1, 2, 3, 4)
    )
    np.testing.assert_allclose(
        _double_backward(glassgrad, spec, data), _double_backward(torch, spec, data), rtol=1e-10
    )


@pytest.mark.parametrize("shape", [(3, 4, 6), (2, 3, 5, 6)])
@pytest.mark.parametrize(
    "spec",
    [
        "MaxPool2d(2)",
        "MaxPool2d(3, 1, return_indices=True)",
        "AvgPool2d(2)",
        "AvgPool2d(3, 2, 1, ceil_mode=True)",
        "AdaptiveAvgPool2d((2, 3))",
        "AdaptiveMaxPool2d((2, 3))",
    ],
)
def test_2d_pools_batched_and_unbatched(spec, shape):
    compare(spec, shape)
    data = np.random.default_rng(3).standard_normal(shape)
    spec = spec.replace(", return_indices=True", "")
    np.testing.assert_allclose(
        _double_backward(glassgrad, spec, data), _double_backward(torch, spec, data), rtol=1e-10
    )


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_factor": 0.4},
        {"size": (4, 5)},
        {"size": (12, 20)},
        {"size": (3, 9), "align_corners": True},
        {"scale_factor": 0.5, "align_corners": False},
    ],
)
def test_antialias(mode, kwargs):
    data = np.random.default_rng(0).standard_normal((1, 2, 9, 11))
    outs = []
    for lib in (torch, glassgrad):
        x = lib.tensor(data, requires_grad=True)
        y = lib.nn.functional.interpolate(x, mode=mode, antialias=True, **kwargs)
        (y * y).sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy(), type(y.grad_fn).__name__))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-10, atol=1e-12)
    assert outs[1][2] == outs[0][2]
