"""Every nn layer against PyTorch 2.13: printout, state_dict keys and shapes, forward output,
input and parameter gradients (weights copied from torch through NumPy), grad_fn name.

A layer whose ``nn.functional`` op has not landed yet is skipped by name (``needs``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn.functional as GF

# name -> (constructor given the nn package, input shapes, functional ops the layer needs)
LAYERS = {
    "Identity": (lambda nn: nn.Identity(), [(2, 3)], []),
    "Linear": (lambda nn: nn.Linear(4, 3), [(2, 4)], ["linear"]),
    "Linear_nobias": (lambda nn: nn.Linear(4, 3, bias=False), [(5, 2, 4)], ["linear"]),
    "Bilinear": (lambda nn: nn.Bilinear(3, 2, 4), [(5, 3), (5, 2)], ["bilinear"]),
    "Conv1d": (lambda nn: nn.Conv1d(2, 3, 3, padding=1), [(2, 2, 7)], ["conv1d"]),
    "Conv2d": (lambda nn: nn.Conv2d(2, 4, 3, stride=2, padding=1), [(2, 2, 7, 6)], ["conv2d"]),
    "Conv2d_groups": (
        lambda nn: nn.Conv2d(4, 4, (3, 2), groups=2, bias=False),
        [(1, 4, 5, 5)],
        ["conv2d"],
    ),
    "ConvTranspose2d": (
        lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
        [(2, 3, 4, 4)],
        ["conv_transpose2d"],
    ),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), [(2, 3, 6, 6)], ["max_pool2d"]),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(3, 1, 1), [(2, 3, 5, 5)], ["avg_pool2d"]),
    "AdaptiveAvgPool2d": (
        lambda nn: nn.AdaptiveAvgPool2d((2, 3)),
        [(2, 3, 6, 6)],
        ["adaptive_avg_pool2d"],
    ),
    "Flatten": (lambda nn: nn.Flatten(), [(2, 3, 4)], ["flatten@"]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 3)), [(4, 6)], ["unflatten@"]),
    "Dropout_eval": (lambda nn: nn.Dropout(0.3).eval(), [(3, 4)], ["dropout"]),
    "Dropout2d_eval": (lambda nn: nn.Dropout2d(0.3).eval(), [(2, 3, 4, 4)], ["dropout2d"]),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), [(5, 3)], ["batch_norm"]),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3, momentum=None), [(2, 3, 4, 4)], ["batch_norm"]),
    "BatchNorm2d_eval": (lambda nn: nn.BatchNorm2d(3).eval(), [(2, 3, 4, 4)], ["batch_norm"]),
    "LayerNorm": (lambda nn: nn.LayerNorm([3, 4]), [(2, 3, 4)], ["layer_norm"]),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), [(2, 4, 3)], ["group_norm"]),
    "PReLU": (lambda nn: nn.PReLU(3), [(2, 3, 4)], ["prelu"]),
    "MultiheadAttention": (
        lambda nn: nn.MultiheadAttention(8, 2),
        [(4, 2, 8)] * 3,
        ["linear", "softmax"],
    ),
    "TransformerEncoderLayer": (
        lambda nn: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        [(2, 5, 8)],
        ["linear", "softmax", "layer_norm"],
    ),
    "RNN": (lambda nn: nn.RNN(3, 4, 2), [(5, 2, 3)], ["linear", "stack@", "cat@", "chunk@"]),
    "LSTM": (
        lambda nn: nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True),
        [(2, 5, 3)],
        ["linear", "stack@", "cat@", "chunk@"],
    ),
    "GRU": (
        lambda nn: nn.GRU(3, 4, bidirectional=True),
        [(5, 3)],
        ["linear", "stack@", "cat@", "chunk@"],
    ),
}

ACTIVATIONS = {
    "ReLU": ([], ["relu"]),
    "ReLU6": ([], ["hardtanh"]),
    "LeakyReLU": ([0.2], ["leaky_relu"]),
    "ELU": ([0.7], ["elu"]),
    "SELU": ([], ["selu"]),
    "CELU": ([1.3], ["celu"]),
    "GELU": ([], ["gelu"]),
    "SiLU": ([], ["silu"]),
    "Mish": ([], ["mish"]),
    "Softplus": ([2.0], ["softplus"]),
    "Softsign": ([], ["softsign"]),
    "Hardtanh": ([-0.5, 0.5], ["hardtanh"]),
    "Hardsigmoid": ([], ["hardsigmoid"]),
    "Hardswish": ([], ["hardswish"]),
    "Tanhshrink": ([], ["tanhshrink"]),
    "LogSigmoid": ([], ["logsigmoid"]),
    "GLU": ([1], ["glu"]),
    "Sigmoid": ([], ["sigmoid"]),
    "Tanh": ([], ["tanh"]),
    "Softmax": ([1], ["softmax"]),
    "LogSoftmax": ([1], ["log_softmax"]),
    "Softmin": ([1], ["softmin"]),
}
for _name, (_args, _needs) in ACTIVATIONS.items():
    LAYERS[_name] = ((lambda nn, n=_name, a=_args: getattr(nn, n)(*a)), [(3, 4)], _needs)


def _missing(needs):
    missing = []
    for name in needs:
        if name.endswith("@"):  # a glassgrad function or Tensor method, not an F op
            if not hasattr(glassgrad.Tensor, name[:-1]) and not hasattr(glassgrad, name[:-1]):
                missing.append(name[:-1])
        elif not hasattr(GF, name):
            missing.append(name)
    return missing


def make_pair(name):
    ctor, shapes, needs = LAYERS[name]
    torch.manual_seed(0)
    t_module = ctor(torch.nn)
    g_module = ctor(glassgrad.nn)
    state = {k: glassgrad.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()}
    g_module.load_state_dict(state)
    return t_module, g_module, shapes, needs


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_printout_and_state_dict(name):
    t_module, g_module, _, _ = make_pair(name)
    assert repr(g_module) == repr(t_module)
    t_state, g_state = t_module.state_dict(), g_module.state_dict()
    assert list(g_state) == list(t_state)
    for key in t_state:
        assert tuple(g_state[key].shape) == tuple(t_state[key].shape), key
        assert str(g_state[key].dtype) == str(t_state[key].dtype), key


def _outputs(out):
    if isinstance(out, tuple):
        flat = []
        for item in out:
            flat.extend(_outputs(item))
        return flat
    return [] if out is None else [out]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_forward_and_gradients(name):
    t_module, g_module, shapes, needs = make_pair(name)
    missing = _missing(needs)
    if missing:
        pytest.skip(f"nn.functional lacks {missing}")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    g_in = [glassgrad.tensor(a, requires_grad=True) for a in arrays]
    t_out, g_out = _outputs(t_module(*t_in)), _outputs(g_module(*g_in))
    assert len(t_out) == len(g_out)
    t_loss, g_loss = 0, 0
    for t_item, g_item in zip(t_out, g_out, strict=True):
        np.testing.assert_allclose(
            g_item.detach().numpy(), t_item.detach().numpy(), rtol=1e-4, atol=1e-5
        )
        weight = rng.standard_normal(tuple(t_item.shape)).astype(np.float32)
        t_loss = t_loss + (t_item * torch.tensor(weight)).sum()
        g_loss = g_loss + (g_item * glassgrad.tensor(weight)).sum()
    t_loss.backward()
    g_loss.backward()
    for t_x, g_x in zip(t_in, g_in, strict=True):
        np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (key, t_p), (_, g_p) in zip(
        t_module.named_parameters(), g_module.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            g_p.grad.numpy(), t_p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=key
        )
    for key, t_buf in t_module.state_dict().items():  # running statistics
        np.testing.assert_allclose(
            g_module.state_dict()[key].numpy(), t_buf.numpy(), rtol=1e-5, atol=1e-6, err_msg=key
        )


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_frozen_layer_passes_gradient_through(name):
    _, g_module, shapes, needs = make_pair(name)
    if _missing(needs):
        pytest.skip(f"nn.functional lacks {_missing(needs)}")
    g_module.requires_grad_(False)
    inputs = [glassgrad.ones(*shape, requires_grad=True) for shape in shapes]
    out = _outputs(g_module(*inputs))[0]
    if not out.requires_grad:  # e.g. Dropout in eval mode on an input it passes through
        pytest.fail(f"{name}: output does not require grad")
    out.sum().backward()
    assert all(p.grad is None for p in g_module.parameters())
    assert inputs[0].grad is not None
