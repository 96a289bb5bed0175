"""``kl_divergence`` for every pair PyTorch registers, on the same parameters: values to 1e-9,
gradients to 1e-7, errors by type and text; ``register_kl`` dispatch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.distributions.cases import CASES, build

import glassgrad as gg

# the first case of each class, so its batch shape is the class's usual one
_BY_CLASS: dict = {}
for _name in CASES:
    _BY_CLASS.setdefault(_name.split("-")[0], _name)
# cases whose parameters broadcast against each other (batch (4,)), for cross-class pairs
_PAIRS = sorted(
    {
        (p.__name__, q.__name__)
        for p, q in torch.distributions.kl._KL_REGISTRY
        if p.__name__ in _BY_CLASS
        and q.__name__ in _BY_CLASS
        and (getattr(gg.distributions, p.__name__), getattr(gg.distributions, q.__name__))
        in gg.distributions.kl._REGISTRY
    }
)


def _outcome(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc).replace("glassgrad", "torch")


def _kl(lib, p_name, q_name):
    p, p_leaves = build(lib, _BY_CLASS[p_name])
    q, q_leaves = build(lib, _BY_CLASS[q_name])
    q_leaves = [leaf for leaf in q_leaves if all(leaf is not other for other in p_leaves)]
    return lib.distributions.kl_divergence(p, q), p_leaves + q_leaves


def test_the_pairs_are_many():
    assert len(_PAIRS) >= 15


@pytest.mark.parametrize(("p_name", "q_name"), _PAIRS)
def test_kl_against_torch(p_name, q_name):
    with np.errstate(all="ignore"):
        theirs = _outcome(lambda: _kl(torch, p_name, q_name))
        ours = _outcome(lambda: _kl(gg, p_name, q_name))
    if isinstance(theirs[0], str):
        assert ours == theirs
        return
    (their_kl, their_leaves), (our_kl, our_leaves) = theirs, ours
    assert tuple(our_kl.shape) == tuple(their_kl.shape)
    np.testing.assert_allclose(our_kl.detach().numpy(), their_kl.detach().numpy(), rtol=1e-9)
    if their_kl.grad_fn is None or not np.all(np.isfinite(their_kl.detach().numpy())):
        return
    their_grads = torch.autograd.grad(their_kl.sum(), their_leaves, allow_unused=True)
    our_grads = gg.autograd.grad(our_kl.sum(), our_leaves, allow_unused=True)
    for mine, other in zip(our_grads, their_grads, strict=True):
        assert (mine is None) == (other is None)
        if other is not None:
            np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=1e-7, atol=1e-9)


def test_register_kl_dispatch_and_ambiguity():
    for lib in (torch, gg):
        D = lib.distributions

        class MyNormal(D.Normal):
            pass

        @D.register_kl(MyNormal, D.Normal)
        def _kl_mine(p, q, lib=lib):
            return lib.zeros(p.batch_shape)

        p = MyNormal(lib.zeros(2), lib.ones(2))
        q = D.Normal(lib.ones(2), lib.ones(2))
        assert D.kl_divergence(p, q).tolist() == [0.0, 0.0]
        assert D.kl_divergence(q, p).tolist() == [0.5, 0.5]  # the Normal-Normal rule


def test_kl_of_an_unregistered_pair_is_pytorchs_error():
    def call(lib):
        D = lib.distributions
        return _outcome(lambda: D.kl_divergence(D.Categorical(lib.ones(3) / 3), D.Normal(0.0, 1.0)))

    assert call(gg) == call(torch)
