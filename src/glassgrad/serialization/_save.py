"""``save``: PyTorch's checkpoint format (a zip archive holding ``data.pkl`` and one record per
storage), written so that PyTorch's own ``torch.load`` reads it with ``weights_only=True``.

Tensors pickle as PyTorch's tensors do: ``torch._utils._rebuild_tensor_v2`` over a persistent
storage reference; views of one NumPy buffer share one storage, as views share storage in
PyTorch. Everything else pickles as Python pickles it (so a whole module can be saved).
"""

from __future__ import annotations

import io
import os
import pickle
import random
import sys
from collections import OrderedDict

import numpy as np

from glassgrad._sparse_data import SparseArray
from glassgrad.serialization._storage_names import STORAGE_NAMES
from glassgrad.serialization._zip import ZipWriter
from glassgrad.tensor import Tensor, _make

DEFAULT_PROTOCOL = 2

# NumPy dtype name -> PyTorch's legacy storage class (the type tag in a storage reference)


class Global:
    """A name pickled as a GLOBAL opcode without importing it (``torch`` need not be installed)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args):  # (the pickler only accepts callables as reduce functions)
        raise TypeError(f"{self.module}.{self.name} is a name to pickle, not a function")


_GLOBALS: dict[tuple[str, str], Global] = {}


def global_name(module: str, name: str) -> Global:
    """One ``Global`` per name, so the pickler memoizes it as PyTorch's pickler does."""
    return _GLOBALS.setdefault((module, name), Global(module, name))


_REBUILD_TENSOR = global_name("torch._utils", "_rebuild_tensor_v2")
_REBUILD_TENSOR_V3 = global_name("torch._utils", "_rebuild_tensor_v3")
_REBUILD_PARAMETER = global_name("torch._utils", "_rebuild_parameter")
_REBUILD_PARAMETER_STATE = global_name("torch._utils", "_rebuild_parameter_with_state")
_REBUILD_FROM_TYPE = global_name("torch._tensor", "_rebuild_from_type_v2")
_REBUILD_SPARSE = global_name("torch._utils", "_rebuild_sparse_tensor")
_GET_LAYOUT = global_name("torch.serialization", "_get_layout")


class _Storages:
    """Assigns storage keys as PyTorch does ("0", "1", ... in order of first use)."""

    def __init__(self, legacy: bool = False) -> None:
        self.legacy = legacy  # PyTorch's format before 1.6 adds a sixth field: view metadata
        self.keys: dict[tuple[int, str], str] = {}
        self.arrays: dict[str, np.ndarray] = {}
        self.roots: list[np.ndarray] = []  # keeps ids stable while pickling

    def reference(self, array: np.ndarray):
        """``(persistent id, storage offset, stride)`` of a tensor's data."""
        root, flat, offset, stride = _storage_of(array)
        token = (id(root), array.dtype.str)
        key = self.keys.get(token)
        if key is None:
            key = self.keys[token] = str(len(self.keys))
            self.arrays[key] = flat
            self.roots.append(root)
        if array.dtype.name in STORAGE_NAMES:
            storage_type, numel = global_name("torch", STORAGE_NAMES[array.dtype.name]), flat.size
        else:  # (uint16/32/64: PyTorch stores bytes and names the dtype in the tensor)
            storage_type, numel = global_name("torch.storage", "UntypedStorage"), flat.nbytes
        pid = ("storage", storage_type, key, "cpu", numel) + ((None,) if self.legacy else ())
        return pid, offset, stride


