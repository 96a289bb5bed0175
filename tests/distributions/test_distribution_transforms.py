"""Transforms (forward, inverse, log|det J|, their gradients, shapes, domains) and the
distributions built on them (``TransformedDistribution``,
``Independent``), against PyTorch on the same values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg

_RNG = np.random.RandomState(1)
_X = _RNG.normal(size=(2, 3))
_LOWER = np.tril(_RNG.normal(size=(2, 3, 3))) + 2 * np.eye(3)
_SPD = _LOWER @ np.swapaxes(_LOWER, -1, -2)

# name: (transform builder, input for forward)
TRANSFORMS = {
    "exp": (lambda T, L: T.ExpTransform(), _X),
    "affine": (lambda T, L: T.AffineTransform(L.tensor([1.0, -2.0, 0.5]), 3.0), _X),
    "affine-event": (lambda T, L: T.AffineTransform(1.0, L.tensor([2.0, 3.0, 4.0]), 1), _X),
    "sigmoid": (lambda T, L: T.SigmoidTransform(), _X),
    "tanh": (lambda T, L: T.TanhTransform(), _X * 0.5),
    "softplus": (lambda T, L: T.SoftplusTransform(), _X),
    "power": (lambda T, L: T.PowerTransform(L.tensor(2.5)), np.abs(_X) + 0.1),
    "abs": (lambda T, L: T.AbsTransform(), _X),
    "compose": (
        lambda T, L: T.ComposeTransform([T.AffineTransform(1.0, 2.0), T.ExpTransform()]),
        _X,
    ),
    "inverse": (lambda T, L: T.ExpTransform().inv, np.abs(_X) + 0.1),
    "softmax": (lambda T, L: T.SoftmaxTransform(), _X),
    "independent": (lambda T, L: T.IndependentTransform(T.ExpTransform(), 1), _X),
}


def _outcome(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc).replace("glassgrad", "torch")


def _run(lib, name, what):
    build, data = TRANSFORMS[name]
    transform = build(lib.distributions.transforms, lib)
    x = lib.tensor(data, requires_grad=True)
    y = transform(x)
    if what == "shapes":
        shapes = (tuple(transform.forward_shape(x.shape)), tuple(transform.inverse_shape(y.shape)))
        return shapes + (transform.event_dim,), None
    if what == "domains":
        return (repr(transform.domain), repr(transform.codomain), transform.bijective), None
    if what == "inverse":
        x = y.detach().requires_grad_()
        out = transform.inv(x)
    elif what == "log_abs_det_jacobian":
        out = transform.log_abs_det_jacobian(x, y)
    else:
        out = y
    if not out.requires_grad:
        return out.detach(), None
    weights = lib.tensor(np.linspace(1, 2, out.numel())).reshape(out.shape)
    return out.detach(), lib.autograd.grad((out * weights).sum(), [x])[0]


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize(
    "what", ["forward", "inverse", "log_abs_det_jacobian", "shapes", "domains"]
)
def test_transform_against_torch(name, what):
    theirs = _outcome(lambda: _run(torch, name, what))
    ours = _outcome(lambda: _run(gg, name, what))
    if isinstance(theirs[0], str):
        assert (ours[0], ours[1].replace("glassgrad", "torch")) == theirs
        return
    for mine, other in zip(ours, theirs, strict=True):
        if isinstance(other, torch.Tensor):
            assert tuple(mine.shape) == tuple(other.shape)
            np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=1e-9, atol=1e-12)
        else:
            assert mine == other


def test_transform_equality_and_caching():
    for lib in (torch, gg):
        T = lib.distributions.transforms
        assert T.ExpTransform() == T.ExpTransform()
        assert T.ExpTransform() != T.SigmoidTransform()
        assert T.ExpTransform().inv.inv == T.ExpTransform()
        cached = T.ExpTransform(cache_size=1)
        x = lib.randn(3)
        y = cached(x)
        assert cached.inv(y) is x  # the cache hands back the very input
        with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
            T.ExpTransform(cache_size=2)


_RNG_FIXED = np.random.RandomState(2).normal(size=16) * 0.5


def test_transformed_distribution_and_independent():
    def run(lib):
        D = lib.distributions
        loc = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
        scale = lib.tensor([1.5, 0.7], dtype=lib.float64, requires_grad=True)
        base = D.Normal(loc, scale)
        flows = [D.transforms.AffineTransform(1.0, 2.0), D.transforms.TanhTransform()]
        squashed = D.TransformedDistribution(base, flows)
        y = lib.tensor([[0.3, -0.2], [0.9, 0.1]], dtype=lib.float64)
        log_prob = squashed.log_prob(y)
        lognormal = D.TransformedDistribution(base, [D.transforms.ExpTransform()])
        joint = D.Independent(base, 1)
        cdf = lognormal.cdf(lib.tensor([0.5, 2.0], dtype=lib.float64))
        total = log_prob.sum() + joint.log_prob(y).sum() + cdf.sum() + joint.entropy()
        grads = lib.autograd.grad(total, [loc, scale])
        return (
            log_prob.detach().numpy().round(10).tolist(),
            tuple(squashed.sample((3,)).shape),
            tuple(joint.batch_shape),
            tuple(joint.event_shape),
            joint.mean.detach().numpy().tolist(),
            cdf.detach().numpy().round(10).tolist(),
            lognormal.icdf(lib.tensor([0.2], dtype=lib.float64))
            .detach()
            .numpy()
            .round(10)
            .tolist(),
            [g.numpy().round(10).tolist() for g in grads],
            repr(squashed.support).replace("glassgrad", "torch"),
            squashed.has_rsample,
            repr(joint).replace("glassgrad", "torch"),
            tuple(joint.expand((4,)).batch_shape),
        )

    assert run(gg) == run(torch)


def test_tanh_squashed_policy_gradient():
    """The SAC policy: rsample through a TanhTransform, its log_prob, gradients to loc/scale."""

    def run(lib):
        D = lib.distributions
        lib.manual_seed(0)
        loc = lib.zeros(3, dtype=lib.float64, requires_grad=True)
        log_std = lib.full((3,), -0.5, dtype=lib.float64, requires_grad=True)
        policy = D.TransformedDistribution(
            D.Normal(loc, log_std.exp()), [D.transforms.TanhTransform(cache_size=1)]
        )
        action = policy.rsample()
        log_prob = policy.log_prob(action).sum()
        grads = lib.autograd.grad(log_prob + action.sum(), [loc, log_std])
        return (
            tuple(action.shape),
            [tuple(g.shape) for g in grads],
            bool(lib.isfinite(grads[0]).all()),
        )

    assert run(gg) == run(torch)
