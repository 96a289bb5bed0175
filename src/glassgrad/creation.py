"""Factory functions (``tensor``, ``zeros``, ``arange``, ``randn``, ...).

The random generator and factories live in _random, argument and data parsing in _tensor_data;
their names stay importable from here, where the rest of the package looks for them.
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from glassgrad import _memory_format as _mf
from glassgrad import backend as _backend
from glassgrad import dtypes as _dt
from glassgrad._batched import BatchedArray as _Batched
from glassgrad._device import check_factory as _check_device
from glassgrad._device import device
from glassgrad._out_arg import takes_out
from glassgrad._random import (  # noqa: F401
    Generator,
    _randint_bounds,
    _random_float,
    _rng,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
)
from glassgrad._sparse_data import SparseArray, not_implemented
from glassgrad._tensor_data import (  # noqa: F401
    _REQUIRES_FLOAT,
    _SEQUENCES,
    _check_count,
    _check_numpy,
    _check_range,
    _check_scalars,
    _data_shape,
    _finish,
    _flatten,
    _float,
    _from_data,
    _is_int,
    _legacy_constructor,
    _legacy_data,
    _like,
    _not_implemented,
    _scalar_dtype,
    _size,
    _size_args,
    _type_name,
    _typed_class,
    _unwrap,
)
from glassgrad.autograd import escapes as _escapes
from glassgrad.backend import allocating as _allocating
from glassgrad.tensor import Tensor, _make, tensor_method

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "logspace",
    "frombuffer",
    "hann_window",
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


# -- helpers ---------------------------------------------------------------------------------


# -- factories -------------------------------------------------------------------------------
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors)."""
    dtype = _dt.dtype_arg(dtype, "tensor")
    _check_device(device)
    if pin_memory:
        _no_pinned_memory()
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
            "rather than torch.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
        array = np.array(data._data, dtype=_dt.to_dtype(dtype).np if dtype else None)
    elif data.__class__ is _Batched:  # an op building a tensor from its batch under vmap
        array = data.astype(_dt.to_dtype(dtype).np if dtype else data.dtype)
    elif isinstance(data, np.ndarray) or isinstance(data, np.generic):
        if isinstance(data, np.ndarray):
            _check_numpy(data)
        array = np.array(data, dtype=_dt.to_dtype(dtype).np if dtype else None)
        _dt.from_numpy_dtype(array.dtype)
    else:
        array = _from_data(data, dtype)
    out = _finish(array, requires_grad)
    if isinstance(data, (Tensor, np.ndarray)):
        _escapes.on_rewrap(data, out, "torch.tensor()")
    return out


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory with an ndarray or tensor when the dtype allows."""
    if device is not None:
        _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_dtype(dtype).np == data.dtype):
        out = _make(_checked(data))
        _escapes.on_rewrap(data, out, "torch.as_tensor()")
        return out
    return tensor(data, dtype=dtype)


_READ_ONLY_WARNED = [False]


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (writes to one show in the other)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {_type_name(ndarray)})")
    out = _make(_checked(ndarray))
    _escapes.on_rewrap(ndarray, out, "torch.from_numpy()")
    return out


def _checked(ndarray: np.ndarray) -> np.ndarray:
    """``ndarray`` once its dtype is one a tensor can hold (warning if it is read-only)."""
    _check_numpy(ndarray)
    if not ndarray.flags.writeable and not _READ_ONLY_WARNED[0]:
        _READ_ONLY_WARNED[0] = True  # PyTorch says it once per process
        warnings.warn(
            "The given NumPy array is not writable, and PyTorch does not support non-writable "
            "tensors. This means writing to this tensor will result in undefined behavior. You "
            "may want to copy the array to protect its data or make it writable before "
            "converting it to a tensor. This type of warning will be suppressed for the rest of "
            "this program.",
            UserWarning,
            stacklevel=3,
        )
    return ndarray


@_allocating
def zeros(
    *args,
    size=None,
    dtype=None,
    device=None,
    requires_grad=False,
    layout=None,
    pin_memory=False,
) -> Tensor:
    """A tensor of zeros."""
    _check_device(device)
    if pin_memory:
        _no_pinned_memory()
    shape = _size_args("zeros", args, size)
    target = _float(_dt.dtype_arg(dtype, "zeros"))
    _check_bytes(shape, target)
    return _finish(np.zeros(shape, dtype=target), requires_grad)


@_allocating
def ones(
    *args,
    size=None,
    dtype=None,
    device=None,
    requires_grad=False,
    layout=None,
    pin_memory=False,
) -> Tensor:
    """A tensor of ones."""
    _check_device(device)
    if pin_memory:
        _no_pinned_memory()
    shape = _size_args("ones", args, size)
    target = _float(_dt.dtype_arg(dtype, "ones"))
    _check_bytes(shape, target)
    return _finish(np.ones(shape, dtype=target), requires_grad)


@_allocating
def empty(
    *args,
    size=None,
    dtype=None,
    device=None,
    requires_grad=False,
    layout=None,
    memory_format=None,
    pin_memory=False,
) -> Tensor:
    """An uninitialised tensor (zeros here: NumPy's uninitialised memory helps no one)."""
    _check_device(device)
    if pin_memory:
        _no_pinned_memory()
    shape = _size_args("empty", args, size)
    target = _float(_dt.dtype_arg(dtype, "empty"))
    _check_bytes(shape, target)
    data = np.zeros(shape, dtype=target)
    if memory_format is not None:
        data = _mf.arrange(data, _mf.check(memory_format, "empty"), copy=False)
    return _finish(data, requires_grad)


def _fill_dtype(fill_value):
    """``full``'s dtype from its value: bool, int64 or the default float, as PyTorch infers."""
    if isinstance(fill_value, (bool, np.bool_)):
        return np.bool_
    if isinstance(fill_value, (int, np.integer)):
        return np.int64
    if isinstance(fill_value, (float, np.floating)):
        return _dt.get_default_dtype().np
    if isinstance(fill_value, (complex, np.complexfloating)):
        return _dt.complex_seen(_dt.default_complex()).np
    raise TypeError(
        f"full(): argument 'fill_value' (position 2) must be Number, not {_type_name(fill_value)}"
    )


@_allocating
def full(
    size, fill_value, *, dtype=None, device=None, requires_grad=False, pin_memory=False
) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype follows the value unless given)."""
    _check_device(device)
    if pin_memory:
        _no_pinned_memory()
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dtype = _dt.dtype_arg(dtype, "full")
    target = dtype.np if dtype is not None else _fill_dtype(fill_value)
    if _is_int(size):
        raise TypeError(
            f"full(): argument 'size' (position 1) must be tuple of ints, not {_type_name(size)}"
        )
    shape = _size((size,), "full")
    _check_bytes(shape, target)
    return _finish(np.full(shape, fill_value, dtype=target), requires_grad)


@_allocating
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The identity matrix (``n`` x ``m``)."""
    _check_device(device)
    n = _check_count(n, "n", "eye", 1)
    m = n if m is None else _check_count(m, "m", "eye", 2)
    for name, count in (("n", n), ("m", m)):
        if count < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {count}")
    return _finish(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def _arange_bounds(start, end, step):
    """Check arange's numbers as PyTorch does and return how many values it makes."""
    if step == 0 or step != step:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start:g} -> {end:g}")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    return math.ceil((end - start) / step)