def _storage_of(array: np.ndarray):
    """The 1-d buffer a tensor views, with its offset and strides in elements; a fresh copy
    where NumPy's layout has no PyTorch equivalent (negative or misaligned strides)."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    itemsize = array.itemsize
    if root is not array and root.nbytes % itemsize == 0 and array.size:
        flat = _flat(root)
        delta = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        if (
            flat is not None
            and delta % itemsize == 0
            and all(s >= 0 and s % itemsize == 0 for s in array.strides)
        ):
            flat = flat.view(np.uint8).view(array.dtype)
            return root, flat, delta // itemsize, tuple(s // itemsize for s in array.strides)
    if not array.size:  # PyTorch gives empty tensors contiguous strides (NumPy: zeros)
        return array, array.reshape(-1), 0, _contiguous_strides(array.shape)
    if not array.flags.c_contiguous:
        array = array.copy()
        root = array
    return root, array.reshape(-1), 0, tuple(s // itemsize for s in array.strides)


def _contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _flat(root: np.ndarray):
    if root.flags.c_contiguous:
        return root.reshape(-1)
    if root.flags.f_contiguous:
        return root.T.reshape(-1)
    return None


class _Pickler(pickle._Pickler):  # the Python pickler: it lets ``Global`` write GLOBAL opcodes
    def __init__(self, file, protocol, storages: _Storages) -> None:
        super().__init__(file, protocol)
        self.storages = storages

    def persistent_id(self, obj):
        return obj.pid if type(obj) is _Storage else None

    def _save_name(self, obj: Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    def save_global(self, obj, name=None):
        from glassgrad import dtype

        if isinstance(obj, dtype):
            self.write(pickle.GLOBAL + f"torch\n{obj.name}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[Global] = _save_name

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return _reduce_tensor(obj, self.storages)
        from glassgrad import Size, device, dtype, layout

        if isinstance(obj, layout):
            return _GET_LAYOUT, (repr(obj),)
        if isinstance(obj, dtype):
            return obj.name  # a dtype pickles as its name in ``torch`` (see ``save_global``)
        if type(obj) is Size:
            return global_name("torch", "Size"), (tuple(obj),)
        if type(obj) is device:
            index = () if obj.index is None else (obj.index,)
            return global_name("torch", "device"), (obj.type, *index)
        return NotImplemented


class _Storage:
    __slots__ = ("pid",)

    def __init__(self, pid) -> None:
        self.pid = pid


def _reduce_tensor(tensor: Tensor, storages: _Storages):
    from glassgrad.nn.parameter import Parameter

    state = dict(tensor.__dict__) if hasattr(tensor, "__dict__") else {}
    if tensor._data.__class__ is SparseArray:
        return _reduce_sparse(tensor._data)
    if isinstance(tensor, Parameter):
        data = Tensor._from_array(tensor._data)
        if not state:
            return _REBUILD_PARAMETER, (data, tensor.requires_grad, OrderedDict())
        args = (data, tensor.requires_grad, OrderedDict(), state)
        return _REBUILD_PARAMETER_STATE, args
    pid, offset, stride = storages.reference(tensor._data)
    args = (_Storage(pid), offset, tuple(tensor.shape), stride, tensor.requires_grad)
    args, rebuild = (*args, OrderedDict()), _REBUILD_TENSOR
    if tensor._data.dtype.name not in STORAGE_NAMES:
        args, rebuild = (*args, global_name("torch", tensor._data.dtype.name)), _REBUILD_TENSOR_V3
    if type(tensor) is Tensor and not state:
        return rebuild, args
    return _REBUILD_FROM_TYPE, (rebuild, global_name("torch", "Tensor"), args, state)


def _reduce_sparse(sparse: SparseArray):
    """A sparse tensor as PyTorch pickles one: its layout and its parts, as tensors."""
    from glassgrad import Size

    shape = Size(sparse.shape)
    if sparse.indices is not None:
        parts = (_make(sparse.indices), _make(sparse.values), shape, sparse.coalesced)
    else:
        parts = (_make(sparse.compressed), _make(sparse.plain), _make(sparse.values), shape)
    return _REBUILD_SPARSE, (sparse.layout, parts)


def _archive_name(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
    return "archive"


def save(obj, f, pickle_module=pickle, pickle_protocol=DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:  # fmt: skip
    """Saves an object to a file in PyTorch's checkpoint format (``torch.load`` reads it).

    Tensors, parameters, state dicts and optimizer state, containers, NumPy arrays and whole
    modules (which load again with ``weights_only=False``). ``pickle_module`` is accepted for
    PyTorch's signature; the pickling is Python's own.
    """
    storages = _Storages(legacy=not _use_new_zipfile_serialization)
    buffer = io.BytesIO()
    _Pickler(buffer, pickle_protocol, storages).dump(obj)
    if isinstance(f, (str, os.PathLike)):
        parent = os.path.dirname(os.fspath(f))
        if parent and not os.path.isdir(parent):
            raise RuntimeError(f"Parent directory {parent} does not exist.")
        with open(f, "wb") as handle:
            _write_any(handle, _archive_name(f), buffer.getvalue(), storages, pickle_protocol,
                       not _disable_byteorder_record)  # fmt: skip
    else:
        _write_any(f, "archive", buffer.getvalue(), storages, pickle_protocol,
                   not _disable_byteorder_record)  # fmt: skip


def _write_any(handle, archive, pickled, storages, pickle_protocol, byteorder) -> None:
    if storages.legacy:
        from glassgrad.serialization._legacy import save_legacy

        save_legacy(handle, pickled, storages, pickle_protocol)
    else:
        _write(handle, archive, pickled, storages, byteorder)


def _write(handle, archive: str, pickled: bytes, storages: _Storages, byteorder: bool) -> None:
    writer = ZipWriter(handle, archive)
    crc = writer.write_record("data.pkl", pickled)
    writer.write_record(".format_version", b"1")
    writer.write_record(".storage_alignment", b"64")
    if byteorder:
        writer.write_record("byteorder", sys.byteorder.encode())
    for key, array in storages.arrays.items():
        crc ^= writer.write_record(f"data/{key}", _bytes_of(array))
    writer.write_record("version", b"3\n")
    # PyTorch's id: 20 digits naming the records, 20 of their checksums (here: random + CRCs)
    serialization_id = f"{random.getrandbits(64):020d}{crc:020d}"
    writer.write_record(".data/serialization_id", serialization_id.encode())
    writer.finish()


def _bytes_of(array: np.ndarray):
    array = array if array.dtype.byteorder in "=|" else array.astype(array.dtype.newbyteorder("="))
    return array.reshape(-1).view(np.uint8) if array.size else b""
