"""Factory functions (``tensor``, ``zeros``, ``arange``, ``randn``, ...) and the random generator.

glassgrad has its own seeded generator (``manual_seed``); its streams do not match PyTorch's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad.tensor import Size, Tensor, _make

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand",
    "randn",
    "randint",
    "rand_like",
    "randn_like",
    "randint_like",
    "randperm",
    "manual_seed",
    "seed",
    "initial_seed",
    "Generator",
    "default_generator",
    "device",
    "get_rng_state",
    "set_rng_state",
]


class device:  # noqa: N801 - PyTorch's name
    """A device description; with the NumPy backend everything lives on ``cpu``."""

    def __init__(self, type="cpu", index=None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        if ":" in str(type):
            type, index = str(type).split(":")
            index = int(index)
        self.type = str(type)
        self.index = index

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        return str(self) == str(device(other) if isinstance(other, str) else other)

    def __hash__(self) -> int:
        return hash(str(self))


class Generator:
    """A seeded random stream (NumPy's PCG64 underneath)."""

    def __init__(self, device="cpu") -> None:
        self._seed = 67280421310721
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed) -> Generator:
        """Reset the stream to ``seed`` and return the generator."""
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed & ((1 << 64) - 1)))
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source and return the seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy) & ((1 << 63) - 1))._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state) -> None:
        self._rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed) -> Generator:
    """Seed glassgrad's default generator."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def _rng(generator):
    return (generator or default_generator)._rng


# -- helpers ---------------------------------------------------------------------------------
_REQUIRES_FLOAT = "Only Tensors of floating point and complex dtype can require gradients"


def _finish(data, requires_grad):
    t = _make(data)
    if requires_grad:
        if data.dtype.kind != "f":
            raise RuntimeError(_REQUIRES_FLOAT)
        t._requires_grad = True
    return t


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) and not (isinstance(s, Tensor) and s.numel() == 1):
            raise TypeError(
                f"{'zeros'}(): argument 'size' must be tuple of ints, but found "
                f"element of type {type(s).__name__}"
            )
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(size)}: {list(size)}"
        )
    return size


def _float(dtype):
    return (_dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()).np


def _infer_dtype(data):
    """PyTorch's dtype for Python data: any float -> default float, all bool -> bool, else int64."""
    kinds = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Tensor):
            kinds.add(item._data.dtype.kind)
        elif isinstance(item, (bool, np.bool_)):
            kinds.add("b")
        elif isinstance(item, (int, np.integer)):
            kinds.add("i")
        elif isinstance(item, (float, np.floating)):
            kinds.add("f")
        elif isinstance(item, complex):
            raise TypeError("complex tensors are not supported by glassgrad")
        else:
            raise TypeError(f"Could not infer dtype of {type(item).__name__}")
    if "f" in kinds:
        return _dt.get_default_dtype().np
    if kinds <= {"b"} and kinds:
        return np.bool_
    if not kinds:
        return _dt.get_default_dtype().np
    return np.int64


def _plain(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_plain(item) for item in data]
    return data


