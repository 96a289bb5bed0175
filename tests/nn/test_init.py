"""nn.init and nn.utils against PyTorch 2.13: distributions (glassgrad's random stream differs
from PyTorch's, so statistics are compared), determinism under manual_seed, in-place semantics,
error messages; gradient clipping and parameter/vector conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn as gnn
from glassgrad.nn import init


def fresh(*shape):
    return gnn.Parameter(glassgrad.empty(*shape))


@pytest.mark.parametrize(
    "name,kwargs,mean,std",
    [
        ("uniform_", {"a": -2.0, "b": 4.0}, 1.0, 6 / math.sqrt(12)),
        ("normal_", {"mean": 0.5, "std": 2.0}, 0.5, 2.0),
        ("xavier_uniform_", {"gain": 2.0}, 0.0, 2.0 * math.sqrt(2.0 / (200 + 300))),
        ("xavier_normal_", {}, 0.0, math.sqrt(2.0 / (200 + 300))),
        ("kaiming_uniform_", {"a": math.sqrt(5)}, 0.0, math.sqrt(2.0 / 6) / math.sqrt(200)),
        (
            "kaiming_normal_",
            {"mode": "fan_out", "nonlinearity": "relu"},
            0.0,
            math.sqrt(2.0) / math.sqrt(300),
        ),
    ],
)
def test_distribution_statistics_match_torch(name, kwargs, mean, std):
    weight = fresh(300, 200)
    out = getattr(init, name)(weight, **kwargs)
    assert out is weight and weight.requires_grad and weight.is_leaf
    t_weight = getattr(torch.nn.init, name)(torch.empty(300, 200), **kwargs)
    data = weight.detach().numpy()
    for values in (data, t_weight.numpy()):
        assert abs(values.mean() - mean) < 0.02 * max(std, 1)
        assert abs(values.std() - std) < 0.02 * std
    if name.startswith(("uniform", "xavier_uniform", "kaiming_uniform")):
        assert abs(data.min() - t_weight.numpy().min()) < 0.01 * std * 4
        assert abs(data.max() - t_weight.numpy().max()) < 0.01 * std * 4


def test_trunc_normal_bounds_and_std():
    weight = init.trunc_normal_(fresh(400, 100), std=1.0, a=-1.0, b=1.5)
    data = weight.detach().numpy()
    t_data = torch.nn.init.trunc_normal_(torch.empty(400, 100), std=1.0, a=-1.0, b=1.5).numpy()
    assert data.min() >= -1.0 and data.max() <= 1.5
    assert abs(data.mean() - t_data.mean()) < 0.02
    assert abs(data.std() - t_data.std()) < 0.02


def test_deterministic_under_manual_seed():
    glassgrad.manual_seed(7)
    first = gnn.Linear(5, 4).weight.detach().numpy().copy()
    glassgrad.manual_seed(7)
    second = gnn.Linear(5, 4).weight.detach().numpy().copy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, gnn.Linear(5, 4).weight.detach().numpy())


def test_constant_ones_zeros_eye_orthogonal():
    np.testing.assert_array_equal(
        init.constant_(fresh(2, 3), 0.3).detach().numpy(), np.full((2, 3), 0.3, np.float32)
    )
    assert init.ones_(fresh(3)).detach().numpy().tolist() == [1, 1, 1]
    assert init.zeros_(fresh(3)).detach().numpy().tolist() == [0, 0, 0]
    np.testing.assert_array_equal(
        init.eye_(fresh(2, 3)).detach().numpy(), torch.nn.init.eye_(torch.empty(2, 3)).numpy()
    )
    for shape in ((4, 6), (6, 4), (3, 2, 2)):
        q = init.orthogonal_(fresh(*shape), gain=2.0).detach().numpy().reshape(shape[0], -1)
        gram = q @ q.T if shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(gram, 4.0 * np.eye(len(gram)), atol=1e-5)


def test_init_bumps_version_and_records_nothing():
    weight = fresh(3, 3)
    before = weight._version
    init.normal_(weight)
    assert weight._version == before + 1
    assert weight.grad_fn is None


def test_calculate_gain_and_errors_match_torch():
    for args in (
        ("linear",),
        ("conv2d",),
        ("sigmoid",),
        ("tanh",),
        ("relu",),
        ("leaky_relu",),
        ("leaky_relu", 0.2),
        ("selu",),
    ):
        assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)
    cases = [
        (lambda m: m.calculate_gain("swish"), None),
        (lambda m: m.calculate_gain("leaky_relu", "x"), None),
        (lambda m: m.eye_(m_empty(m, 2, 2, 2)), None),
        (lambda m: m.xavier_uniform_(m_empty(m, 3)), None),
        (lambda m: m.kaiming_uniform_(m_empty(m, 3, 3), mode="fan_mid"), None),
    ]
    for action, _ in cases:
        with pytest.raises(ValueError) as t_info:
            action(torch.nn.init)
        with pytest.raises(ValueError) as g_info:
            action(init)
        assert str(g_info.value) == str(t_info.value)


def m_empty(module, *shape):
    return (torch if module is torch.nn.init else glassgrad).empty(*shape)


def _grads(lib, arrays):
    params = []
    for array in arrays:
        param = lib.nn.Parameter(lib.tensor(array))
        param.grad = lib.tensor(array * 3)
        params.append(param)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3])
def test_clip_grad_norm_matches_torch(norm_type):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in ((3, 4), (5,))]
    t_params, g_params = _grads(torch, arrays), _grads(glassgrad, arrays)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, 1.5, norm_type=norm_type)
    g_total = gnn.utils.clip_grad_norm_(g_params, 1.5, norm_type=norm_type)
    assert g_total.dtype == glassgrad.float32 and g_total.shape == t_total.shape
    np.testing.assert_allclose(g_total.numpy(), t_total.numpy(), rtol=1e-5)
    for t_p, g_p in zip(t_params, g_params, strict=True):
        np.testing.assert_allclose(g_p.grad.numpy(), t_p.grad.numpy(), rtol=1e-5)


def test_clip_grad_norm_nonfinite_error():
    param = gnn.Parameter(glassgrad.ones(2))
    param.grad = glassgrad.tensor([float("inf"), 1.0])
    t_param = torch.nn.Parameter(torch.ones(2))
    t_param.grad = torch.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError) as t_info:
        torch.nn.utils.clip_grad_norm_([t_param], 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as g_info:
        gnn.utils.clip_grad_norm_([param], 1.0, error_if_nonfinite=True)
    assert str(g_info.value) == str(t_info.value)


def test_clip_grad_value_matches_torch():
    arrays = [np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)]
    t_params, g_params = _grads(torch, arrays), _grads(glassgrad, arrays)
    torch.nn.utils.clip_grad_value_(t_params, 0.7)
    gnn.utils.clip_grad_value_(g_params, 0.7)
    np.testing.assert_array_equal(g_params[0].grad.numpy(), t_params[0].grad.numpy())


def test_vector_to_parameters_roundtrip():
    model = gnn.ModuleList([gnn.Linear(3, 2), gnn.Linear(2, 1)])
    total = sum(p.numel() for p in model.parameters())
    vec = glassgrad.arange(total, dtype=glassgrad.float32)
    gnn.utils.vector_to_parameters(vec, model.parameters())
    np.testing.assert_array_equal(model[0].weight.detach().numpy().ravel(), np.arange(6))
    assert model[1].bias.requires_grad
    if hasattr(glassgrad, "cat"):
        flat = gnn.utils.parameters_to_vector(model.parameters())
        np.testing.assert_array_equal(flat.detach().numpy(), np.arange(total))
        assert flat.requires_grad
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: int"):
        gnn.utils.vector_to_parameters(3, model.parameters())
