"""Reading PyTorch checkpoints: storages streamed or memory-mapped from the zip archive, tensors
rebuilt as views of them (so tensors that shared storage when saved share it again), and the
pickle read by the weights-only unpickler unless ``weights_only=False`` asks for full pickle."""

from __future__ import annotations

import io
import mmap as _mmap
import pickle
from codecs import encode
from collections import Counter, OrderedDict

import numpy as np

from glassgrad.serialization import _weights_only
from glassgrad.serialization._storage_names import STORAGE_NAMES
from glassgrad.serialization._zip import ZipReader
from glassgrad.tensor import Tensor

_CUDA = (
    "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. "
    "If you are running on a CPU-only machine, please use torch.load with "
    "map_location=torch.device('cpu') to map your storages to the CPU."
)


class UntypedStorage:
    """What a ``map_location`` callable receives: a storage's bytes, on the CPU."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.device = "cpu"

    def nbytes(self) -> int:
        return self.data.nbytes

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        raise AssertionError("Torch not compiled with CUDA enabled")


def _restore(storage: UntypedStorage, location: str) -> UntypedStorage:
    if location == "cpu":
        return storage
    if location.startswith("cuda"):
        raise RuntimeError(_CUDA)
    raise RuntimeError(
        "don't know how to restore data location of torch.storage.UntypedStorage "
        f"(tagged with {location})"
    )


def restore_location(map_location):
    """PyTorch's ``_get_restore_location``: a function ``(storage, location) -> storage``."""
    from glassgrad import device

    if map_location is None:
        return _restore
    if isinstance(map_location, dict):
        return lambda storage, location: _restore(storage, map_location.get(location, location))
    if isinstance(map_location, (str, bytes)):
        name = map_location.decode() if isinstance(map_location, bytes) else map_location
        return lambda storage, location: _restore(storage, name)
    if isinstance(map_location, device):
        return lambda storage, location: _restore(storage, str(map_location))

    def call(storage, location):
        result = map_location(storage, location)
        return _restore(storage, location) if result is None else result

    return call


def _view(storage: np.ndarray, offset: int, size, stride) -> np.ndarray:
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or min(size + stride + (offset,), default=0) < 0:
        raise RuntimeError(f"invalid tensor layout: sizes {list(size)}, strides {list(stride)}")
    if 0 not in size:
        needed = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if needed > storage.size:
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                f"{offset}, and itemsize {storage.itemsize} requiring a storage size of "
                f"{needed * storage.itemsize} are out of bounds for storage of size "
                f"{storage.nbytes}"
            )
    elif offset > storage.size:
        raise RuntimeError(f"storage offset {offset} is past the storage's {storage.size}")
    item = storage.itemsize
    if 0 in size:
        return np.empty(size, storage.dtype)
    # (an ndarray over the storage's buffer: its base is the storage, so offsets stay visible)
    return np.ndarray(size, storage.dtype, storage, offset * item, tuple(s * item for s in stride))


class _Typed:
    """A loaded storage: a 1-d array of the storage's element type."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def _rebuild_tensor(storage, storage_offset, size, stride):
    if not isinstance(storage, _Typed):
        raise pickle.UnpicklingError("a tensor must be rebuilt from a storage")
    from glassgrad.dtypes import from_numpy_dtype

    try:
        from_numpy_dtype(storage.array.dtype)
    except TypeError:
        raise RuntimeError(
            f"glassgrad.load: the checkpoint holds a tensor of dtype {storage.array.dtype}, "
            "which glassgrad does not have"
        ) from None
    return Tensor._from_array(_view(storage.array, storage_offset, size, stride))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):  # fmt: skip
    """PyTorch's route for dtypes without a legacy storage class (uint16/32/64): bytes + dtype."""
    if not isinstance(storage, _Typed) or not hasattr(dtype, "np"):
        raise pickle.UnpicklingError("a tensor must be rebuilt from a storage and a dtype")
    raw = storage.array.view(np.uint8)
    typed = _Typed(raw[: raw.size - raw.size % dtype.itemsize].view(dtype.np))
    return _rebuild_tensor_v2(typed, storage_offset, size, stride, requires_grad, backward_hooks)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):  # fmt: skip
    tensor = _rebuild_tensor(storage, storage_offset, size, stride)
    if requires_grad:
        tensor.requires_grad_(bool(requires_grad))
    return tensor


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from glassgrad.nn.parameter import Parameter

    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    parameter = _rebuild_parameter(data, requires_grad, backward_hooks)
    _set_state(parameter, state)
    return parameter


def _rebuild_from_type_v2(func, new_type, args, state):
    tensor = func(*args)
    if type(tensor) is not new_type:
        if not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
            raise pickle.UnpicklingError(f"cannot rebuild a tensor as {new_type}")
        subclass = Tensor.__new__(new_type)
        for slot in Tensor.__slots__[:-2]:
            setattr(subclass, slot, getattr(tensor, slot))
        tensor = subclass
    _set_state(tensor, state)
    return tensor


def _set_state(obj, state) -> None:
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
        for name, value in (slots or {}).items():
            setattr(obj, name, value)
    for name, value in (state or {}).items():
        setattr(obj, name, value)


def _rebuild_sparse_tensor(layout, data):
    """A sparse tensor from its layout and parts (``torch._utils._rebuild_sparse_tensor``)."""
    import glassgrad

    if layout is glassgrad.sparse_coo:
        indices, values, size, *coalesced = data
        flag = coalesced[0] if coalesced else None
        return glassgrad.sparse_coo_tensor(
            indices, values, size, check_invariants=False, is_coalesced=flag
        )
    if layout in (glassgrad.sparse_csr, glassgrad.sparse_csc):
        factory = getattr(glassgrad, f"{layout!r}"[6:] + "_tensor")
        compressed, plain, values, size = data
        return factory(compressed, plain, values, size, check_invariants=False)
    raise NotImplementedError(f"rebuilding sparse tensor for layout {layout}")