def _arange_numbers(start, end, step):
    """Plain numbers from arange's arguments, with PyTorch's TypeError for anything else."""
    named = (("start", start), ("end", end), ("step", step))
    if start is None:  # ``arange(end)``: the one argument is 'end', at position 1
        named = (("end", end),)
    for position, (name, value) in enumerate(named):
        value = value.item() if isinstance(value, Tensor) else value
        if not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"arange(): argument '{name}' (position {position + 1}) must be Number, "
                f"not {_type_name(value)}"
            )
    return [v.item() if isinstance(v, Tensor) else v for v in (start or 0, end, step)]


def _arange_integral(start, end, step, target: np.dtype) -> np.ndarray:
    """Integer arange from float arguments, as PyTorch rounds them (toward zero)."""
    if target == np.int64:
        # int64 takes the arguments as integers first, so a step below 1 is no step at all.
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
        return np.arange(start, end, step, dtype=target)
    count = _arange_bounds(start, end, step)  # the others count in double ...
    return (int(start) + int(step) * np.arange(count)).astype(target)  # ... but step in ints


@_allocating
def arange(start=None, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``."""
    _check_device(device)
    if end is None:
        start, end = None, start
    start, end, step = values = _arange_numbers(start, end, step)
    count = _arange_bounds(start, end, step)
    has_float = any(isinstance(v, (float, np.floating)) for v in values)
    if dtype is None:
        target = _dt.get_default_dtype().np if has_float else np.dtype(np.int64)
    else:
        if _dt.to_dtype(dtype) is _dt.bool_:
            raise _not_implemented("arange_cpu", _dt.bool_)
        target = _dt.to_dtype(dtype).np
    if target.kind == "f":
        # start + i * step in double, rounded once to the dtype (PyTorch's vectorised kernel
        # can differ from this in the last bit for long float ranges).
        with np.errstate(over="ignore"):  # past float16's range is inf, as there
            data = (start + step * np.arange(count, dtype=np.float64)).astype(target)
    elif has_float:
        data = _arange_integral(start, end, step, target)
    else:
        data = np.arange(start, end, step, dtype=target)
    return _finish(data, requires_grad)


def _linspace_values(start, end, steps: int, target: np.dtype) -> np.ndarray:
    """PyTorch's linspace: the first half counts up from ``start``, the second down from ``end``.

    PyTorch's kernel rounds ``step`` to the dtype and then uses fused multiply-adds, so each
    value is rounded once; wider arithmetic does the same here (``linspace(-1, 1, 7)[3]`` is
    -2.98e-08, not 0). Integer dtypes compute in double and truncate.
    """
    if target.kind == "f":
        narrow = target.type
        # float16 rounds every operation, as PyTorch's scalar half arithmetic does.
        wide = {2: np.float16, 4: np.float64}.get(target.itemsize, np.longdouble)
        start, end = narrow(start), narrow(end)
        step = wide((end - start) / narrow(max(steps - 1, 1)))
    else:
        wide = np.float64
        start, end = float(int(start)), float(int(end))
        step = (end - start) / max(steps - 1, 1)
    index = np.arange(steps).astype(wide)
    rising = wide(start) + step * index
    falling = wide(end) - step * (steps - 1 - index)
    values = np.where(index < max(steps // 2, 1), rising, falling)
    return values.astype(target) if target.kind == "f" else values.astype(np.int64).astype(target)


_LINSPACE_TAIL = (
    "int steps, *, Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False)\n"
)


def _linspace_overloads(start, end, dtype) -> TypeError:
    """PyTorch's argument parser's answer to a call no overload takes (``steps`` missing)."""
    from glassgrad._tensor_info import _type_name

    got = [_type_name(start), _type_name(end)]
    if dtype is not None:
        got.append("dtype=torch.dtype")
    forms = ("Tensor start, Tensor end", "Number start, Tensor end")
    forms += ("Tensor start, Number end", "Number start, Number end")
    return TypeError(
        f"linspace() received an invalid combination of arguments - got ({', '.join(got)}), "
        "but expected one of:\n" + "".join(f" * ({form}, {_LINSPACE_TAIL}" for form in forms)
    )


@_allocating
def linspace(start, end, steps=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps is None:
        raise _linspace_overloads(start, end, dtype)
    _check_device(device)
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(
                "linspace only supports 0-dimensional start and end tensors, but got "
                f"{name} with {value.ndim} dimension(s)."
            )
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    steps = operator.index(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    target = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if target is _dt.bool_:
        raise _not_implemented("linspace_cpu", target)
    with np.errstate(over="ignore", invalid="ignore"):  # past float16's range is inf, as there
        values = _linspace_values(start, end, steps, target.np)
    return _finish(values, requires_grad)


_BUFFER_WARNED = [False]


def frombuffer(buffer, *, dtype=None, count=-1, offset=0, requires_grad=False) -> Tensor:
    """A 1-D tensor over the memory of an object with the buffer protocol (shared: writes to
    one show in the other)."""
    if dtype is None:
        raise TypeError('frombuffer() missing 1 required positional arguments: "dtype"')
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    size = view.nbytes
    item = _dt.to_dtype(dtype).np.itemsize
    if size == 0 and count == -1 or count == 0:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if not 0 <= offset < size:
        raise ValueError(
            f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
            f"({size} bytes) minus 1"
        )
    if count == -1:
        if (size - offset) % item:
            raise ValueError(
                f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a "
                f"multiple of element size ({item})"
            )
        count = (size - offset) // item
    elif count * item > size - offset:
        raise ValueError(
            f"requested buffer length ({count} * {item} bytes) after offset ({offset} bytes) "
            f"must not be greater than actual buffer length ({size} bytes)"
        )
    array = np.frombuffer(view.cast("B"), dtype=_dt.to_dtype(dtype).np, count=count, offset=offset)
    if view.readonly and not _BUFFER_WARNED[0]:
        _BUFFER_WARNED[0] = True  # (once per process, as PyTorch says it)
        warnings.warn(
            "The given buffer is not writable, and PyTorch does not support non-writable "
            "tensors. This means you can write to the underlying (supposedly non-writable) "
            "buffer using the tensor. You may want to copy the buffer to protect its data or "
            "make it writable before converting it to a tensor. This type of warning will be "
            "suppressed for the rest of this program.",
            UserWarning,
            stacklevel=2,
        )
    out = _make(array)
    out.requires_grad_(requires_grad)
    return out


def logspace(
    start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False
) -> Tensor:
    """``steps`` values ``base ** e``, ``e`` evenly spaced from ``start`` to ``end``."""
    _check_device(device)
    start, end, base = (v.item() if isinstance(v, Tensor) else v for v in (start, end, base))
    steps = operator.index(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    chosen = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if chosen is _dt.bool_:
        raise _not_implemented("logspace_cpu", chosen)
    target = chosen.np
    # PyTorch's kernel: start, end and base in the dtype, exponents and powers in double,
    # the first half counted from start and the second from end
    start, end, base = (float(target.type(v)) for v in (start, end, base))
    index = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    exponents = np.where(index < steps // 2, start + step * index, end - step * (steps - 1 - index))
    if steps == 1:
        exponents[:] = start
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.power(base, exponents).astype(target)
    return _finish(values, requires_grad)


def hann_window(
    window_length, periodic=True, *, dtype=None, device=None, requires_grad=False
) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))`` (``periodic``: one longer, last
    point dropped), computed in the dtype step by step as PyTorch's is."""
    _check_device(device)
    target = (_dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()).np
    length = operator.index(window_length)
    if length < 0:
        raise RuntimeError(f"hann_window requires non-negative window length, got {length}")
    if length <= 1:
        return _finish(np.ones(length, dtype=target), requires_grad)
    full = length + 1 if periodic else length
    kind = target.type
    window = np.arange(full, dtype=target) * kind(np.pi * 2.0 / (full - 1))
    window = np.cos(window) * kind(-0.5) + kind(0.5)
    return _finish(window[:length].astype(target, copy=False), requires_grad)


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
zeros, ones, empty, full, eye, arange, linspace, logspace = (
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
    for f in (zeros, ones, empty, full, eye, arange, linspace, logspace)
)


@_allocating
def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    """Zeros with the shape (and dtype) of ``input``."""
    if device is not None:  # else the input's device, never the default one
        _check_device(device)
    if isinstance(input, Tensor) and input._data.__class__ is SparseArray:
        return _finish(_empty_sparse(input._data, dtype), requires_grad)
    target, shape = _like(input, dtype, "zeros_like")
    return _finish(np.zeros(shape, dtype=target), requires_grad)


@_allocating
def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    """Ones with the shape (and dtype) of ``input``."""
    if device is not None:  # else the input's device, never the default one
        _check_device(device)
    target, shape = _like(input, dtype, "ones_like")
    return _finish(np.ones(shape, dtype=target), requires_grad)


@_allocating
def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    """Like ``zeros_like`` (the memory is never left uninitialised)."""
    if device is not None:  # else the input's device, never the default one
        _check_device(device)
    if isinstance(input, Tensor) and input._data.__class__ is SparseArray:
        return _finish(_empty_sparse(input._data, dtype), requires_grad)
    target, shape = _like(input, dtype, "empty_like")
    return _finish(np.zeros(shape, dtype=target), requires_grad)


@_allocating
def full_like(
    input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None
):
    """``fill_value`` everywhere, with the shape (and dtype) of ``input``."""
    if device is not None:  # else the input's device, never the default one
        _check_device(device)
    target, shape = _like(input, dtype, "full_like")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (int, float, bool, complex, np.number, np.bool_)):
        raise TypeError(
            "full_like(): argument 'fill_value' (position 2) must be Number, not "
            f"{_type_name(fill_value)}"
        )
    return _finish(np.full(shape, fill_value, dtype=target), requires_grad)


