"""``torch.random`` against PyTorch: the state tensors' type, size and seed bytes, the round trip
restoring the stream, ``Generator`` state, pickling and cloning, ``fork_rng`` and the errors.

glassgrad's stream is its own (not PyTorch's Mersenne Twister), so the bytes after the seed are
not compared; that the state restores the stream is checked in each library."""

from __future__ import annotations

import pickle

import pytest
import torch

import glassgrad as gg

LIBS = [pytest.param(torch, id="torch"), pytest.param(gg, id="glassgrad")]


def _outcome(fn):
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc)
    if hasattr(value, "dtype"):
        return str(value.dtype), tuple(value.shape)
    return value


def _same(call):
    assert _outcome(lambda: call(gg)) == _outcome(lambda: call(torch))


def test_the_module_has_pytorchs_names():
    public = {name for name in dir(torch.random) if not name.startswith("_")}
    public -= {"TYPE_CHECKING", "contextlib", "torch", "warnings"}  # (its imports)
    assert public <= set(dir(gg.random))
    assert gg.random.default_generator is gg.default_generator
    assert gg.random.Generator is gg.Generator


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3, 2**64 - 1, -1, -(2**63), 1.5, "3"])
def test_state_tensor_carries_the_seed(seed):
    def call(lib):
        lib.random.manual_seed(seed)
        state = lib.random.get_rng_state()
        return (
            str(state.dtype),
            tuple(state.shape),
            state.requires_grad,
            state[:8].view(lib.int64).item(),
            lib.random.initial_seed(),
        )

    assert call(gg) == call(torch)


@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1])
def test_seed_out_of_range(seed):
    _same(lambda L: L.random.manual_seed(seed))
    _same(lambda L: L.Generator().manual_seed(seed))


@pytest.mark.parametrize("lib", LIBS)
def test_round_trip_restores_the_stream(lib):
    lib.manual_seed(3)
    lib.rand(5)
    state = lib.random.get_rng_state()
    first = (lib.rand(4), lib.randn(3), lib.randint(0, 100, (3,)), lib.randperm(5))
    lib.random.set_rng_state(state)
    again = (lib.rand(4), lib.randn(3), lib.randint(0, 100, (3,)), lib.randperm(5))
    assert all(lib.equal(a, b) for a, b in zip(first, again, strict=True))
    assert lib.initial_seed() == 3
    state[8:] = 0  # the returned tensor is a copy: changing it changes nothing
    assert not lib.equal(state, lib.get_rng_state())


@pytest.mark.parametrize("lib", LIBS)
def test_state_restores_the_initial_seed(lib):
    lib.manual_seed(11)
    state = lib.get_rng_state()
    lib.manual_seed(12)
    lib.set_rng_state(state)
    assert lib.initial_seed() == 11


@pytest.mark.parametrize("lib", LIBS)
def test_generator_state_clone_and_pickle(lib):
    generator = lib.Generator().manual_seed(5)
    state = generator.get_state()
    assert (str(state.dtype), tuple(state.shape)) == (str(lib.uint8), (5056,))
    drawn = lib.randn(4, generator=generator)
    assert generator.set_state(state) is generator
    assert lib.equal(lib.randn(4, generator=generator), drawn)
    clone = generator.clone_state()
    assert clone is not generator and clone.initial_seed() == 5
    assert lib.equal(lib.rand(3, generator=clone), lib.rand(3, generator=generator))
    copied = pickle.loads(pickle.dumps(generator))
    assert lib.equal(copied.get_state(), generator.get_state())
    assert lib.equal(lib.rand(3, generator=copied), lib.rand(3, generator=generator))
    other = lib.Generator()
    other.set_state(lib.get_rng_state())  # the default generator's state fits any generator
    assert other.initial_seed() == lib.initial_seed()


BAD_STATES = {
    "short": lambda L: L.zeros(10, dtype=L.uint8),
    "float": lambda L: L.zeros(5056),
    "list": lambda L: [1, 2],
    "zeros": lambda L: L.zeros(5056, dtype=L.uint8),
    "none": lambda L: None,
}


@pytest.mark.parametrize("name", sorted(BAD_STATES))
def test_bad_states(name):
    _same(lambda L: L.random.set_rng_state(BAD_STATES[name](L)))
    _same(lambda L: L.Generator().set_state(BAD_STATES[name](L)))


@pytest.mark.parametrize("lib", LIBS)
def test_fork_rng_restores(lib):
    lib.manual_seed(0)
    with lib.random.fork_rng():
        inside = lib.rand(3)
    assert lib.equal(lib.rand(3), inside)
    with lib.random.fork_rng(devices=[]):
        lib.rand(3)
        lib.manual_seed(99)
    assert lib.initial_seed() == 0
    with lib.random.fork_rng(enabled=False):
        lib.manual_seed(42)
    assert lib.initial_seed() == 42
    with pytest.raises(KeyError), lib.random.fork_rng():  # restored when the body raises
        lib.manual_seed(7)
        raise KeyError
    assert lib.initial_seed() == 42

    @lib.random.fork_rng()
    def draw():
        return lib.rand(2)

    assert lib.equal(draw(), draw())


FORKS = {
    "cuda-device": {"devices": [0]},
    "cuda-generator-devices": {"devices": iter([])},
    "mps-device": {"device_type": "mps", "devices": [0]},
    "mps-all": {"device_type": "mps"},
    "unknown": {"device_type": "foo"},
    "meta": {"device_type": "meta", "devices": [0]},
    "disabled": {"enabled": False, "devices": [0]},
}


@pytest.mark.parametrize("name", sorted(FORKS))
def test_fork_rng_devices(name):
    def call(lib):
        with lib.random.fork_rng(**FORKS[name]):
            return "ran"

    _same(call)


def test_seed_and_thread_safe_generator():
    for lib in (torch, gg):
        value = lib.random.seed()
        assert isinstance(value, int) and 0 <= value < 2**64
        assert lib.random.initial_seed() == value
        assert lib.random.thread_safe_generator() is None  # outside any worker
