"""The random generator (``manual_seed``, ``Generator``) and the random factories (``rand``,
``randn``, ``randint``, ``randperm`` and their ``_like`` forms).

The generator is PyTorch's CPU generator: for a seed, ``rand``, ``randn``, ``randint`` and
``randperm`` give PyTorch's numbers, and states pass between the two libraries.
"""

from __future__ import annotations

import numpy as np

from glassgrad import backend as _backend
from glassgrad import dtypes as _dt
from glassgrad._batched import ACTIVE as _ACTIVE
from glassgrad._batched import vmap_rng as _vmap_rng
from glassgrad._device import check_factory as _check_device
from glassgrad._mt19937 import TorchStream
from glassgrad._out_arg import takes_out
from glassgrad._tensor_data import (
    _check_count,
    _finish,
    _like,
    _not_implemented,
    _size,
    _size_args,
    _type_name,
)
from glassgrad.backend import allocating as _allocating

_NO_CUDA_GENERATOR = (
    "Cannot get CUDA generator without ATen_cuda library. PyTorch splits its backend into two "
    "shared libraries: a CPU library and a CUDA library; this error has occurred because you are "
    "trying to use some CUDA functionality, but the CUDA library has not been loaded by the "
    "dynamic linker for some reason.  The CUDA library MUST be loaded, EVEN IF you don't directly "
    "use any symbols from the CUDA library! One common culprit is a lack of -Wl,--no-as-needed in "
    "your link arguments; many dynamic linkers will delete dynamic library dependencies if you "
    "don't depend on any of their symbols.  You can check if this has occurred by using ldd on "
    "your binary to see if there is a dependency on *_cuda.so library."
)


class Generator:
    """A seeded random stream: PyTorch's CPU generator (its Mersenne Twister, seeded as
    PyTorch seeds it), so ``rand``, ``randn``, ``randint``, ``randperm`` and the uniform and
    normal fills give PyTorch's numbers for a seed (see ``_mt19937.TorchStream``)."""

    def __init__(self, device="cpu") -> None:
        from glassgrad._device import _as_device

        name = _as_device(device).type
        if name == "cuda":
            raise RuntimeError(_NO_CUDA_GENERATOR)
        if name == "mps":
            raise RuntimeError("Cannot execute getNewGenerator() without MPS backend.")
        self.device = _as_device("cpu")
        self._seed = 67280421310721
        self._rng = TorchStream(self._seed)

    def manual_seed(self, seed) -> Generator:
        """Reset the stream to ``seed`` and return the generator."""
        seed = _seed_value(seed)
        self._seed = seed
        self._rng = TorchStream(seed)
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source and return the seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy) & ((1 << 63) - 1))._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator's state: a ``uint8`` tensor laid out as PyTorch's
        ``CPUGeneratorImplState`` (5056 bytes), so states pass between the two libraries."""
        state = self._rng.bit_generator.state["state"]
        position = int(state["pos"])
        data = np.zeros(_STATE_BYTES, dtype=np.uint8)
        data[0:8] = np.array([self._seed], dtype=np.uint64).view(np.uint8)
        # left (draws until the twister regenerates, plus one), seeded, next
        data[8:16] = np.array([_STATE_N + 1 - position, 1], dtype=np.int32).view(np.uint8)
        # PyTorch counts 0 drawn right after seeding, 624 at the end of a block (both regenerate)
        fresh = position == _STATE_N and np.array_equal(state["key"], _seeded_key(self._seed))
        data[16:24] = np.array([0 if fresh else position], dtype=np.uint64).view(np.uint8)
        data[24:5016] = state["key"].astype(np.uint64).view(np.uint8)
        cache = self._rng.normal_cache
        data[5024:5032] = np.array([cache or 0.0], dtype=np.float64).view(np.uint8)
        data[5040:5044] = np.array([cache is not None], dtype=np.int32).view(np.uint8)
        return _finish(data, False)

    def set_state(self, new_state) -> Generator:
        """Restore a state ``get_state`` (here or in PyTorch) returned, with PyTorch's checks."""
        data = _state_bytes(new_state)
        left, seeded = data[8:16].view(np.int32).tolist()
        position = int(data[16:24].view(np.uint64)[0])
        if not (1 <= left <= _STATE_N and position <= _STATE_N and seeded):
            raise RuntimeError("Invalid mt19937 state")
        stream = TorchStream(0)
        key = data[24:5016].view(np.uint64).astype(np.uint32)
        stream.bit_generator.state = {
            "bit_generator": "MT19937",
            "state": {"key": key, "pos": _STATE_N if left == 1 else position},
        }
        if data[5040:5044].view(np.int32)[0]:
            stream.normal_cache = float(data[5024:5032].view(np.float64)[0])
        self._seed = int(data[0:8].view(np.uint64)[0])
        self._rng = stream
        return self

    def clone_state(self) -> Generator:
        """A new generator in this one's state."""
        clone = Generator()
        return clone.set_state(self.get_state())

    def __getstate__(self):
        return {"state": self.get_state()._data.copy()}

    def __setstate__(self, state) -> None:
        self.device = _as_cpu()
        self.set_state(_finish(state["state"], False))


