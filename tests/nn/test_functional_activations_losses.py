"""nn.functional activations, softmax family and losses against PyTorch: values, grad_fn names,
gradients and (where PyTorch has them) second-order gradients."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad
import glassgrad.nn.functional as GF
from nn_functional_cases import compare, run

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 5)) * 3
X[0, 0] = 0.0  # kinks at zero are part of the contract
Y = RNG.standard_normal((3, 5))
P = RNG.uniform(0.05, 0.95, (3, 5))
Q = RNG.uniform(0.0, 1.0, (3, 5))
T = np.array([0, 4, 2])

ACTIVATIONS = {
    "relu6": lambda t, F, x: F.relu6(x * 3),
    "hardtanh": lambda t, F, x: F.hardtanh(x, -0.5, 2.0),
    "leaky_relu": lambda t, F, x: F.leaky_relu(x, 0.2),
    "elu": lambda t, F, x: F.elu(x, alpha=0.7),
    "selu": lambda t, F, x: F.selu(x),
    "celu": lambda t, F, x: F.celu(x, alpha=1.5),
    "gelu": lambda t, F, x: F.gelu(x),
    "gelu_tanh": lambda t, F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda t, F, x: F.silu(x),
    "mish": lambda t, F, x: F.mish(x),
    "softplus": lambda t, F, x: F.softplus(x),
    "softplus_beta": lambda t, F, x: F.softplus(x, beta=2.0, threshold=3.0),
    "softsign": lambda t, F, x: F.softsign(x),
    "hardsigmoid": lambda t, F, x: F.hardsigmoid(x),
    "hardswish": lambda t, F, x: F.hardswish(x),
    "tanhshrink": lambda t, F, x: F.tanhshrink(x),
    "logsigmoid": lambda t, F, x: F.logsigmoid(x),
    "glu": lambda t, F, x: F.glu(x[:, :4], dim=1),
    "glu0": lambda t, F, x: F.glu(x[:2], dim=0),
    "softmax": lambda t, F, x: F.softmax(x, dim=1),
    "softmax0": lambda t, F, x: F.softmax(x, 0),
    "log_softmax": lambda t, F, x: F.log_softmax(x, dim=-1),
    "softmin": lambda t, F, x: F.softmin(x, dim=1),
    "tensor_softmax": lambda t, F, x: x.softmax(1),
    "torch_log_softmax": lambda t, F, x: t.log_softmax(x, 1),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(ACTIVATIONS))
def test_activation_matches_torch(case, dtype):
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {}
    compare(ACTIVATIONS[case], [X.astype(dtype)], **tol)


@pytest.mark.parametrize(
    "case", [c for c in ACTIVATIONS if c not in ("relu6", "hardtanh", "hardsigmoid")]
)
def test_activation_double_backward(case):
    compare(ACTIVATIONS[case], [X], second=True)


def test_prelu_per_channel_and_shared():
    w = np.array([0.25, -0.5, 0.1])
    image = RNG.standard_normal((2, 3, 4))
    compare(lambda t, F, x, a: F.prelu(x, a), [image, w], second=True)
    compare(lambda t, F, x, a: t.prelu(x, a), [X, np.array([0.3])])


def test_softmax_is_stable_on_huge_inputs():
    big = np.array([[1000.0, 0.0, -1000.0], [3e38, 3e38, -3e38]], dtype=np.float32)
    compare(lambda t, F, x: F.log_softmax(x, 1), [big])
    compare(lambda t, F, x: F.softmax(x, 1), [big])


def test_softplus_logsigmoid_stable_on_huge_inputs():
    big = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    for fn in (
        lambda t, F, x: F.softplus(x),
        lambda t, F, x: F.logsigmoid(x),
        lambda t, F, x: F.silu(x),
        lambda t, F, x: F.mish(x),
    ):
        compare(fn, [big])


def test_softmax_implicit_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = GF.softmax(glassgrad.tensor(X))
    np.testing.assert_allclose(out.sum(1).numpy(), np.ones(3))


LOSSES = {
    "nll": lambda t, F, x, y: F.nll_loss(F.log_softmax(x, 1), y),
    "ce": lambda t, F, x, y: F.cross_entropy(x, y),
    "ce_sum": lambda t, F, x, y: F.cross_entropy(x, y, reduction="sum"),
    "ce_none": lambda t, F, x, y: F.cross_entropy(x, y, reduction="none"),
    "ce_weight": lambda t, F, x, y: F.cross_entropy(
        x, y, weight=t.tensor([1.0, 2.0, 0.5, 1.0, 3.0], dtype=x.dtype)
    ),
    "ce_ignore": lambda t, F, x, y: F.cross_entropy(x, y, ignore_index=4),
    "ce_smooth": lambda t, F, x, y: F.cross_entropy(x, y, label_smoothing=0.2),
    "ce_smooth_weight_ignore": lambda t, F, x, y: F.cross_entropy(
        x,
        y,
        weight=t.tensor([1.0, 2.0, 0.5, 1.0, 3.0], dtype=x.dtype),
        ignore_index=2,
        label_smoothing=0.1,
    ),
    "ce_smooth_none": lambda t, F, x, y: F.cross_entropy(
        x, y, label_smoothing=0.3, reduction="none"
    ),
    "ce_1d": lambda t, F, x, y: F.cross_entropy(x[0], y[1]),
    "nll_weight_none": lambda t, F, x, y: F.nll_loss(
        x, y, weight=t.tensor([1.0, 2.0, 0.5, 1.0, 3.0], dtype=x.dtype), reduction="none"
    ),
}


@pytest.mark.parametrize("case", list(LOSSES))
def test_class_losses_match_torch(case):
    compare(
        LOSSES[case],
        [X, T],
        second=case not in ("nll_weight_none",),
        name=not case.startswith("ce_smooth"),
    )


def test_cross_entropy_spatial_and_probabilities():
    logits = RNG.standard_normal((2, 4, 3, 3))
    target = RNG.integers(0, 4, (2, 3, 3))
    compare(lambda t, F, x, y: F.cross_entropy(x, y), [logits, target], second=True)
    probs = RNG.dirichlet(np.ones(5), 3)
    for kwargs in ({}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.2}):
        compare(lambda t, F, x, y, k=kwargs: F.cross_entropy(x, y, **k), [X, probs], name=False)


def test_cross_entropy_large_logits_have_finite_gradients():
    logits = np.array([[1e4, -1e4, 0.0], [0.0, 3e4, -3e4]], dtype=np.float32)
    compare(lambda t, F, x, y: F.cross_entropy(x, y), [logits, np.array([1, 2])])


def test_class_loss_errors_match_torch():
    x = glassgrad.tensor(X)
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        GF.nll_loss(x, glassgrad.tensor([0, 7, 1]))
    with pytest.raises(
        ValueError,
        match=r"Expected input batch_size \(3\) to match target "
        r"batch_size \(2\).",
    ):
        GF.cross_entropy(x, glassgrad.tensor([0, 1]))


PAIR_LOSSES = {
    "mse": lambda t, F, x, y: F.mse_loss(x, y),
    "mse_sum": lambda t, F, x, y: F.mse_loss(x, y, reduction="sum"),
    "mse_none": lambda t, F, x, y: F.mse_loss(x, y, reduction="none"),
    "l1": lambda t, F, x, y: F.l1_loss(x, y),
    "smooth_l1": lambda t, F, x, y: F.smooth_l1_loss(x, y, beta=0.5),
    "smooth_l1_none": lambda t, F, x, y: F.smooth_l1_loss(x, y, reduction="none"),
    "huber": lambda t, F, x, y: F.huber_loss(x, y, delta=0.7),
    "huber_sum": lambda t, F, x, y: F.huber_loss(x, y, reduction="sum"),
    "bce_logits": lambda t, F, x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()),
    "bce_logits_pos": lambda t, F, x, y: F.binary_cross_entropy_with_logits(
        x,
        y.sigmoid(),
        pos_weight=t.tensor([1.0, 2.0, 0.5, 3.0, 1.5], dtype=x.dtype),
        weight=t.tensor([2.0, 1.0, 1.0, 0.5, 1.0], dtype=x.dtype),
    ),
    "kl_batchmean": lambda t, F, x, y: F.kl_div(
        F.log_softmax(x, 1), F.softmax(y, 1), reduction="batchmean"
    ),
    "kl_log_target": lambda t, F, x, y: F.kl_div(x, y, reduction="sum", log_target=True),
    "cosine_similarity": lambda t, F, x, y: F.cosine_similarity(x, y),
    "cosine_similarity0": lambda t, F, x, y: t.cosine_similarity(x, y, dim=0),
    "cosine_embedding": lambda t, F, x, y: F.cosine_embedding_loss(
        x, y, t.tensor([1, -1, 1]), margin=0.1
    ),
    "margin_ranking": lambda t, F, x, y: F.margin_ranking_loss(
        x[0], y[0], t.tensor([1.0, -1.0, 1.0, -1.0, 1.0], dtype=x.dtype), margin=0.2
    ),
}


@pytest.mark.parametrize("case", list(PAIR_LOSSES))
def test_pair_losses_match_torch(case):
    compare(PAIR_LOSSES[case], [X, Y], second=True, name=not case.startswith("cosine_emb"))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_torch(reduction):
    compare(
        lambda t, F, x, y: F.binary_cross_entropy(x, y, reduction=reduction), [P, Q], second=True
    )
    weight = RNG.uniform(0.5, 2.0, (3, 5))
    compare(
        lambda t, F, x, y, w: F.binary_cross_entropy(x, y, weight=w.detach(), reduction=reduction),
        [P, Q, weight],
    )


def test_binary_cross_entropy_clamps_log_at_the_ends():
    compare(
        lambda t, F, x, y: F.binary_cross_entropy(x, y),
        [np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.5])],
    )
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        GF.binary_cross_entropy(glassgrad.tensor([1.5]), glassgrad.tensor([1.0]))


def test_bce_with_logits_is_stable_on_huge_logits():
    logits = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    target = np.array([1.0, 0.0, 0.5, 1.0, 0.0], dtype=np.float32)
    compare(lambda t, F, x, y: F.binary_cross_entropy_with_logits(x, y), [logits, target])


def test_kl_div_mean_warns_like_torch():
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss"):
        out, _ = run("glassgrad", lambda t, F, x, y: F.kl_div(x, y), [X, P])
    expected, _ = run("torch", lambda t, F, x, y: F.kl_div(x, y), [X, P])
    np.testing.assert_allclose(out.item(), expected.item())


def test_mse_loss_broadcast_warns():
    with pytest.warns(UserWarning, match="Using a target size"):
        GF.mse_loss(glassgrad.tensor(X), glassgrad.tensor(Y[0]))
