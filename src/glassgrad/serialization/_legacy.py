"""PyTorch's checkpoint format before 1.6 (``_use_new_zipfile_serialization=False``): four
pickles (magic number, protocol version, system info, the object), the list of storage keys,
then each storage as its element count (int64) and raw bytes."""

from __future__ import annotations

import pickle
import struct
import sys

import numpy as np

from glassgrad.serialization import _weights_only
from glassgrad.serialization._load import (
    REBUILDERS,
    UntypedStorage,
    _FullUnpickler,
    _Typed,
    default_allowed,
    restore_location,
)

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
NOT_A_CHECKPOINT = (
    "glassgrad.load: the file is neither a zip archive (PyTorch's checkpoint format) nor a "
    "safetensors file, nor PyTorch's legacy (pre-1.6) format: it is corrupt or not a checkpoint"
)
PROTOCOL_VERSION = 1001
_SYS_INFO = {
    "protocol_version": PROTOCOL_VERSION,
    "little_endian": sys.byteorder == "little",
    "type_sizes": {"short": 2, "int": 4, "long": 4},
}


def load_legacy(handle, map_location, weights_only, pickle_load_args):
    """Reads the legacy format as PyTorch's ``_legacy_load`` does (and with its errors)."""
    allowed = default_allowed(REBUILDERS)
    restore = restore_location(map_location)
    storages: dict[str, _Typed] = {}

    def persistent_load(pid):
        if not isinstance(pid, tuple) or len(pid) != 6 or _weights_only._ascii(pid[0]) != "storage":
            if isinstance(pid, tuple) and pid and _weights_only._ascii(pid[0]) == "module":
                return pid[1]  # (a whole module saved by PyTorch: its class, never its source)
            raise RuntimeError(f"Unknown saved id type: {pid[0] if pid else pid}")
        _, storage_type, key, location, numel, view = pid
        if key not in storages:
            data = np.zeros(int(numel) * storage_type.dtype.itemsize, np.uint8)  # filled later
            result = restore(UntypedStorage(data), _weights_only._ascii(location))
            storages[key] = _Typed(result.data.view(storage_type.dtype))
        if view is None:
            return storages[key]
        _, offset, size = view
        return _Typed(storages[key].array[offset : offset + size])

    def unpickle(persistent=None):
        if weights_only:
            encoding = pickle_load_args.get("encoding", "utf-8")
            return _weights_only.Unpickler(handle, allowed, persistent, encoding).load()
        args = {"encoding": "utf-8", **pickle_load_args}
        return _FullUnpickler(handle, allowed, persistent, **args).load()

    try:
        magic = unpickle()
        if magic != MAGIC_NUMBER:
            raise RuntimeError("Invalid magic number; corrupt file?")
    except Exception as exc:  # PyTorch's error as PyTorch raises it, with a word on why
        exc.add_note(NOT_A_CHECKPOINT)
        raise
    protocol_version = unpickle()
    if protocol_version != PROTOCOL_VERSION:
        raise RuntimeError(f"Invalid protocol version: {protocol_version}")
    sys_info = unpickle()
    result = unpickle(persistent_load)
    for key in unpickle():
        if key not in storages:
            raise AssertionError(f"storage key {key!r} not found in deserialized_objects")
        _fill(handle, storages[key].array, sys_info)
    return result


def _fill(handle, array: np.ndarray, sys_info) -> None:
    head = handle.read(8)
    if len(head) != 8 or struct.unpack("<q", head)[0] != array.size:
        raise RuntimeError("storage has wrong byte size: the file is truncated or corrupt")
    view = memoryview(array.view(np.uint8).reshape(-1))
    if handle.readinto(view) != array.nbytes:
        raise RuntimeError("unexpected EOF, expected more bytes. The file might be corrupted.")
    little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    if little != (sys.byteorder == "little"):
        array[...] = array.byteswap()


def save_legacy(handle, pickled_object: bytes, storages, pickle_protocol: int) -> None:
    """Writes the legacy format around an object already pickled with 6-tuple storage ids."""
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION, _SYS_INFO):
        pickle.dump(header, handle, protocol=pickle_protocol)
    handle.write(pickled_object)
    pickle.dump(list(storages.arrays), handle, protocol=pickle_protocol)
    for array in storages.arrays.values():
        handle.write(struct.pack("<q", array.size))
        handle.write(array.reshape(-1).view(np.uint8).data if array.size else b"")
