"""Reading Python arguments into arrays: nested data for ``torch.tensor(data)``, sizes for the
factories, and the legacy constructors ``torch.Tensor(...)`` / ``torch.FloatTensor(...)``."""

from __future__ import annotations

import array
import collections
import itertools

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._sparse_data import SparseArray, not_implemented
from glassgrad._tensor_info import _C_NAMES, _type_name
from glassgrad.autograd import grad_mode as _grad_mode
from glassgrad.tensor import Size, Tensor, _make, init_slots

# -- argument parsing --------------------------------------------------------------------------
_REQUIRES_FLOAT = "Only Tensors of floating point and complex dtype can require gradients"


def _finish(data, requires_grad):
    t = _make(data)
    if requires_grad:
        if not (t.dtype.is_floating_point or data.dtype.kind == "c"):  # (bfloat16's kind is V)
            raise RuntimeError(_REQUIRES_FLOAT)
        t._requires_grad = True
    return t


def _size_args(name, args, size):
    """Positional sizes or the ``size=`` keyword, as PyTorch's factories take them."""
    if size is None:
        if not args:
            raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
        return _size(args, name)
    if args:
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    return _size((size,), name)


def _float(dtype):
    return (_dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()).np


def _not_implemented(kernel: str, dtype) -> NotImplementedError:
    from glassgrad._tensor_info import _c_type

    return NotImplementedError(f"\"{kernel}\" not implemented for '{_c_type(dtype)}'")


def _check_count(value, name: str, function: str, position: int) -> int:
    if not _is_int(value):
        raise TypeError(
            f"{function}(): argument '{name}' (position {position}) must be int, "
            f"not {_type_name(value)}"
        )
    return int(value)


def _like(input, dtype, name="zeros_like"):
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{name}(): argument 'input' (position 1) must be Tensor, not {_type_name(input)}"
        )
    dtype = _dt.dtype_arg(dtype, name)
    if input._data.__class__ is SparseArray:  # (zeros_like/empty_like make sparse ones first)
        kernel = {"rand_like": "uniform_", "randn_like": "normal_"}.get(name, "fill_.Scalar")
        raise not_implemented(kernel, input._data.layout._kind)
    return (dtype.np if dtype is not None else input._data.dtype), input._data.shape


def _is_int(value) -> bool:
    if isinstance(value, Tensor):
        return value._data.dtype.kind in "iu" and value._data.size == 1
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _size(size, name="zeros", position=1):
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``, with PyTorch's errors."""
    if len(size) > 1 and isinstance(size[0], (tuple, list)):
        raise TypeError(f"{name}() takes 1 positional argument but {len(size)} were given")
    if len(size) == 1 and not _is_int(size[0]):
        size = size[0]
        if not isinstance(size, (tuple, list)):
            raise TypeError(
                f"{name}(): argument 'size' (position {position}) must be tuple of ints, "
                f"not {_type_name(size)}"
            )
    for pos, item in enumerate(size):
        if not _is_int(item):
            kind = _type_name(item)
            if pos:  # PyTorch's parser matched the overload on the first element: unpacking
                raise TypeError(
                    f"{name}(): argument 'size' failed to unpack the object at pos {pos + 1} "
                    f'with error "type must be tuple of ints,but got {kind}"'
                )
            raise TypeError(
                f"{name}(): argument 'size' (position {position}) must be tuple of ints, but "
                f"found element of type {kind} at pos {pos}"
            )
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        if name == "zeros":  # PyTorch's zeros checks sizes itself, with its own message
            raise RuntimeError("zeros: Dimension size must be non-negative.")
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(size)}: {list(size)}"
        )
    return size


# -- tensor(data) ------------------------------------------------------------------------------
# Python sequences PyTorch reads as data (it takes any sequence but str; these are the ones in use).
_SEQUENCES = (
    list,
    tuple,
    range,
    np.ndarray,
    collections.deque,
    collections.UserList,
    array.array,
    memoryview,
    bytearray,
)


def _data_shape(data) -> list:
    """The shape PyTorch reads off nested data: the lengths along the first elements."""
    shape = []
    while isinstance(data, _SEQUENCES):
        if isinstance(data, np.ndarray) and data.ndim == 0:
            raise TypeError("len() of unsized object")
        shape.append(len(data))
        if not shape[-1]:
            break
        data = data[0]
    return shape


def _flatten(data, shape, flat, dim=0) -> None:
    """Append the scalars of ``data`` to ``flat``, checking it is as regular as ``shape``."""
    if dim == len(shape):
        flat.append(data)  # a sequence here is reported once the dtype is known
        return
    if not isinstance(data, _SEQUENCES) or (isinstance(data, np.ndarray) and not data.ndim):
        raise TypeError("not a sequence")
    if len(data) != shape[dim]:
        raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} (got {len(data)})")
    for item in data:
        _flatten(item, shape, flat, dim + 1)