def _get_layout(name: str):
    """``torch.serialization._get_layout``: a layout from its name (``"torch.sparse_coo"``)."""
    import glassgrad

    return getattr(glassgrad, name.rpartition(".")[2])


REBUILDERS = {
    "torch._utils._rebuild_sparse_tensor": _rebuild_sparse_tensor,
    "torch.serialization._get_layout": _get_layout,
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
    "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
}


class _FullUnpickler(pickle.Unpickler):
    """``weights_only=False``: any class, PyTorch's names resolved to glassgrad's."""

    def __init__(self, file, allowed, persistent_load, **kwargs) -> None:
        super().__init__(file, **kwargs)
        self.allowed, self._persistent = allowed, persistent_load

    def persistent_load(self, pid):
        return self._persistent(pid)

    def find_class(self, module, name):
        path = f"{module}.{name}"
        if path in self.allowed:
            if isinstance(self.allowed[path], _weights_only.Missing):
                raise RuntimeError(
                    f"glassgrad.load: the checkpoint uses {path}, which glassgrad does not have"
                )
            return self.allowed[path]
        if module == "torch" or module.startswith("torch."):
            try:
                return super().find_class("glassgrad" + module[len("torch") :], name)
            except (ImportError, AttributeError):
                pass
        return super().find_class(module, name)


def load_zip(handle, start, size, map_location, weights_only, mmap_path, pickle_load_args):
    """Unpickles ``data.pkl`` of an opened archive; storages load as the pickle asks for them."""
    reader = ZipReader(handle, size, start)
    restore = restore_location(map_location)
    byteorder = reader.get_record("byteorder") if reader.has_record("byteorder") else b"little"
    if byteorder not in (b"little", b"big"):
        raise ValueError("Unknown endianness type: " + byteorder.decode("latin-1"))
    mapped = None
    if mmap_path is not None:
        with open(mmap_path, "rb") as raw:
            mapped = _mmap.mmap(raw.fileno(), 0, access=_mmap.ACCESS_COPY)
    loaded: dict[str, _Typed] = {}

    def persistent_load(pid):
        if not isinstance(pid, tuple) or len(pid) != 5:
            raise pickle.UnpicklingError("unsupported persistent id encountered")
        _, storage_type, key, location, _numel = pid
        key = _weights_only._ascii(key)
        if key not in loaded:
            dtype = storage_type.dtype
            name = f"data/{key}"
            raw = _storage_bytes(reader, name, mapped)
            result = restore(UntypedStorage(raw), _weights_only._ascii(location))
            if not isinstance(result, UntypedStorage):
                raise TypeError(
                    "map_location must return a storage, but got " + type(result).__name__
                )
            typed = result.data[: raw.size - raw.size % dtype.itemsize].view(dtype)
            if byteorder.decode() != _native():
                typed = typed.byteswap()
            loaded[key] = _Typed(typed)
        return loaded[key]

    allowed = default_allowed(REBUILDERS)
    pickled = io.BytesIO(reader.get_record("data.pkl"))
    if weights_only:
        encoding = pickle_load_args.get("encoding", "utf-8")
        return _weights_only.Unpickler(pickled, allowed, persistent_load, encoding).load()
    args = {"encoding": "utf-8", **pickle_load_args}
    return _FullUnpickler(pickled, allowed, persistent_load, **args).load()


def _native() -> str:
    import sys

    return sys.byteorder


def _storage_bytes(reader: ZipReader, name: str, mapped) -> np.ndarray:
    size = reader.record_size(name)
    if mapped is not None:
        from glassgrad.serialization._zip import check_crc

        array = np.frombuffer(mapped, np.uint8, size, reader.data_offset(name))
        check_crc(name, array, reader.records[name][2])
        return array
    array = np.empty(size, np.uint8)
    reader.read_into(name, array)
    return array


_DTYPE_NAMES = (
    "float16", "float32", "float64", "bfloat16", "complex64", "complex128", "bool",
    "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
)  # fmt: skip


def default_allowed(rebuilders: dict) -> dict:
    """PyTorch's default allowlist, each name resolved to its glassgrad counterpart."""
    import glassgrad
    from glassgrad.nn.parameter import Parameter

    allowed = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "torch.nn.parameter.Parameter": Parameter,
        "torch.Size": glassgrad.Size,
        "torch.Tensor": glassgrad.Tensor,
        "torch.device": glassgrad.device,
        "_codecs.encode": encode,
        "builtins.bytearray": bytearray,
        "builtins.set": set,
        "builtins.complex": complex,
    }
    for name in STORAGE_NAMES.values():
        allowed[f"torch.{name}"] = StorageType(name)
    allowed["torch.storage.UntypedStorage"] = StorageType("ByteStorage")
    for name in _DTYPE_NAMES:
        found = getattr(glassgrad, name, None)
        allowed[f"torch.{name}"] = (
            found if isinstance(found, glassgrad.dtype) else _weights_only.Missing()
        )
    allowed.update(rebuilders)
    return allowed


class StorageType:
    """``torch.FloatStorage`` & co. as a storage reference names them: the element type."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StorageType(dtype={self.dtype})"

    @property
    def dtype(self) -> np.dtype:

        numpy_name = next(k for k, v in STORAGE_NAMES.items() if v == self.name)
        if numpy_name == "bfloat16":
            import ml_dtypes

            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(numpy_name)
