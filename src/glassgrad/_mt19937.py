"""PyTorch's CPU random stream: a 32-bit Mersenne Twister seeded as c10's ``mt19937``, and
``TorchStream``, the NumPy Generator on it that glassgrad's generators (``_random``) draw from,
with PyTorch's kernels' transformations (``rand``, ``randn``, ``randint``, ``randperm``...).
"""

from __future__ import annotations

import math

import numpy as np

_STATE_N = 624
_SMALL_N = 0xFFFFFFFF // 20  # below this, PyTorch's randperm swaps with random() % (n - i)


def mt19937(seed: int) -> np.random.MT19937:
    """A Mersenne Twister in the state ``torch.Generator().manual_seed(seed)`` leaves c10's."""
    key = np.empty(_STATE_N, dtype=np.uint32)
    word = int(seed) & 0xFFFFFFFF  # c10 seeds the twister with the seed's low 32 bits
    key[0] = word
    for index in range(1, _STATE_N):
        word = (1812433253 * (word ^ (word >> 30)) + index) & 0xFFFFFFFF
        key[index] = word
    engine = np.random.MT19937()
    engine.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _STATE_N}}
    return engine


def randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``."""
    return _randperm_with(TorchStream(seed), n)


# mantissa bits of each draw: doubles take 53 (from two words), the others a float's 24
_DIGITS = {"float64": 53, "float32": 24, "float16": 24, "bfloat16": 24}


class TorchStream(np.random.Generator):
    """A NumPy Generator on PyTorch's Mersenne Twister whose uniform, normal, integer,
    exponential, geometric and Cauchy draws are PyTorch's CPU kernels' (``rand``, ``uniform_``,
    ``randn``, ``normal_``, ``randint``, ``random_``, ``randperm``, ``exponential_``, ...): the
    same values for the same seed. Other samplers (gamma, Poisson, binomial) run NumPy's
    algorithms on the same stream, so their values are not PyTorch's."""

    def __init__(self, seed: int) -> None:
        super().__init__(mt19937(seed))
        self.normal_cache = None  # PyTorch's cached second Box-Muller draw (a double)

    def words(self, count: int) -> np.ndarray:
        """``count`` 32-bit draws (``random()`` in PyTorch), as uint64."""
        return self.bit_generator.random_raw(count)

    def words64(self, count: int) -> np.ndarray:
        """``count`` 64-bit draws (``random64()``: the first word is the high half)."""
        pairs = self.bit_generator.random_raw(2 * count).reshape(count, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    def unit(self, count: int, digits: int) -> np.ndarray:
        """PyTorch's ``uniform_real_distribution`` draws in [0, 1) of a type with ``digits``
        mantissa bits, as float64 (exact)."""
        raw = self.words64(count) if digits > 32 else self.words(count)
        return (raw & np.uint64((1 << digits) - 1)).astype(np.float64) * 2.0**-digits

    # -- the NumPy methods the samplers call, with PyTorch's algorithms ----------------------
    def random(self, size=None, dtype=np.float64, out=None):
        shape, count = _shape(size)
        values = self.unit(count, _digits(dtype)).reshape(shape)
        return values[()] if size is None else values.astype(dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        shape, count = _shape(size)
        kind = np.dtype(dtype)
        low_t, high_t = kind.type(low), kind.type(high)
        span = np.float64(high_t - low_t)  # PyTorch subtracts in the tensor's type
        values = self.unit(count, _digits(dtype)).reshape(shape) * span + np.float64(low_t)
        return values[()] if size is None else values

    def standard_normal(self, size=None, dtype=np.float64, out=None, contiguous=True):
        return self.normal(0.0, 1.0, size, dtype=dtype, contiguous=contiguous)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=np.float64, contiguous=True):
        shape, count = _shape(size)
        kind = np.dtype(dtype)
        if count >= 16 and contiguous:
            values = self._normal_fill(count, kind, loc, scale)
        else:
            values = np.array([self._normal_double() for _ in range(count)], dtype=np.float64)
            values = values * scale + loc
        values = values.reshape(shape)
        return values[()] if size is None else values

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        if high is None:
            low, high = 0, low
        span = int(high) - int(low) + (1 if endpoint else 0)
        shape, count = _shape(size)
        raw = self.words64(count) if span >= 1 << 32 else self.words(count)
        values = (raw % np.uint64(span)).astype(np.int64) + int(low)
        values = values.reshape(shape).astype(dtype)
        return values[()] if size is None else values

    def permutation(self, x):
        if isinstance(x, (int, np.integer)):
            return np.array(_randperm_with(self, int(x)), dtype=np.int64)
        array = np.asarray(x)
        return array[_randperm_with(self, len(array))]

    def standard_exponential(self, size=None, dtype=np.float64, method="zig", out=None):
        shape, count = _shape(size)
        values = -np.log1p(-self.unit(count, 53)).reshape(shape)
        return values[()] if size is None else values

    def geometric(self, p, size=None):
        shape, count = _shape(size)
        values = np.ceil(np.log(self.unit(count, 53)) / np.log1p(-p)).reshape(shape)
        return values[()] if size is None else values

    def standard_cauchy(self, size=None):
        shape, count = _shape(size)
        values = np.tan(math.pi * (self.unit(count, 53) - 0.5)).reshape(shape)
        return values[()] if size is None else values

    # -- PyTorch's normal kernels ------------------------------------------------------------
    def _normal_double(self) -> float:
        """``at::normal_distribution<double>``: Box-Muller on two double draws, the second
        result cached in the generator for the next call."""
        if self.normal_cache is not None:
            value, self.normal_cache = self.normal_cache, None
            return value
        first, second = self.unit(2, 53)
        radius = math.sqrt(-2.0 * math.log1p(-second))
        theta = 2.0 * math.pi * first
        self.normal_cache = radius * math.sin(theta)
        return radius * math.cos(theta)

    def _normal_fill(self, count: int, kind: np.dtype, loc, scale) -> np.ndarray:
        """``normal_fill``: uniform draws stored in the tensor's type, turned into normals 16 at
        a time (8 cosines, then 8 sines); a ragged end redraws and refills the last 16."""
        data = self.unit(count, _digits(kind)).astype(kind)
        whole = count - count % 16
        data[:whole] = _fill16(data[:whole].reshape(-1, 16), kind, loc, scale).reshape(-1)
        if count % 16:
            tail = self.unit(16, _digits(kind)).astype(kind).reshape(1, 16)
            data[count - 16 :] = _fill16(tail, kind, loc, scale).reshape(-1)
        return data.astype(np.float64)


def _fill16(blocks: np.ndarray, kind: np.dtype, loc, scale) -> np.ndarray:
    """``normal_fill_16``: the named intermediates are stored in the tensor's type (half types
    compute each step in float, as c10::Half does). For float32 PyTorch runs a vectorised form
    whose log/sin/cos may differ from NumPy's in the last bit."""
    work = np.float64 if kind == np.float64 else np.float32
    u1 = (work(1) - blocks[:, :8].astype(work)).astype(kind).astype(work)
    u2 = blocks[:, 8:].astype(work)
    radius = np.sqrt(work(-2) * np.log(u1)).astype(kind).astype(work)
    if kind == np.float32:  # PyTorch's AVX2 kernel multiplies by a float 2*pi
        theta = np.float32(2.0 * math.pi) * u2
    else:
        theta = (2.0 * math.pi * u2.astype(np.float64)).astype(kind).astype(work)
    scale, loc = work(kind.type(scale)), work(kind.type(loc))
    return np.concatenate(
        [radius * np.cos(theta) * scale + loc, radius * np.sin(theta) * scale + loc], axis=1
    ).astype(kind)


def _digits(dtype) -> int:
    return _DIGITS.get(np.dtype(dtype).name, 53)


def _shape(size):
    if size is None:
        return (), 1
    shape = (int(size),) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    return shape, int(np.prod(shape, dtype=np.int64))


def _randperm_with(stream: TorchStream, n: int) -> list:
    """PyTorch's CPU ``randperm`` drawing from ``stream``."""
    perm = list(range(n))
    if n < 2:
        return perm
    if n < _SMALL_N:
        steps = stream.words(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
        for index, step in enumerate(steps.tolist()):
            other = index + step
            perm[index], perm[other] = perm[other], perm[index]
        return perm
    draws = stream.words(2 * n).reshape(n, 2)
    for index, (high, low) in enumerate(draws.tolist()):
        other = ((high << 32) | low) % (index + 1)
        perm[index] = perm[other]
        perm[other] = index
    return perm