def _scalar_dtype(item):
    """The dtype one element of the data asks for, as PyTorch infers it."""
    if isinstance(item, np.generic) and not isinstance(item, (np.str_, np.bytes_, np.void)):
        return _dt.from_numpy_dtype(item.dtype)  # before float: np.float64 is a float too
    if isinstance(item, bool):
        return _dt.bool_
    if isinstance(item, int):
        return _dt.int64
    if isinstance(item, float):
        return _dt.get_default_dtype()
    if isinstance(item, Tensor):
        return item.dtype
    if isinstance(item, _SEQUENCES):
        return _dt.bool_  # the lowest kind: leaves the others to decide
    if isinstance(item, complex):
        return _dt.complex_seen(_dt.default_complex())
    if isinstance(item, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(item).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(item).__name__}")


def _unwrap(item, integral: bool):
    """A tensor element is read as its one value; more than one is PyTorch's error."""
    if item._data.size != 1:
        if integral:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        raise ValueError("only one element tensors can be converted to Python scalars")
    return item._data.reshape(()).item()


def _check_range(values, target: np.dtype) -> None:
    """Python numbers that do not fit an integer dtype are errors, not wrapped-around values."""
    info = np.iinfo(target)
    # PyTorch lets a negative int wrap into an unsigned type when its magnitude fits.
    low = -info.max if info.min == 0 else info.min
    for value in values:
        if isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                raise ValueError("Overflow when unpacking long long")
            fits = low <= value <= info.max
        else:
            fits = info.min <= value <= info.max  # False for NaN
        if not fits:
            raise RuntimeError(f"value cannot be converted to type {target.name} without overflow")


def _check_scalars(flat, integral: bool) -> None:
    """A sequence where a number belongs (``[1, [2]]``) is PyTorch's TypeError."""
    for item in flat:
        if isinstance(item, _SEQUENCES):
            if integral:
                raise TypeError(
                    f"'{type(item).__name__}' object cannot be interpreted as an integer"
                )
            raise TypeError(f"must be real number, not {type(item).__name__}")


_LISTS = frozenset((list, tuple))
_NUMBERS = frozenset((float, int, bool))


def _plain_leaves(data, shape):
    """The numbers of ``data``, nested lists or tuples of exactly ``shape`` holding Python
    floats, ints and bools only (the common case, checked at C speed); None for anything else,
    which the general path reads (and refuses with PyTorch's errors)."""
    if type(data) not in _LISTS or not shape or not shape[-1]:
        return None
    level = data
    for size in shape[1:]:
        if not set(map(type, level)) <= _LISTS or set(map(len, level)) != {size}:
            return None
        level = list(itertools.chain.from_iterable(level))
    return level if set(map(type, level)) <= _NUMBERS else None


def _fast_array(leaves, dtype):
    """``leaves`` (plain Python numbers) as an array of ``dtype`` (inferred if None), or None
    where the general path must decide (a requested integer dtype's range, odd dtypes...)."""
    kinds = set(map(type, leaves))
    if dtype is None:
        inferred = (
            _dt.get_default_dtype() if float in kinds else _dt.int64 if int in kinds else _dt.bool_
        )
        target = inferred.np
    else:
        target = _dt.to_dtype(dtype).np
    try:
        if target.kind == "f" and target.itemsize >= 4:
            with np.errstate(over="ignore"):  # beyond the dtype's range is inf, as PyTorch's
                return np.array(leaves, dtype=np.float64).astype(target, copy=False)
        if target == np.int64 and float not in kinds:
            return np.array(leaves, dtype=np.int64)
        if target == np.bool_ and kinds == {bool}:
            return np.array(leaves, dtype=np.bool_)
    except OverflowError:  # (an int beyond int64: the general path raises PyTorch's error)
        return None
    return None


def _from_data(data, dtype) -> np.ndarray:
    """An array from nested Python data, with PyTorch's dtype inference and errors."""
    shape = _data_shape(data)
    leaves = _plain_leaves(data, shape)
    if leaves is not None:
        array = _fast_array(leaves, dtype)
        if array is not None:
            return array.reshape(shape)
    flat: list = []
    _flatten(data, shape, flat)
    if dtype is None:
        found = None
        for item in flat:
            kind = _scalar_dtype(item)
            found = kind if found is None else _dt.promote_types(found, kind)
        dtype = found or _dt.get_default_dtype()
    target = _dt.to_dtype(dtype).np
    integral = target.kind in "iu"
    _check_scalars(flat, integral)
    flat = [_unwrap(v, integral) if isinstance(v, Tensor) else v for v in flat]
    if integral:
        _check_range([v for v in flat if isinstance(v, (int, float))], target)
        flat = [int(v) if isinstance(v, float) else v for v in flat]
        array = np.array(flat, dtype=np.int64).astype(target)
    else:
        with np.errstate(over="ignore"):  # beyond the dtype's range is inf, silently
            array = np.array(flat, dtype=np.float64 if target.kind == "f" else target)
            array = array.astype(target, copy=False)
    return array.reshape(shape)


