"""Gradients taken with ``create_graph=True`` through ops whose backward PyTorch runs as one
fused kernel taking the forward input (pooling, convolution, reflection/replication padding,
hardsigmoid, prelu, multi_margin_loss...): they require grad as soon as that input does, and a
second derivative gives PyTorch's zeros, ``None`` or error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad

X = np.random.default_rng(0).standard_normal((1, 2, 6, 6))
W = np.random.default_rng(1).standard_normal((3, 2, 2, 2))

OPS = {
    "max_pool2d": lambda f, lib, x, w: f.max_pool2d(x, 2),
    "adaptive_max_pool2d": lambda f, lib, x, w: f.adaptive_max_pool2d(x, (4, 5)),
    "avg_pool2d": lambda f, lib, x, w: f.avg_pool2d(x, 2),
    "adaptive_avg_pool2d": lambda f, lib, x, w: f.adaptive_avg_pool2d(x, 3),
    "max_pool1d": lambda f, lib, x, w: f.max_pool1d(x.reshape(2, 2, 18), 3),
    "avg_pool1d": lambda f, lib, x, w: f.avg_pool1d(x.reshape(2, 2, 18), 3),
    "lp_pool2d": lambda f, lib, x, w: f.lp_pool2d(x, 2, 2),
    "conv2d": lambda f, lib, x, w: f.conv2d(x, w),
    "conv_transpose2d": lambda f, lib, x, w: f.conv_transpose2d(x, w.transpose(0, 1)),
    "conv2d weight needs grad": lambda f, lib, x, w: f.conv2d(x, w.requires_grad_()),
    "pad reflect": lambda f, lib, x, w: f.pad(x, (1, 1, 1, 1), mode="reflect"),
    "pad replicate": lambda f, lib, x, w: f.pad(x, (1, 1, 1, 1), mode="replicate"),
    "pad constant": lambda f, lib, x, w: f.pad(x, (1, 1)),
    "hardsigmoid": lambda f, lib, x, w: f.hardsigmoid(x),
    "prelu": lambda f, lib, x, w: f.prelu(x, lib.tensor([0.25], dtype=lib.float64)),
    "multi_margin_loss": lambda f, lib, x, w: f.multi_margin_loss(
        x.reshape(2, -1), lib.tensor([1, 3])
    ),
    "relu": lambda f, lib, x, w: f.relu(x),
    "gelu": lambda f, lib, x, w: f.gelu(x),
}


def _second_order(lib, name):
    x = lib.tensor(X, requires_grad=True)
    w = lib.tensor(W)
    y = OPS[name](lib.nn.functional, lib, x, w)
    (gx,) = lib.autograd.grad((y * lib.ones_like(y)).sum(), x, create_graph=True)
    out = [gx.requires_grad, type(gx.grad_fn).__name__ if gx.grad_fn is not None else None]
    if gx.requires_grad:
        try:
            (g2,) = lib.autograd.grad((gx * gx.detach()).sum(), x, allow_unused=True)
            out.append(None if g2 is None else np.round(g2.detach().numpy(), 10).tolist())
        except RuntimeError as error:
            out.append(str(error))
    return out


@pytest.mark.parametrize("name", sorted(OPS))
def test_create_graph_through_fused_kernels_matches_torch(name):
    ours, theirs = _second_order(glassgrad, name), _second_order(torch, name)
    assert ours[0] == theirs[0]
    assert ours[2:] == theirs[2:]
    if ours[1] is not None and ours[1].endswith("BackwardBackward0"):
        assert ours[1] == theirs[1]  # (elsewhere glassgrad records the formula's own ops)