# -- factories -------------------------------------------------------------------------------
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors)."""
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
            "rather than torch.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
        array = np.array(data._data, dtype=_dt.to_dtype(dtype).np if dtype else None)
    elif isinstance(data, np.ndarray) or isinstance(data, np.generic):
        array = np.array(data, dtype=_dt.to_dtype(dtype).np if dtype else None)
        _dt.from_numpy_dtype(array.dtype)
    else:
        target = _dt.to_dtype(dtype).np if dtype is not None else _infer_dtype(data)
        try:
            array = np.array(_plain(data), dtype=target)
        except ValueError as exc:
            raise ValueError(f"expected sequence of equal-length lists: {exc}") from None
    return _finish(array, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory with an ndarray or tensor when the dtype allows."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_dtype(dtype).np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (writes to one show in the other)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dt.from_numpy_dtype(ndarray.dtype)
    return _make(ndarray)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None) -> Tensor:
    """A tensor of zeros."""
    return _finish(np.zeros(_size(size), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None) -> Tensor:
    """A tensor of ones."""
    return _finish(np.ones(_size(size), dtype=_float(dtype)), requires_grad)


def empty(
    *size, dtype=None, device=None, requires_grad=False, out=None, layout=None, memory_format=None
) -> Tensor:
    """An uninitialised tensor (zeros here: NumPy's uninitialised memory helps no one)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype follows the value unless given)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    target = _dt.to_dtype(dtype).np if dtype is not None else _infer_dtype(fill_value)
    return _finish(
        np.full(_size((size,) if isinstance(size, int) else (size,)), fill_value, dtype=target),
        requires_grad,
    )


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    """The identity matrix (``n`` x ``m``)."""
    return _finish(np.eye(n, n if m is None else m, dtype=_float(dtype)), requires_grad)


def arange(
    start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None
) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``."""
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = values
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        is_float = any(isinstance(v, (float, np.floating)) for v in values)
        target = _dt.get_default_dtype().np if is_float else np.int64
    else:
        target = _dt.to_dtype(dtype).np
    count = max(math.ceil((end - start) / step), 0)
    data = (
        (start + step * np.arange(count, dtype=np.float64)).astype(target)
        if np.dtype(target).kind == "f" or any(isinstance(v, float) for v in values)
        else np.arange(start, end, step, dtype=target)
    )
    return _finish(data, requires_grad)


def linspace(
    start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return _finish(np.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def _like(input, dtype):
    return (_dt.to_dtype(dtype).np if dtype is not None else input._data.dtype), input._data.shape


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    """Zeros with the shape (and dtype) of ``input``."""
    target, shape = _like(input, dtype)
    return _finish(np.zeros(shape, dtype=target), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    """Ones with the shape (and dtype) of ``input``."""
    target, shape = _like(input, dtype)
    return _finish(np.ones(shape, dtype=target), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    """Like ``zeros_like`` (the memory is never left uninitialised)."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad)


def full_like(
    input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None
):
    """``fill_value`` everywhere, with the shape (and dtype) of ``input``."""
    target, shape = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dtype=target), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Uniform samples from [0, 1)."""
    target = _float(dtype)
    data = _rng(generator).random(_size(size), dtype=np.float64).astype(target)
    return _finish(data, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Standard normal samples."""
    target = _float(dtype)
    data = _rng(generator).standard_normal(_size(size), dtype=np.float64).astype(target)
    return _finish(data, requires_grad)


def randint(
    low=0,
    high=None,
    size=None,
    *,
    generator=None,
    dtype=None,
    device=None,
    requires_grad=False,
    out=None,
):
    """Uniform integers in ``[low, high)``."""
    if size is None:
        low, high, size = 0, low, high
    target = _dt.to_dtype(dtype).np if dtype is not None else np.int64
    data = _rng(generator).integers(low, high, size=_size((size,)), dtype=np.int64).astype(target)
    return _finish(data, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1``."""
    target = _dt.to_dtype(dtype).np if dtype is not None else np.int64
    return _finish(_rng(generator).permutation(n).astype(target), requires_grad)


def rand_like(input, *, dtype=None, generator=None, requires_grad=False, **kwargs):
    target, shape = _like(input, dtype)
    return rand(
        shape, dtype=_dt.from_numpy_dtype(target), generator=generator, requires_grad=requires_grad
    )


def randn_like(input, *, dtype=None, generator=None, requires_grad=False, **kwargs):
    target, shape = _like(input, dtype)
    return randn(
        shape, dtype=_dt.from_numpy_dtype(target), generator=generator, requires_grad=requires_grad
    )


def randint_like(input, low=0, high=None, *, dtype=None, requires_grad=False, **kwargs):
    target, shape = _like(input, dtype)
    return randint(low, high, shape, dtype=_dt.from_numpy_dtype(target))


def _legacy_constructor(self, args, dtype, requires_grad):
    """``torch.Tensor(data)`` (a float32 copy) or ``torch.Tensor(2, 3)`` (uninitialised)."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        data = args[0]._data if isinstance(args[0], Tensor) else _plain(args[0])
        array = np.array(data, dtype=_dt.get_default_dtype().np)
    else:
        array = np.zeros(_size(args), dtype=_dt.get_default_dtype().np)
    made = _make(array)
    for slot in Tensor.__slots__[:-1]:
        setattr(self, slot, getattr(made, slot))
    self._requires_grad = bool(requires_grad)


def _rebuild(data, requires_grad):
    return _finish(np.array(data), requires_grad)


def _new_factory(make):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
        return make(self, size, dtype if dtype is not None else self.dtype, requires_grad)

    return method


def _install_new_methods():
    """``tensor.new_zeros(2, 3)`` and friends: the tensor's dtype unless another is given."""
    Tensor.new_zeros = _new_factory(lambda t, s, d, r: zeros(*s, dtype=d, requires_grad=r))
    Tensor.new_ones = _new_factory(lambda t, s, d, r: ones(*s, dtype=d, requires_grad=r))
    Tensor.new_empty = _new_factory(lambda t, s, d, r: zeros(*s, dtype=d, requires_grad=r))

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    Tensor.new_full = new_full
    Tensor.new_tensor = new_tensor


_install_new_methods()
