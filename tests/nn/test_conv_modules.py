"""Conv3d, ConvTranspose1d and ConvTranspose3d (and their 2-D kin) against PyTorch: reprs,
parameter shapes, default init, state_dicts, outputs, output_size and constructor errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import glassgrad

# (class name, args, kwargs, input shape)
MODULES = [
    ("Conv3d", (4, 6, 3), {}, (2, 4, 5, 5, 5)),
    (
        "Conv3d",
        (4, 6, (3, 2, 1)),
        {"stride": 2, "padding": 1, "groups": 2, "bias": False},
        (2, 4, 6, 5, 4),
    ),
    ("Conv3d", (2, 3, 3), {"padding": "same", "dilation": (1, 2, 1)}, (2, 2, 5, 5, 5)),
    ("Conv3d", (2, 3, 2), {"padding": "same", "padding_mode": "reflect"}, (2, 2, 4, 5, 4)),
    ("Conv3d", (2, 3, 3), {"padding": "valid"}, (2, 2, 4, 4, 4)),
    ("Conv3d", (2, 4, 3), {"padding": (1, 0, 2), "padding_mode": "circular"}, (2, 2, 4, 4, 4)),
    ("Conv3d", (2, 4, 3), {"padding": 1, "padding_mode": "replicate"}, (2, 4, 4, 4)),
    ("Conv1d", (2, 4, 3), {"padding": "same", "padding_mode": "reflect"}, (2, 2, 6)),
    ("Conv2d", (2, 4, 2), {"padding": "same", "padding_mode": "replicate"}, (2, 2, 5, 5)),
    ("ConvTranspose1d", (4, 6, 3), {}, (2, 4, 5)),
    (
        "ConvTranspose1d",
        (4, 6, 3),
        {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2, "dilation": 2},
        (2, 4, 5),
    ),
    ("ConvTranspose1d", (4, 2, 2), {"bias": False}, (4, 5)),
    ("ConvTranspose3d", (4, 6, 3), {}, (2, 4, 3, 3, 3)),
    (
        "ConvTranspose3d",
        (4, 2, (2, 3, 2)),
        {"stride": (2, 1, 2), "padding": (0, 1, 1), "output_padding": (1, 0, 0), "groups": 2},
        (2, 4, 3, 2, 3),
    ),
    ("ConvTranspose3d", (2, 2, 2), {"dilation": 2, "bias": False}, (2, 3, 2, 3)),
]


def _pair(case):
    name, args, kwargs, _ = case
    mine = getattr(glassgrad.nn, name)(*args, **kwargs).double()
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    mine.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return mine, theirs


@pytest.mark.parametrize("case", MODULES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_module_repr_params_and_forward_match_torch(case):
    mine, theirs = _pair(case)
    assert repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert tuple(mine.state_dict()[key].shape) == tuple(value.shape)
    x = np.random.default_rng(3).standard_normal(case[3])
    t_x = torch.tensor(x, requires_grad=True)
    g_x = glassgrad.tensor(x, requires_grad=True)
    t_out, g_out = theirs(t_x), mine(g_x)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), 1e-10, 1e-10)
    upstream = np.sin(np.arange(t_out.numel())).reshape(tuple(t_out.shape))
    (t_out * torch.tensor(upstream)).sum().backward()
    (g_out * glassgrad.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), 1e-10, 1e-10)
    for (key, t_param), (_, g_param) in zip(
        theirs.named_parameters(), mine.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            g_param.grad.numpy(), t_param.grad.numpy(), 1e-10, 1e-10, err_msg=key
        )


@pytest.mark.parametrize("case", MODULES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_default_init_follows_kaiming_uniform_with_the_seeded_generator(case):
    name, args, kwargs, _ = case
    glassgrad.manual_seed(11)
    first = getattr(glassgrad.nn, name)(*args, **kwargs)
    glassgrad.manual_seed(11)
    second = getattr(glassgrad.nn, name)(*args, **kwargs)
    weight = first.weight.detach().numpy()
    np.testing.assert_array_equal(weight, second.weight.detach().numpy())
    fan_in = weight.shape[1] * math.prod(weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform with a=sqrt(5): gain*sqrt(3/fan_in)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > bound / 2
    if first.bias is not None:
        assert np.abs(first.bias.detach().numpy()).max() <= bound
    assert first.weight.dtype == glassgrad.float32


@pytest.mark.parametrize(
    ("output_size", "shape"),
    [((10,), (2, 4, 5)), ([2, 6, 10], (2, 4, 5)), ((10,), (4, 5)), ([6, 10], (4, 5))],
)
def test_conv_transpose1d_output_size(output_size, shape):
    mine, theirs = _pair(("ConvTranspose1d", (4, 6, 3), {"stride": 2, "padding": 1}, None))
    x = np.random.default_rng(0).standard_normal(shape)
    t_out = theirs(torch.tensor(x), output_size=output_size)
    g_out = mine(glassgrad.tensor(x), output_size=output_size)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), 1e-10, 1e-10)


def test_conv_transpose3d_output_size():
    mine, theirs = _pair(("ConvTranspose3d", (2, 3, 3), {"stride": (2, 3, 1)}, None))
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 2, 3))
    t_out = theirs(torch.tensor(x), output_size=(8, 7, 5))
    g_out = mine(glassgrad.tensor(x), output_size=(8, 7, 5))
    assert tuple(g_out.shape) == tuple(t_out.shape) == (1, 3, 8, 7, 5)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), 1e-10, 1e-10)


@pytest.mark.parametrize(
    ("name", "output_size", "shape"),
    [
        ("ConvTranspose1d", (3,), (1, 4, 5)),
        ("ConvTranspose1d", (9, 9), (1, 4, 5)),
        ("ConvTranspose3d", (8, 8), (1, 4, 2, 2, 2)),
        ("ConvTranspose3d", (1, 1, 1), (1, 4, 2, 2, 2)),
    ],
)
def test_output_size_errors_match_torch(name, output_size, shape):
    found = []
    for lib in (torch, glassgrad):
        layer = getattr(lib.nn, name)(4, 2, 3, stride=2)
        with pytest.raises(ValueError) as info:
            layer(lib.zeros(shape), output_size=output_size)
        found.append(str(info.value))
    assert found[1] == found[0]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Conv3d", {"groups": 0}),
        ("Conv3d", {"groups": 3}),
        ("Conv3d", {"padding": "full"}),
        ("Conv3d", {"padding": "same", "stride": 2}),
        ("Conv3d", {"padding_mode": "mirror"}),
        ("ConvTranspose3d", {"padding_mode": "reflect"}),
        ("ConvTranspose1d", {"padding_mode": "circular"}),
        ("ConvTranspose1d", {"groups": 4}),
    ],
)
def test_constructor_errors_match_torch(name, kwargs):
    found = []
    for lib in (torch, glassgrad):
        with pytest.raises(ValueError) as info:
            getattr(lib.nn, name)(6, 4, 3, **kwargs)
        found.append(_unordered_sets(str(info.value)))
    assert found[1] == found[0]


def _unordered_sets(message):
    """``message`` with each ``{...}`` set written sorted: PyTorch prints a Python set, whose order
    depends on string hashing in the process that compiled its module."""
    import re

    return re.sub(
        r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message
    )


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("Conv3d", (1, 3, 4, 4, 4)),
        ("Conv3d", (1, 4, 4, 4)),
        ("ConvTranspose1d", (1, 3, 5)),
        ("ConvTranspose3d", (3, 3, 3, 3)),
        ("ConvTranspose3d", (3, 3, 3)),
    ],
)
def test_forward_errors_match_torch(name, shape):
    found = []
    for lib in (torch, glassgrad):
        layer = getattr(lib.nn, name)(2, 4, 2)
        with pytest.raises(RuntimeError) as info:
            layer(lib.zeros(shape))
        found.append(str(info.value))
    assert found[1] == found[0]


def test_padding_mode_changed_after_construction_is_refused_in_forward():
    found = []
    for lib in (torch, glassgrad):
        layer = lib.nn.ConvTranspose3d(2, 2, 2)
        layer.padding_mode = "reflect"
        with pytest.raises(ValueError) as info:
            layer(lib.zeros(1, 2, 3, 3, 3))
        found.append(str(info.value))
    assert found[1] == found[0]
