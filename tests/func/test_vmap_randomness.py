"""vmap's randomness modes against PyTorch 2.13, op by op and with chunk_size: "error" refuses
every draw, "same" gives every sample the same draws (across chunks too) and refuses a batched
input to a sampler, "different" gives each sample its own draws and refuses an in-place fill of
a tensor that is not batched. Values differ between the libraries' generators; what each
sample gets (shared or its own), shapes and error texts must not."""

from __future__ import annotations

import warnings

import pytest
import torch

import glassgrad

OPS = {
    "randn": lambda L, t: L.randn(3) + t,
    "rand_like": lambda L, t: L.rand_like(t),
    "randn_like": lambda L, t: L.randn_like(t),
    "randint": lambda L, t: L.randint(0, 1000, (3,)) + t,
    "randperm": lambda L, t: L.randperm(3) + t,
    "normal_tensor_mean": lambda L, t: L.normal(t, 1.0),
    "normal_tensor_std": lambda L, t: L.normal(0.0, t),
    "normal_unbatched": lambda L, t: L.normal(L.ones(3), 1.0) + t,
    "bernoulli": lambda L, t: L.bernoulli(t * 0.5),
    "multinomial": lambda L, t: L.multinomial(t, 2).float(),
    "poisson": lambda L, t: L.poisson(t * 3),
    "dropout": lambda L, t: L.nn.functional.dropout(t, 0.5),
    "dropout_eval": lambda L, t: L.nn.functional.dropout(t, 0.5, training=False),
    "uniform_batched": lambda L, t: t.clone().uniform_(),
    "uniform_unbatched": lambda L, t: L.zeros(3).uniform_() + t,
    "normal_batched": lambda L, t: t.clone().normal_(),
    "bernoulli_": lambda L, t: t.clone().bernoulli_(0.5),
    "bernoulli_unbatched": lambda L, t: L.zeros(3).bernoulli_(0.5) + t,
    "exponential_": lambda L, t: t.clone().exponential_(),
    "random_": lambda L, t: t.clone().random_(0, 1000),
    "geometric_": lambda L, t: t.clone().geometric_(0.5),
    "cauchy_": lambda L, t: t.clone().cauchy_(),
    "log_normal_": lambda L, t: t.clone().log_normal_(),
    "rrelu": lambda L, t: L.nn.functional.rrelu(-t, training=True),
    "rrelu_eval": lambda L, t: L.nn.functional.rrelu(-t),
}


def _outcome(L, name, randomness, chunk_size):
    """What the samples got: (shape, whether all samples are equal), or the error."""
    L.manual_seed(0)
    f = L.func.vmap(lambda t: OPS[name](L, t), randomness=randomness, chunk_size=chunk_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = f(L.ones(4, 3))
        except Exception as error:  # noqa: BLE001 - the error is the outcome compared
            return type(error).__name__, str(error)
    return tuple(out.shape), bool((out == out[0]).all())


@pytest.mark.parametrize("chunk_size", [None, 2])
@pytest.mark.parametrize("randomness", ["error", "same", "different"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_randomness_matches_torch(name, randomness, chunk_size):
    want = _outcome(torch, name, randomness, chunk_size)
    assert _outcome(glassgrad, name, randomness, chunk_size) == want


def test_same_randomness_across_chunks_is_one_draw():
    glassgrad.manual_seed(3)
    whole = glassgrad.vmap(lambda t: glassgrad.rand(3) + t, randomness="same")(
        glassgrad.zeros(5, 3)
    )
    glassgrad.manual_seed(3)
    chunked = glassgrad.vmap(lambda t: glassgrad.rand(3) + t, randomness="same", chunk_size=2)(
        glassgrad.zeros(5, 3)
    )
    assert (whole == chunked).all()