_STATE_BYTES = 5056  # sizeof(CPUGeneratorImplState)
_STATE_N = 624  # the twister's words


def _seeded_key(seed: int) -> np.ndarray:
    from glassgrad._mt19937 import mt19937

    return mt19937(seed).state["state"]["key"]


def _as_cpu():
    from glassgrad._device import _as_device

    return _as_device("cpu")


def _seed_value(seed) -> int:
    """PyTorch's reading of a seed: an integer in [-2**63, 2**64), negatives wrapped."""
    seed = int(seed)
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed & ((1 << 64) - 1)


def _state_bytes(state) -> np.ndarray:
    """The bytes of a state tensor, with PyTorch's errors for anything else."""
    from glassgrad.tensor import Tensor

    if not isinstance(state, Tensor):
        raise TypeError(f"expected a torch.ByteTensor, but got {type(state).__name__}")
    if state._data.dtype != np.uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    if state.numel() != _STATE_BYTES:
        raise RuntimeError(
            f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but found the input RNG "
            f"state size to be {state.numel()}"
        )
    return np.ascontiguousarray(state._data).reshape(-1)


default_generator = Generator()


def manual_seed(seed) -> Generator:
    """Seed glassgrad's default generator."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state, a ``uint8`` tensor (see ``Generator.get_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator to a state ``get_rng_state`` returned."""
    default_generator.set_state(new_state)


def _rng(generator):
    rng = (generator or default_generator)._rng
    if _ACTIVE.levels:  # under vmap: its randomness mode decides (_batched.vmap_rng)
        return _vmap_rng(rng)
    return rng


def _random_float(dtype, kernel: str) -> np.dtype:
    """The dtype of a float sampler; integer and bool dtypes are PyTorch's NotImplementedError."""
    target = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if not target.is_floating_point:
        raise _not_implemented(kernel, target)
    return target.np