def _no_pinned_memory():
    raise RuntimeError(
        "pin_memory=True requires a CUDA or other accelerator backend; no pinned memory "
        "allocator is available on this system."
    )


def _check_bytes(shape, target) -> None:
    """PyTorch's error for a shape whose size in bytes overflows 64 bits (NumPy's differs)."""
    count = np.dtype(target).itemsize
    for size in shape:
        count *= size
    if count >= 1 << 63:
        raise _backend.storage_overflow(shape)


def _empty_sparse(sparse: SparseArray, dtype) -> SparseArray:
    """``zeros_like`` of a sparse tensor: one of its layout and size holding nothing."""
    values = np.zeros(
        (0, *sparse.values.shape[1:]), _dt.to_dtype(dtype).np if dtype else sparse.dtype
    )
    if sparse.indices is not None:
        indices = np.zeros((sparse.sparse_dim, 0), dtype=np.int64)
        return SparseArray(sparse.layout, sparse.shape, values, indices, coalesced=True)
    compressed = np.zeros_like(sparse.compressed)
    return SparseArray(sparse.layout, sparse.shape, values, None, compressed, sparse.plain[:0])


def _rebuild(data, requires_grad):
    if data.__class__ is SparseArray:  # (a sparse tensor pickles its sparse array)
        return _finish(data, requires_grad)
    return _finish(np.array(data), requires_grad)


