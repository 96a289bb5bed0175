"""Channel dropout (dropout1d/dropout2d): whole channels zeroed, survivors scaled, as PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.nn.functional as F


@pytest.mark.parametrize("fn,shape", [("dropout2d", (8, 16, 3, 3)), ("dropout1d", (8, 16, 5))])
def test_channels_are_dropped_whole_and_survivors_scaled(fn, shape):
    gg.manual_seed(0)
    x = gg.ones(*shape, requires_grad=True)
    y = getattr(F, fn)(x, p=0.25, training=True)
    channels = y.detach().numpy().reshape(shape[0] * shape[1], -1)
    assert set(np.unique(channels).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    assert all(len(set(row)) == 1 for row in channels.tolist())
    assert 0.1 < (channels[:, 0] == 0).mean() < 0.4
    assert (
        type(y.grad_fn).__name__
        == type(
            getattr(torch.nn.functional, fn)(
                torch.ones(*shape, requires_grad=True), 0.25, True
            ).grad_fn
        ).__name__
    )
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_eval_mode_and_bad_p_match_torch():
    x = gg.ones(2, 3, 4, 4)
    assert F.dropout2d(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout2d(x, 1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        torch.nn.functional.dropout2d(torch.ones(2, 3, 4, 4), 1.5)


def test_dropout2d_module_uses_it():
    gg.manual_seed(1)
    layer = gg.nn.Dropout2d(0.5)
    out = layer(gg.ones(4, 6, 2, 2))
    assert ((out.numpy() == 0) | (out.numpy() == 2)).all()
    layer.eval()
    assert (layer(gg.ones(4, 6, 2, 2)).numpy() == 1).all()
