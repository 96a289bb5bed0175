"""glassgrad's generator is PyTorch's: after the same ``manual_seed`` the uniform, normal,
integer, exponential, geometric and Cauchy samplers, ``multinomial``, the weight initialisers,
the samplers of a DataLoader and the distributions built on them give PyTorch's numbers, and the
generator states are PyTorch's bytes. (Not matched: Bernoulli with a number p and dropout,
which PyTorch draws through MKL, and the gamma, Poisson and binomial samplers.)

Exact equality is asserted except where PyTorch's float32 normal kernel (vectorised log, sin and
cos) may differ from NumPy's functions in the last bit: there, to 1e-6."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg

EXACT = {
    "rand": lambda L: L.rand(3, 4),
    "rand-float64": lambda L: L.rand(5, dtype=L.float64),
    "rand-float16": lambda L: L.rand(5, dtype=L.float16),
    "rand_like": lambda L: L.rand_like(L.zeros(3, 2)),
    "randn-small": lambda L: L.randn(2, 3),
    "randn-one-after-three": lambda L: (L.randn(3), L.randn(1))[1],  # the cached Box-Muller draw
    "randn-float64": lambda L: L.randn(33, dtype=L.float64),
    "randn-half-small": lambda L: L.randn(5, dtype=L.float16),
    "randint": lambda L: L.randint(0, 7, (10,)),
    "randint-negative-low": lambda L: L.randint(-3, 100, (4, 3)),
    "randint-wide": lambda L: L.randint(0, 2**40, (3,)),
    "randint_like": lambda L: L.randint_like(L.zeros(5), 10),
    "randperm": lambda L: L.randperm(12),
    "randperm-generator": lambda L: L.randperm(7, generator=L.Generator().manual_seed(4)),
    "uniform_": lambda L: L.empty(4, 3).uniform_(-2, 3),
    "uniform_-transposed": lambda L: L.empty(4, 5).t().uniform_(),
    "normal_-small": lambda L: L.empty(4, 3).normal_(1, 2),
    "normal_-strided": lambda L: L.empty(20, 2)[:, 0].normal_(),
    "normal-tensors": lambda L: L.normal(L.zeros(3), L.ones(3) * 2),
    "normal-tensor-mean": lambda L: L.normal(L.arange(5.0), 0.5),
    "normal-tensor-std": lambda L: L.normal(1.0, L.ones(4)),
    "normal-numbers": lambda L: L.normal(1.0, 3.0, (3,)),
    "bernoulli-tensor": lambda L: L.bernoulli(L.full((3, 4), 0.4)),
    "bernoulli_-tensor": lambda L: L.zeros(5).bernoulli_(L.full((5,), 0.3)),
    "multinomial-replacement": lambda L: L.multinomial(
        L.tensor([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]), 5, True
    ),
    "multinomial-one": lambda L: L.multinomial(L.tensor([0.2, 0.3, 0.5]), 1),
    "multinomial-no-replacement": lambda L: L.multinomial(
        L.tensor([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]), 2
    ),
    "exponential_": lambda L: L.empty(5).exponential_(2.5),
    "geometric_": lambda L: L.empty(6).geometric_(0.3),
    "cauchy_": lambda L: L.empty(5, dtype=L.float64).cauchy_(1.0, 2.0),
    "log_normal_": lambda L: L.empty(40).log_normal_(1.0, 0.5),
    "random_-range": lambda L: L.zeros(4).random_(0, 10),
    "random_-to": lambda L: L.zeros(4, dtype=L.int64).random_(20),
    "random_-float": lambda L: L.zeros(4).random_(),
    "Linear": lambda L: L.nn.Linear(5, 3).weight,
    "Conv2d": lambda L: L.nn.Conv2d(3, 4, 3).bias,
    "LSTM": lambda L: L.nn.LSTM(4, 3).weight_hh_l0,
    "kaiming_normal_": lambda L: L.nn.init.kaiming_normal_(L.empty(3, 4)),
    "trunc_normal_-narrow": lambda L: L.nn.init.trunc_normal_(L.empty(50), a=-0.1, b=0.1),
    "RandomSampler": lambda L: L.tensor(list(L.utils.data.RandomSampler(range(10)))),
    "DataLoader-shuffle": lambda L: L.cat(
        list(L.utils.data.DataLoader(L.arange(10), batch_size=4, shuffle=True))
    ),
    "Normal.sample": lambda L: L.distributions.Normal(L.zeros(3), L.ones(3)).sample((2,)),
    "Normal.rsample": lambda L: L.distributions.Normal(L.zeros(3), L.ones(3)).rsample((2,)),
    "Uniform.sample": lambda L: L.distributions.Uniform(L.zeros(3), L.ones(3)).sample((2,)),
    "Bernoulli.sample": lambda L: L.distributions.Bernoulli(L.full((3,), 0.3)).sample((4,)),
    "Categorical.sample": lambda L: L.distributions.Categorical(L.tensor([0.2, 0.3, 0.5])).sample(
        (6,)
    ),
    "Categorical.sample-one": lambda L: L.distributions.Categorical(
        logits=L.tensor([0.2, 0.3, 0.5])
    ).sample(),
    "Categorical.sample-batch": lambda L: L.distributions.Categorical(
        logits=L.tensor(np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6))
    ).sample(),
    "OneHotCategorical.sample": lambda L: L.distributions.OneHotCategorical(
        L.tensor([0.2, 0.3, 0.5])
    ).sample((4,)),
    "Exponential.sample": lambda L: L.distributions.Exponential(L.ones(3) * 2).sample((2,)),
    "MultivariateNormal.sample": lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.eye(2)
    ).sample((3,)),
}
CLOSE = {
    "randn-large": lambda L: L.randn(5, 7),
    "randn_like": lambda L: L.randn_like(L.zeros(20)),
    "normal_-large": lambda L: L.empty(40).normal_(1, 2),
    "normal-numbers-large": lambda L: L.normal(1.0, 3.0, (30,)),
    "Embedding": lambda L: L.nn.Embedding(10, 4).weight,
    "xavier_normal_": lambda L: L.nn.init.xavier_normal_(L.empty(6, 5)),
    "trunc_normal_": lambda L: L.nn.init.trunc_normal_(L.empty(6, 5), std=0.02),
    "orthogonal_": lambda L: L.nn.init.orthogonal_(L.empty(4, 5)),
    "LogNormal.sample": lambda L: L.distributions.LogNormal(L.zeros(3), L.ones(3)).sample(),
    "Laplace.sample": lambda L: L.distributions.Laplace(L.zeros(3), L.ones(3)).sample((2,)),
}


def _run(lib, make, seed):
    lib.manual_seed(seed)
    values = make(lib).detach().numpy()
    return values, lib.rand(2).numpy()  # the stream goes on from the same place


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("name", sorted(EXACT))
def test_same_numbers_as_torch(name, seed):
    ours, ours_next = _run(gg, EXACT[name], seed)
    theirs, theirs_next = _run(torch, EXACT[name], seed)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours_next, theirs_next)


@pytest.mark.parametrize("name", sorted(CLOSE))
def test_float32_normals_to_the_last_bit(name):
    ours, ours_next = _run(gg, CLOSE[name], 1)
    theirs, theirs_next = _run(torch, CLOSE[name], 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ours_next, theirs_next)


@pytest.mark.parametrize(
    "draw",
    [
        lambda L: None,
        lambda L: L.rand(5),
        lambda L: L.randn(3),  # leaves a cached normal in the state
        lambda L: (L.rand(700), L.randn(20)),  # past the twister's 624-word block
    ],
)
def test_states_are_pytorchs_bytes(draw):
    def state(lib):
        lib.manual_seed(42)
        draw(lib)
        return lib.get_rng_state().numpy()

    np.testing.assert_array_equal(state(gg), state(torch))


def test_states_pass_between_the_libraries():
    torch.manual_seed(5)
    torch.rand(3)
    torch.randn(1)
    gg.set_rng_state(gg.tensor(torch.get_rng_state().numpy()))
    assert gg.initial_seed() == torch.initial_seed()
    np.testing.assert_array_equal(gg.randn(5).numpy(), torch.randn(5).numpy())
    gg.manual_seed(9)
    gg.rand(4)
    torch.set_rng_state(torch.tensor(gg.get_rng_state().numpy()))
    np.testing.assert_array_equal(gg.rand(5).numpy(), torch.rand(5).numpy())


def test_same_model_same_loss():
    """A model built and trained after the same seed gives PyTorch's losses."""

    def losses(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 1))
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
        x, y = lib.randn(16, 4), lib.randn(16, 1)
        out = []
        for _ in range(3):
            optimizer.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
            out.append(loss.item())
        return out

    np.testing.assert_allclose(losses(gg), losses(torch), rtol=1e-5)