@_allocating
def rand(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples from [0, 1)."""
    _check_device(device)
    target = _random_float(dtype, "check_uniform_bounds")
    shape = _size_args("rand", args, size)
    data = _draw(lambda: _rng(generator).random(shape, dtype=target), shape, target)
    return _finish(data, requires_grad)


@_allocating
def randn(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    _check_device(device)
    if dtype is not None and _dt.to_dtype(dtype).is_complex:
        # PyTorch draws the real and imaginary parts as pairs of normals with variance 1/2
        shape = _size_args("randn", args, size)
        real = _dt.to_dtype(dtype).to_real()
        pairs = randn(*shape, 2, generator=generator, dtype=_dt.float64)._data * 0.5**0.5
        data = pairs.astype(real.np).view(_dt.to_dtype(dtype).np)[..., 0]
        return _finish(data, requires_grad)
    target = _random_float(dtype, "normal_kernel_cpu")
    shape = _size_args("randn", args, size)
    data = _draw(lambda: _rng(generator).standard_normal(shape, dtype=target), shape, target)
    return _finish(data, requires_grad)


def _draw(sample, shape, target) -> np.ndarray:
    """``sample()`` (float64 draws) cast to ``target``; a refused allocation raises PyTorch's
    error with the size of the ``target`` tensor PyTorch would have allocated."""
    try:
        return sample().astype(target)
    except MemoryError:
        count = np.dtype(target).itemsize
        for size in shape:
            count *= size
        error = _backend.out_of_memory(count)
    raise error


def _randint_bounds(low, high, target: np.dtype) -> None:
    """PyTorch's checks on randint's range, in its words."""
    from glassgrad._tensor_info import _c_name

    target = np.dtype(target)
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    if target.kind in "iub":
        info = np.iinfo(target) if target.kind != "b" else np.iinfo(np.uint8)
        top = 1 if target.kind == "b" else info.max
        name = _c_name(_dt.from_numpy_dtype(target))
        if low < info.min:
            raise RuntimeError(f"from is out of bounds for {name}")
        if high - 1 > top:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")


_RANDINT_TAIL = (
    "Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, torch.device "
    "device = None, bool pin_memory = False, bool requires_grad = False)\n"
)
_RANDINT_FORMS = (
    "int high, tuple of ints size, *, torch.Generator generator, ",
    "int high, tuple of ints size, *, ",
    "int low, int high, tuple of ints size, *, torch.Generator generator, ",
    "int low, int high, tuple of ints size, *, ",
)


@_allocating
def randint(
    low=0,
    high=None,
    size=None,
    *,
    generator=None,
    dtype=None,
    device=None,
    requires_grad=False,
):
    """Uniform integers in ``[low, high)``."""
    _check_device(device)
    if high is None and size is None:
        if dtype is not None or device is not None or requires_grad or generator is not None:
            raise TypeError('randint() missing 1 required positional arguments: "size"')
        raise TypeError(
            f"randint() received an invalid combination of arguments - got ({_type_name(low)}), "
            "but expected one of:\n"
            + "".join(f" * ({form}{_RANDINT_TAIL}" for form in _RANDINT_FORMS)
        )
    if size is None:
        low, high, size = 0, low, high  # randint(high, size)
    elif high is None:
        low, high = 0, low  # randint(high, size=size)
    low = _check_count(low, "low", "randint", 1)
    high = _check_count(high, "high", "randint", 1 if low == 0 else 2)
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"randint(): argument 'size' (position 2) must be tuple of ints, not {_type_name(size)}"
        )
    target = _dt.to_dtype(dtype).np if dtype is not None else np.int64
    _randint_bounds(low, high, target)
    shape = _size((size,), "randint", 2)
    data = _rng(generator).integers(low, high, size=shape, dtype=np.int64).astype(target)
    return _finish(data, requires_grad)


@_allocating
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1``."""
    _check_device(device)
    n = _check_count(n, "n", "randperm", 1)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    target = _dt.to_dtype(dtype) if dtype is not None else _dt.int64
    if target is _dt.bool_:
        raise _not_implemented("randperm", target)
    return _finish(_rng(generator).permutation(n).astype(target.np), requires_grad)


@_allocating
def rand_like(input, *, dtype=None, generator=None, requires_grad=False, **kwargs):
    target, shape = _like(input, dtype, "rand_like")
    return rand(
        shape,
        dtype=_dt.from_numpy_dtype(target),
        generator=generator,
        requires_grad=requires_grad,
        device=kwargs.get("device") or "cpu",  # the input's device, not the default one
    )


@_allocating
def randn_like(input, *, dtype=None, generator=None, requires_grad=False, **kwargs):
    target, shape = _like(input, dtype, "randn_like")
    return randn(
        shape,
        dtype=_dt.from_numpy_dtype(target),
        generator=generator,
        requires_grad=requires_grad,
        device=kwargs.get("device") or "cpu",  # the input's device, not the default one
    )


@_allocating
def randint_like(input, low=0, high=None, *, dtype=None, requires_grad=False, **kwargs):
    target, shape = _like(input, dtype, "randint_like")
    if high is None:
        low, high = 0, low
    device = kwargs.get("device") or "cpu"  # the input's device, not the default one
    return randint(low, high, shape, dtype=_dt.from_numpy_dtype(target), device=device)


# out=: a factory takes out's dtype (unless given one) and writes into it, as PyTorch's do;
# PyTorch refuses an out that requires grad, in these words
_RESIZE_GRAD = "cannot resize variables that require grad"
_FACTORY_OUT_GRAD = {"empty": _RESIZE_GRAD, "randn": _RESIZE_GRAD}
# factories resize out silently, but arange, in its own words
_FACTORY_RESIZE = {
    "arange": "The number of elements in the out tensor of shape {old} is {old_numel} which does "
    "not match the computed number of elements {numel}. Note that this may occur as a result of "
    "rounding error. The out tensor will be resized to a tensor of shape {new}."
}
rand, randn, randint, randperm = (
    takes_out(
        f.__name__,
        f,
        "any_cast",
        dtype_from="factory",
        grad_name=None,
        out_grad_name=_FACTORY_OUT_GRAD.get(f.__name__, "aten::" + f.__name__),
        warn_resize=_FACTORY_RESIZE.get(f.__name__, False),
        write=f.__name__ != "empty",
    )
    for f in (rand, randn, randint, randperm)
)
