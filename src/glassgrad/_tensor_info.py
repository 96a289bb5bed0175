"""What a Tensor tells about itself: shape, dtype, device, conversions and printing.

Split from ``tensor.py`` (which keeps the autograd surface) so that each stays readable; ``Tensor``
inherits these methods from ``TensorInfo``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from glassgrad import _bfloat16, _layout, _shared_memory
from glassgrad import _memory_format as _mf
from glassgrad import dtypes as _dt
from glassgrad._device import device as _device_type
from glassgrad._sparse_data import SparseArray as _SparseArray
from glassgrad.autograd import escapes as _escapes
from glassgrad.autograd import forward_state


def _type_name(value) -> str:
    """``value``'s type as PyTorch's argument errors print it (``list``, ``numpy.ndarray``)."""
    kind = type(value)
    if kind.__module__ == "builtins" or kind.__module__.startswith("glassgrad"):
        return kind.__name__
    return f"{kind.__module__}.{kind.__name__}"


__all__ = ["Size", "TensorInfo"]


_CPU = _device_type("cpu")


class Size(tuple):
    """A shape: a tuple that prints as ``torch.Size([2, 3])``."""

    __slots__ = ()
    __module__ = "glassgrad"  # ``type(shape)`` shows as the package's, as PyTorch's does

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        if not all(type(n) is int for n in sizes):
            sizes = tuple(_size_item(n, i) for i, n in enumerate(sizes))
        return tuple.__new__(cls, sizes)

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        count = 1
        for n in self:
            count *= n
        return count

    def __getitem__(self, key):
        result = tuple.__getitem__(self, key)
        return _shape(result) if isinstance(key, slice) else result

    # Concatenating or repeating a shape gives a shape, on either side of the operator.
    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(
                f"can only concatenate tuple (not {type(other).__name__}) to torch.Size"
            )
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, count):
        if not hasattr(count, "__index__"):
            raise TypeError(f"can't multiply sequence by non-int of type '{type(count).__name__}'")
        return Size(tuple.__mul__(self, count))

    __rmul__ = __mul__


def _size_item(value, index: int) -> int:
    """One entry of a ``Size``: anything with ``__index__`` (so one-element int tensors too)."""
    if hasattr(value, "__index__"):
        try:
            return value.__index__()
        except TypeError:
            pass
    raise TypeError(
        f"torch.Size() takes an iterable of 'int' (item {index} is '{type(value).__name__}')"
    )


# Shapes that are already tuples of ints skip the checks in ``Size.__new__``.
_shape = functools.partial(tuple.__new__, Size)


class TensorInfo:
    """Shape, dtype, device, conversions and printing (mixed into ``Tensor``)."""

    __slots__ = ()

    # -- shape and metadata --------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The tensor's shape, as a ``Size``."""
        return tuple.__new__(Size, self._data.shape)

    def size(self, dim=None):
        """The shape, or the length of one dimension."""
        if dim is None:
            return tuple.__new__(Size, self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, scalar_ok=False)]

    @property
    def dtype(self) -> _dt.dtype:
        """The element type."""
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    def dim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    nelement = numel

    @property
    def device(self):
        """Where the data lives (always the CPU with the NumPy backend)."""
        return _CPU

    def get_device(self) -> int:
        """The device index: -1 for a CPU tensor, as in PyTorch."""
        return -1

    is_cpu = property(lambda self: True, doc="True: the data lives in main memory.")
    is_cuda = property(lambda self: False, doc="False: PyTorch's CPU build has no CUDA.")
    is_mps = is_xpu = is_ipu = is_mtia = is_maia = is_xla = is_vulkan = False
    is_mkldnn = is_nested = False

    def is_pinned(self, device=None) -> bool:
        """False: PyTorch's CPU build has no pinned-memory allocator."""
        return False

    def share_memory_(self):
        """Move the data into shared memory (no-op if already there), so that processes that
        receive this tensor (``torch.multiprocessing``) see each other's writes. Other tensors
        that were views of the old data keep the old data: NumPy cannot move memory under them.
        """
        if not _shared_memory.is_shared(self._data):
            self._data = _shared_memory.allocate(self._data)
        return self

    def is_shared(self) -> bool:
        """Whether the data lies in shared memory (``share_memory_``, or received from another
        process)."""
        return _shared_memory.is_shared(self._data)

    def pin_memory(self, device=None):
        """PyTorch's CPU build has no accelerator to pin memory for: its error."""
        raise RuntimeError("Cannot access accelerator device when none is available.")

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def data_ptr(self) -> int:
        """Address of the first element (equal for tensors that share storage)."""
        if not self._data.size:
            return 0  # PyTorch allocates nothing for an empty tensor
        return self._data.__array_interface__["data"][0]

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule of this tensor's memory (for ``from_dlpack`` of any library)."""
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return self._data.__dlpack__(
            stream=stream, max_version=max_version, dl_device=dl_device, copy=copy
        )

    def __dlpack_device__(self):
        """``(kDLCPU, 0)``: the memory is the CPU's."""
        return (1, 0)

    def untyped_storage(self):
        if self._data.__class__ is _SparseArray:
            impl = "SparseTensorImpl" if self.is_sparse else "SparseCsrTensorImpl"
            raise NotImplementedError(f"Cannot access storage of {impl}")
        return self._data.base if self._data.base is not None else self._data

    def is_floating_point(self) -> bool:
        """True for float16/32/64 and bfloat16 tensors."""
        return self._data.dtype.kind == "f" or _bfloat16.is_bfloat16(self._data)

    def is_complex(self) -> bool:
        """True for complex64 and complex128 tensors."""
        return self._data.dtype.kind == "c"

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the elements are laid out in row-major order (or ``memory_format``) without
        gaps."""
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        return _mf.is_in(self._data, _mf.check(memory_format, "is_contiguous"))

    def stride(self, dim=None):
        """Strides in elements, as PyTorch reports them."""
        data = self._data
        if data.__class__ is _SparseArray:  # PyTorch reports 0 for every dim of a sparse tensor
            zeros = (0,) * data.ndim
            return zeros if dim is None else zeros[_wrap_dim(dim, data.ndim, False)]
        if data.size == 0 and not any(data.strides):
            strides = _contiguous_strides(data.shape)  # NumPy gives fresh empty arrays 0s
        else:
            strides = tuple(s // data.itemsize for s in data.strides)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim, False)]

    def storage_offset(self) -> int:
        """Elements between the start of the shared storage and this tensor's first element."""
        base = self._data
        while base.base is not None and isinstance(base.base, np.ndarray):
            base = base.base
        start = base.__array_interface__["data"][0]
        return (self._data.__array_interface__["data"][0] - start) // self._data.itemsize

    # Quantized and meta tensors do not exist here; PyTorch code still asks.
    is_quantized = False
    is_meta = False

    @property
    def layout(self):
        """How the elements are stored: ``torch.strided``, or a sparse layout."""
        data = self._data
        return data.layout if data.__class__ is _SparseArray else _layout.strided

    @property
    def is_sparse(self) -> bool:
        """True for a sparse COO tensor."""
        data = self._data
        return data.__class__ is _SparseArray and data.layout is _layout.sparse_coo

    @property
    def is_sparse_csr(self) -> bool:
        """True for a sparse CSR tensor."""
        data = self._data
        return data.__class__ is _SparseArray and data.layout is _layout.sparse_csr

    @property
    def mH(self):  # noqa: N802 - PyTorch's name
        """The conjugate transpose of the last two dims (just ``mT`` for real tensors)."""
        if self._data.ndim == 0:
            _warn_0d("mH")
            return self
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.mH is only supported on matrices or batches of matrices. "
                f"Got {self._data.ndim}-D tensor."
            )
        return self.mT.conj() if self._data.dtype.kind == "c" else self.mT

    @property
    def H(self):  # noqa: N802 - PyTorch's name
        """The conjugate transpose of a matrix (just ``T`` for real tensors)."""
        if self._data.ndim == 0:
            _warn_0d("H")
            return self
        if self._data.ndim != 2:
            hint = " For batches of matrices, consider using tensor.mH" * (self._data.ndim > 2)
            raise RuntimeError(
                "tensor.H is only supported on matrices (2-D tensors). "
                f"Got {self._data.ndim}-D tensor.{hint}"
            )
        return self.mT.conj() if self._data.dtype.kind == "c" else self.mT

    # -- conversions ---------------------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        if self._requires_grad or self._extra is not None:
            _escapes.on_value(self, ".item()")
        return self._data.item() if self._data.ndim == 0 else self._data.reshape(()).item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        if self._requires_grad or self._extra is not None:
            _escapes.on_value(self, ".tolist()")
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as an ndarray sharing memory; refused for tensors that require grad."""
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use "
                "tensor.detach().numpy() instead."
            )
        if self._data.__class__ is _SparseArray:
            self._data.__array__()  # (PyTorch's error: to_dense() first)
        if self._data.dtype.kind == "V" and _bfloat16.is_bfloat16(self._data):
            raise TypeError("Got unsupported ScalarType BFloat16")  # NumPy has no bfloat16
        if self.__dict__ and self.__dict__.get("_conj") and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that has conjugate bit set. Use "
                "tensor.resolve_conj().numpy() instead."
            )
        if self._extra is not None:
            _escapes.on_numpy(self, self._data)
        return self._data

    def __array__(self, dtype=None, copy=None):
        data = self.numpy()
        if dtype is not None and data.dtype != dtype:
            return data.astype(dtype)
        return data.copy() if copy else data

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # A NumPy ufunc applied to a tensor returns a tensor, as in PyTorch, which turns bool
        # results into uint8 on the way.
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return type(self)._from_array(array)

    def _scalar(self, kind):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if self._requires_grad or self._extra is not None:
            _escapes.on_value(self, f"{kind.__name__}()", 3)
        value = self._data.reshape(()).item()
        if value.__class__ is complex and kind is not complex:
            # PyTorch's message for a complex value read as a real number
            raise RuntimeError(
                f"value cannot be converted to type {'double' if kind is float else 'int64_t'} "
                "without overflow"
            )
        return kind(value)

    def __complex__(self) -> complex:
        return self._scalar(complex)

    def __float__(self) -> float:
        if self.requires_grad:
            from glassgrad.autograd.grad_mode import state

            if state.record:  # PyTorch is silent under no_grad and inference_mode
                # Warned from this fixed line, so the default filter shows it once per process,
                # as PyTorch's C++ warning is (TORCH_WARN_ONCE).
                warnings.warn(
                    "Converting a tensor with requires_grad=True to a scalar may lead to "
                    "unexpected behavior.\nConsider using tensor.detach() first.",
                    UserWarning,
                    stacklevel=1,
                )
        return self._scalar(float)

    def __int__(self) -> int:
        return self._scalar(int)

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()).item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self._data.reshape(()).item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    def __repr__(self) -> str:
        from glassgrad._tensor_str import tensor_repr

        if self._data.__class__ is _SparseArray:
            from glassgrad._tensor_str import sparse_repr

            return sparse_repr(self)
        if self._grad_fn is not None:
            suffixes = [f"grad_fn=<{type(self._grad_fn).__name__}>"]
        elif self.requires_grad:
            suffixes = ["requires_grad=True"]
        else:
            suffixes = []
        if self._extra is not None and self._extra.fw:
            levels = forward_state.LEVELS  # (the current level is the innermost one)
            tangent = forward_state.get(self, levels[-1]) if levels else None
            if tangent is not None:  # PyTorch shows the current level's tangent
                shown = tangent.item() if not tangent._data.ndim else repr(tangent)
                suffixes.append(f"tangent={shown}")
        return tensor_repr(self._data, self.dtype, suffixes)

    __str__ = __repr__


_WARNED_0D: set = set()


def _warn_0d(name: str) -> None:
    if name in _WARNED_0D:  # PyTorch warns once per process (TORCH_WARN_ONCE)
        return
    _WARNED_0D.add(name)
    warnings.warn(
        f"Tensor.{name} is deprecated on 0-D tensors. Consider using x.conj().",
        UserWarning,
        stacklevel=3,
    )


def _wrap_dim(dim: int, ndim: int, scalar_ok: bool = True) -> int:
    """Normalise a possibly negative dim; raise PyTorch's IndexError when out of range."""
    if not ndim and not scalar_ok:
        # size() and stride() of a 0-d tensor take no dim at all, not even 0 or -1.
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], but got "
            f"{dim})"
        )
    return dim + size if dim < 0 else dim


_C_NAMES = {
    "float32": "float",
    "float64": "double",
    "float16": "c10::Half",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
    "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}
_C_TYPES = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "bfloat16": "BFloat16",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "complex64": "ComplexFloat",
    "complex128": "ComplexDouble",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _contiguous_strides(shape) -> tuple:
    """PyTorch's strides for a contiguous tensor (a size of 0 counts as 1)."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def _c_name(dtype) -> str:
    return _C_NAMES[dtype.name]


def _c_type(dtype) -> str:
    return _C_TYPES[dtype.name]