def _check_numpy(ndarray: np.ndarray) -> None:
    _dt.from_numpy_dtype(ndarray.dtype)
    if any(step < 0 for step in ndarray.strides):
        raise ValueError(
            "At least one stride in the given numpy array is negative, and tensors with negative "
            "strides are not currently supported. (You can probably work around this by making a "
            "copy of your array  with array.copy().) "
        )


# -- legacy constructors -----------------------------------------------------------------
def _legacy_data(args, dtype=None):
    """The array ``torch.Tensor(*args)`` (or ``torch.LongTensor(*args)``: ``dtype``) holds."""
    dtype = dtype or _dt.get_default_dtype()
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0]._data  # an alias: same storage, same dtype
    if not args or (len(args) == 1 and isinstance(args[0], Size)) or _is_int(args[0]):
        shape = _size(args, "new") if args else (0,)  # ``Tensor()`` is empty and 1-D
        return np.zeros(shape, dtype=dtype.np)
    (data,) = args
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if not isinstance(data, _SEQUENCES):
        raise TypeError(f"new(): data must be a sequence (got {_type_name(data)})")
    if isinstance(data, np.ndarray):
        _check_numpy(data)
        return np.array(data, dtype=dtype.np)
    return _from_data(data, dtype)


def _keyword_error(args, keywords: dict) -> TypeError:
    """PyTorch's error for keywords the legacy constructors do not take (``dtype=``, ...)."""
    kinds = {
        k: "torch.dtype" if isinstance(v, _dt.dtype) else type(v).__name__
        for k, v in keywords.items()
    }
    got = ", ".join([type(a).__name__ for a in args] + [f"{k}={v}" for k, v in kinds.items()])
    miss = f"\n      didn't match because some of the keywords were incorrect: {', '.join(kinds)}"
    sized = bool(args) and _is_int(args[0])  # PyTorch blames the overloads the call resembles
    return TypeError(
        f"new() received an invalid combination of arguments - got ({got}), but expected one "
        f"of:\n * (*, torch.device device = None){'' if sized else miss}\n"
        " * (torch.Storage storage)\n * (Tensor other)\n"
        f" * (tuple of ints size, *, torch.device device = None){miss if sized else ''}\n"
        f" * (object data, *, torch.device device = None){miss if sized else ''}\n"
    )


def _legacy_constructor(self, args, dtype, requires_grad):
    """``torch.Tensor(data)`` (a float copy), ``torch.Tensor(2, 3)`` (uninitialised) or
    ``torch.Tensor(tensor)`` (an alias)."""
    if dtype is not None or requires_grad:
        # The legacy constructor takes neither keyword (use torch.tensor or a factory).
        keyword = {"dtype": dtype} if dtype is not None else {"requires_grad": requires_grad}
        raise _keyword_error(args, keyword)
    init_slots(self, _legacy_data(args), inference=_grad_mode.state.inference)


# -- typed tensor classes (torch.FloatTensor, ...) -----------------------------------------------


def _options(dtype) -> str:
    return (
        f"TensorOptions(dtype={_C_NAMES[dtype.name]}, device=cpu, layout=Strided, "
        "requires_grad=false (default), pinned_memory=false (default), "
        "memory_format=(nullopt))"
    )


class tensortype(type):  # noqa: N801 - PyTorch's name for the metaclass of FloatTensor & co
    """The metaclass of the typed tensor classes: calling one builds a tensor of its dtype,
    ``isinstance`` checks the dtype (the tensors themselves are all plain Tensors)."""

    __module__ = "glassgrad"

    def __call__(cls, *args, device=None, **keywords):
        if keywords:
            raise _keyword_error(args, keywords)
        if len(args) == 1 and isinstance(args[0], Tensor):
            source = args[0]
            if source.dtype is not cls.dtype:
                raise TypeError(f"expected {_options(cls.dtype)} (got {_options(source.dtype)})")
            return source[...]  # an alias sharing storage, as PyTorch's is
        return _make(_legacy_data(args, cls.dtype))

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _typed_class(dtype):
    return tensortype(dtype._legacy, (), {"dtype": dtype, "__module__": "glassgrad"})


FloatTensor = _typed_class(_dt.float32)
DoubleTensor = _typed_class(_dt.float64)
HalfTensor = _typed_class(_dt.float16)
LongTensor = _typed_class(_dt.int64)
IntTensor = _typed_class(_dt.int32)
ShortTensor = _typed_class(_dt.int16)
CharTensor = _typed_class(_dt.int8)
ByteTensor = _typed_class(_dt.uint8)
BoolTensor = _typed_class(_dt.bool_)
TYPED = {
    cls.__name__: cls
    for cls in (
        FloatTensor,
        DoubleTensor,
        HalfTensor,
        LongTensor,
        IntTensor,
        ShortTensor,
        CharTensor,
        ByteTensor,
        BoolTensor,
    )
}