def _new_factory(name: str, fill):
    def method(self, *args, size=None, dtype=None, device=None, requires_grad=False, **kwargs):
        if device is not None:
            _check_device(device)
        shape = _size_args(name, args, size)
        dtype = _dt.dtype_arg(dtype, name)
        target = dtype.np if dtype is not None else self._data.dtype
        if self._data.__class__ is SparseArray:  # a sparse tensor's new tensors are sparse
            if fill is np.ones:
                raise not_implemented("fill_.Scalar", self._data.layout._kind)
            values = np.zeros(0, dtype=target)
            if self._data.indices is not None:
                indices = np.zeros((len(shape), 0), dtype=np.int64)
                return _finish(
                    SparseArray(self._data.layout, shape, values, indices), requires_grad
                )
            if len(shape) != 2:
                raise RuntimeError(
                    "torch.empty: Only batched sparse compressed (non-block) tensors are "
                    f"supported, but got size {list(shape)}"
                )
            outer = shape[0] if self._data.layout._kind == "SparseCsr" else shape[1]
            compressed = np.zeros(outer + 1, dtype=np.int64)
            plain = np.zeros(0, dtype=np.int64)
            made = SparseArray(self._data.layout, shape, values, None, compressed, plain)
            return _finish(made, requires_grad)
        return _finish(fill(shape, dtype=target), requires_grad)

    method.__name__ = name
    method.__doc__ = f"``{name}(*size)``: the tensor's dtype unless another is given."
    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of ``fill_value`` in this tensor's dtype unless another is given."""
    if device is not None:  # else the input's device, never the default one
        _check_device(device)
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            "new_full(): argument 'size' (position 1) must be tuple of ints, "
            f"not {_type_name(size)}"
        )
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if self._data.__class__ is SparseArray:
        raise not_implemented("fill_.Scalar", self._data.layout._kind)
    target = _dt.to_dtype(dtype).np if dtype is not None else self._data.dtype
    return _finish(np.full(_size((size,), "new_full"), fill_value, dtype=target), requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` in this tensor's dtype unless another is given."""
    if device is not None:  # else the input's device, never the default one
        _check_device(device)
    target = dtype if dtype is not None else self.dtype
    if not isinstance(data, Tensor):
        return tensor(data, dtype=target, requires_grad=requires_grad)
    warnings.warn(
        "To copy construct from a tensor, it is recommended to use "
        "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
        "rather than tensor.new_tensor(sourceTensor).",
        UserWarning,
        stacklevel=2,
    )
    return _finish(np.array(data._data, dtype=_dt.to_dtype(target).np), requires_grad)


_TYPED_BY_DTYPE: dict = {}


def _new(self, *args, device=None, **keywords):
    """The legacy constructor in this tensor's dtype: ``t.new(2, 3)`` (sizes), ``t.new([1, 2])``
    (data), ``t.new(other)`` (an alias of a tensor of the same dtype), ``t.new()`` (empty)."""
    if device is not None:
        _check_device(device)
    typed = _TYPED_BY_DTYPE.get(self.dtype)
    if typed is None:
        typed = _TYPED_BY_DTYPE[self.dtype] = _typed_class(self.dtype)
    return typed(*args, **keywords)


def _tensor_init(self, *args, dtype=None, requires_grad=False) -> None:
    _legacy_constructor(self, args, dtype, requires_grad)


def _reduce_ex(self, protocol):
    return (_rebuild, (self._data, self._requires_grad))


def _install_new_methods():
    """``tensor.new_zeros(2, 3)`` and friends: the tensor's dtype unless another is given; the
    legacy constructor (``Tensor([1., 2.])``) and pickling."""
    tensor_method(_tensor_init, "__init__")
    tensor_method(_reduce_ex, "__reduce_ex__")
    tensor_method(_allocating(_new_factory("new_zeros", np.zeros)), "new_zeros")
    tensor_method(_allocating(_new_factory("new_ones", np.ones)), "new_ones")
    # never left uninitialised
    tensor_method(_allocating(_new_factory("new_empty", np.zeros)), "new_empty")
    tensor_method(_allocating(_new_full), "new_full")
    tensor_method(_new_tensor, "new_tensor")
    tensor_method(_allocating(_new), "new")


_install_new_methods()
