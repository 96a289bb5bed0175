"""Loss modules, BatchNorm running statistics over several steps, Embedding and Dropout in
training mode, against PyTorch 2.13."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn as gnn

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 5)).astype(np.float32)
Y = RNG.standard_normal((4, 5)).astype(np.float32)
P = 1 / (1 + np.exp(-X))
T01 = (RNG.random((4, 5)) > 0.5).astype(np.float32)
CLS = np.array([1, 0, 4, 2])
SIGN = np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32)
W5 = np.array([1.0, 2.0, 0.5, 1.0, 3.0], dtype=np.float32)

# name -> (constructor given the nn package and a tensor factory, inputs needing grad, targets)
LOSSES = {
    "MSELoss": (lambda nn, t: nn.MSELoss(), [X], [Y]),
    "MSELoss_sum": (lambda nn, t: nn.MSELoss(reduction="sum"), [X], [Y]),
    "L1Loss_none": (lambda nn, t: nn.L1Loss(reduction="none"), [X], [Y]),
    "SmoothL1Loss": (lambda nn, t: nn.SmoothL1Loss(beta=0.5), [X], [Y]),
    "HuberLoss": (lambda nn, t: nn.HuberLoss(delta=0.7), [X], [Y]),
    "CrossEntropyLoss": (lambda nn, t: nn.CrossEntropyLoss(), [X], [CLS]),
    "CrossEntropyLoss_weighted": (
        lambda nn, t: nn.CrossEntropyLoss(weight=t(W5), label_smoothing=0.1),
        [X],
        [CLS],
    ),
    "CrossEntropyLoss_ignore": (lambda nn, t: nn.CrossEntropyLoss(ignore_index=0), [X], [CLS]),
    "NLLLoss": (lambda nn, t: nn.NLLLoss(weight=t(W5)), [X], [CLS]),
    "BCELoss": (lambda nn, t: nn.BCELoss(), [P], [T01]),
    "BCEWithLogitsLoss": (lambda nn, t: nn.BCEWithLogitsLoss(pos_weight=t(W5)), [X], [T01]),
    "KLDivLoss": (lambda nn, t: nn.KLDivLoss(reduction="batchmean"), [np.log(P)], [P / 2]),
    "CosineEmbeddingLoss": (lambda nn, t: nn.CosineEmbeddingLoss(margin=0.1), [X, Y], [SIGN]),
    "MarginRankingLoss": (
        lambda nn, t: nn.MarginRankingLoss(margin=0.2),
        [X[:, 0], Y[:, 0]],
        [SIGN],
    ),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_matches_torch(name):
    ctor, inputs, targets = LOSSES[name]
    t_loss = ctor(torch.nn, torch.tensor)
    g_loss = ctor(gnn, glassgrad.tensor)
    assert repr(g_loss) == repr(t_loss)
    assert list(g_loss.state_dict()) == list(t_loss.state_dict())
    t_in = [torch.tensor(a, requires_grad=True) for a in inputs]
    g_in = [glassgrad.tensor(a, requires_grad=True) for a in inputs]
    t_out = t_loss(*t_in, *[torch.tensor(a) for a in targets])
    g_out = g_loss(*g_in, *[glassgrad.tensor(a) for a in targets])
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    t_out.sum().backward()
    g_out.sum().backward()
    for t_x, g_x in zip(t_in, g_in, strict=True):
        np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_statistics_over_steps(momentum):
    t_bn = torch.nn.BatchNorm1d(5, momentum=momentum)
    g_bn = gnn.BatchNorm1d(5, momentum=momentum)
    for step in range(3):
        batch = RNG.standard_normal((6, 5)).astype(np.float32) * (step + 1)
        t_bn(torch.tensor(batch))
        g_bn(glassgrad.tensor(batch))
    for key, value in t_bn.state_dict().items():
        np.testing.assert_allclose(g_bn.state_dict()[key].numpy(), value.numpy(), rtol=1e-5)
    assert int(g_bn.num_batches_tracked) == 3
    assert not g_bn.running_mean.requires_grad
    batch = RNG.standard_normal((6, 5)).astype(np.float32)
    t_out = t_bn.eval()(torch.tensor(batch))
    g_out = g_bn.eval()(glassgrad.tensor(batch))
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5)
    assert int(g_bn.num_batches_tracked) == 3


def test_batchnorm_without_running_stats_and_bad_input():
    g_bn = gnn.BatchNorm2d(3, track_running_stats=False)
    assert g_bn.running_mean is None and list(g_bn.state_dict()) == ["weight", "bias"]
    out = g_bn.eval()(glassgrad.ones(2, 3, 2, 2))
    assert out.shape == (2, 3, 2, 2)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        g_bn(glassgrad.ones(2, 3, 2))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        gnn.BatchNorm1d(3)(glassgrad.ones(2, 3, 2, 2))


def test_batchnorm_loads_checkpoint_without_num_batches_tracked():
    g_bn = gnn.BatchNorm1d(2)
    state = g_bn.state_dict()
    del state["num_batches_tracked"]
    state._metadata[""] = {"version": 1}
    assert repr(g_bn.load_state_dict(state)) == "<All keys matched successfully>"


def test_embedding_lookup_gradient_and_padding():
    t_emb = torch.nn.Embedding(6, 3, padding_idx=2)
    g_emb = gnn.Embedding(6, 3, padding_idx=2)
    assert float(g_emb.weight.detach()[2].abs().sum()) == 0.0
    g_emb.load_state_dict({"weight": glassgrad.tensor(t_emb.weight.detach().numpy())})
    index = np.array([[0, 2, 5], [5, 5, 1]])
    t_emb(torch.tensor(index)).sum().backward()
    g_emb(glassgrad.tensor(index)).sum().backward()
    np.testing.assert_array_equal(g_emb.weight.grad.numpy(), t_emb.weight.grad.numpy())
    frozen = gnn.Embedding.from_pretrained(glassgrad.ones(4, 2))
    assert not frozen.weight.requires_grad and repr(frozen) == "Embedding(4, 2)"


def test_dropout_training_statistics_and_eval_identity():
    drop = gnn.Dropout(0.25)
    out = drop(glassgrad.ones(200, 200)).numpy()
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    x = glassgrad.ones(3, 3, requires_grad=True)
    y = drop.eval()(x)
    np.testing.assert_array_equal(y.detach().numpy(), np.ones((3, 3)))
    with pytest.raises(
        ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"
    ):
        gnn.Dropout(1.5)


def test_inplace_activation_modules():
    for lib in (torch, glassgrad):
        x = lib.tensor([-1.0, 2.0]) * 1
        out = lib.nn.ReLU(inplace=True)(x)
        assert out.tolist() == [0.0, 2.0] and x.tolist() == [0.0, 2.0]
        assert repr(lib.nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
