"""The checkpoints glassgrad 0.1 wrote: safetensors files, never pickle. ``load`` still reads
them (and any safetensors file); ``save`` here only makes such files for tests of that reader.

Tensors are stored as safetensors tensors; a flat ``{name: tensor}`` state dict keeps its names,
so PyTorch reads the file with ``safetensors.torch.load_file`` and loads it into the same model.
Everything else (an optimizer's ``param_groups``, integer keys, tuples, scalars) is described by
a JSON skeleton in the file's metadata, in which tensors appear as references by name. Loading
parses that skeleton as data only, checks every reference and every tensor before building
anything, and so either returns the whole object or raises without side effects.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections import Counter, OrderedDict

import numpy as np

from glassgrad.tensor import Tensor

_KEY = "glassgrad"  # metadata entry holding the JSON skeleton
_VERSION = 1
_INSTALL = "glassgrad.save and glassgrad.load need the safetensors package: pip install safetensors"
_MAPPINGS = {"dict": dict, "OrderedDict": OrderedDict, "Counter": Counter}


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError as exc:  # an optional extra: say how to get it
        raise ImportError(_INSTALL) from exc
    return st


# -- saving ----------------------------------------------------------------------------------
class _Encoder:
    """Turns an object into a JSON skeleton plus a ``{name: ndarray}`` tensor table."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def name_for(self, path: str) -> str:
        name, n = path or "tensor", 1
        while name in self.arrays:
            name, n = f"{path}#{n}", n + 1
        return name

    def encode(self, obj, path: str):
        if isinstance(obj, Tensor):
            name = self.name_for(path)
            self.arrays[name] = _contiguous(obj._data)
            return {"tensor": name, "requires_grad": bool(obj._requires_grad)}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return {"value": obj}
        if isinstance(obj, (list, tuple)):
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {kind: [self.encode(v, _join(path, str(i))) for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            kind = type(obj).__name__ if type(obj).__name__ in _MAPPINGS else "dict"
            items = [
                [self.encode(k, ""), self.encode(v, _join(path, str(k)))]
                for k, v in obj.items()
                if not isinstance(k, Tensor)
            ]
            if len(items) != len(obj):
                raise TypeError("glassgrad.save: dict keys must be numbers, strings or None")
            return {kind: items}
        raise TypeError(
            f"glassgrad.save: cannot store an object of type {type(obj).__name__} "
            "(only tensors, numbers, strings, None, lists, tuples and dicts)"
        )


def _contiguous(array: np.ndarray) -> np.ndarray:
    # Not np.ascontiguousarray: it turns 0-d arrays (an optimizer's ``step``) into 1-d ones.
    return array if array.flags.c_contiguous else array.copy(order="C")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """A checksum of every tensor's bytes: safetensors itself cannot see flipped data bytes."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(_contiguous(arrays[name]).reshape(-1).view(np.uint8))  # (no copy)
    return digest.hexdigest()


def save(obj, f) -> None:
    """Writes ``obj`` as glassgrad 0.1 did (a safetensors file with a JSON skeleton)."""
    st = _safetensors()
    encoder = _Encoder()
    skeleton = encoder.encode(obj, "")
    described = {"version": _VERSION, "object": skeleton, "sha256": _digest(encoder.arrays)}
    metadata = {"format": "pt", _KEY: json.dumps(described)}
    data = st.save(encoder.arrays, metadata=metadata)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:
            handle.write(data)
    else:
        f.write(data)


# -- loading ---------------------------------------------------------------------------------
_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "I64": "int64", "I32": "int32",
    "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool", "BF16": "bfloat16",
}  # fmt: skip


def _corrupt(source, reason: str) -> RuntimeError:
    return RuntimeError(
        f"glassgrad.load: {source} is not a valid glassgrad/safetensors checkpoint: {reason}"
    )


def _header(handle, source) -> dict:
    """The safetensors header: ``{name: {dtype, shape, data_offsets}}`` and ``__metadata__``."""
    head = handle.read(8)
    if len(head) < 8:
        raise _corrupt(source, "the file is shorter than the 8-byte header length")
    (size,) = struct.unpack("<Q", head)
    text = handle.read(size) if size < (1 << 30) else b""
    if len(text) != size:
        raise _corrupt(source, "the header is truncated")
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _corrupt(source, f"the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _corrupt(source, "the header is not a JSON object")
    if not isinstance(header.get("__metadata__") or {}, dict):
        raise _corrupt(source, "the metadata is not a JSON object")
    return header


def _read_tensors(handle, header: dict, source) -> dict[str, np.ndarray]:
    """Each tensor read straight into its own array: memory peaks at the file's size."""
    start = handle.tell()
    entries = sorted(
        ((name, info) for name, info in header.items() if name != "__metadata__"),
        key=lambda item: _offsets(item[1], source)[0],
    )
    arrays, end = {}, 0
    for name, info in entries:
        begin, stop = _offsets(info, source)
        dtype = np.dtype(_numpy_dtype(info.get("dtype"), source))
        shape = info.get("shape")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise _corrupt(source, f"tensor {name!r} has an invalid shape")
        count = int(np.prod(shape, dtype=np.int64))
        if begin != end or stop - begin != count * dtype.itemsize:
            raise _corrupt(source, f"tensor {name!r} has invalid data offsets")
        array = np.empty(count, dtype)
        handle.seek(start + begin)
        if handle.readinto(memoryview(array).cast("B")) != array.nbytes:
            raise _corrupt(source, "the tensor data is truncated")
        arrays[name], end = array.reshape(shape), stop
    if handle.read(1):
        raise _corrupt(source, "it has bytes after the tensor data")
    return arrays


def _offsets(info, source) -> tuple[int, int]:
    offsets = info.get("data_offsets") if isinstance(info, dict) else None
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(
        isinstance(n, int) and n >= 0 for n in offsets
    ) and offsets[0] <= offsets[1]):  # fmt: skip
        raise _corrupt(source, "a tensor entry is malformed")
    return offsets[0], offsets[1]


def _numpy_dtype(name, source):
    if name not in _DTYPES:
        raise _corrupt(source, f"unknown dtype {name!r}")
    if name == "BF16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return _DTYPES[name]


class _Decoder:
    """Rebuilds an object from a skeleton, refusing anything but the shapes ``_Encoder`` makes."""

    def __init__(self, arrays: dict[str, np.ndarray], source) -> None:
        self.arrays = arrays
        self.source = source
        self.used: set[str] = set()

    def fail(self, reason: str) -> RuntimeError:
        return _corrupt(self.source, reason)

    def decode(self, node):
        if not isinstance(node, dict) or not node:
            raise self.fail("the object description is malformed")
        kind = next(iter(node))
        if kind == "tensor":
            return self.tensor(node)
        if len(node) != 1:
            raise self.fail("the object description is malformed")
        value = node[kind]
        if kind == "value":
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise self.fail("a stored value is not a number, string or null")
            return value
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [self.decode(v) for v in value]
            return tuple(items) if kind == "tuple" else items
        if kind in _MAPPINGS and isinstance(value, list):
            return _MAPPINGS[kind](dict(self.pair(item) for item in value))
        raise self.fail(f"unknown entry {kind!r} in the object description")

    def pair(self, item):
        if not isinstance(item, list) or len(item) != 2:
            raise self.fail("a dict entry is malformed")
        key = self.decode(item[0])
        if isinstance(key, (list, dict, Tensor)):
            raise self.fail("a dict key is not a number, string or null")
        return key, self.decode(item[1])

    def tensor(self, node):
        name, flag = node.get("tensor"), node.get("requires_grad", False)
        if not isinstance(name, str) or name not in self.arrays or not isinstance(flag, bool):
            raise self.fail(f"it refers to a tensor {name!r} that the file does not hold")
        self.used.add(name)
        out = Tensor._from_array(self.arrays[name])
        if flag and out.is_floating_point():
            out._requires_grad = True
        return out


def load(handle, source):
    """An object written by glassgrad 0.1's ``save`` (or any safetensors file, as
    ``{name: tensor}``); either the whole object or an error, never part of it."""
    header = _header(handle, source)
    meta = header.get("__metadata__") or {}
    arrays = _read_tensors(handle, header, source)
    if _KEY not in meta:
        return {name: Tensor._from_array(array) for name, array in arrays.items()}
    try:
        described = json.loads(meta[_KEY])
    except (TypeError, RecursionError, json.JSONDecodeError):
        raise _corrupt(source, "the object description is not JSON") from None
    if not isinstance(described, dict) or described.get("version") != _VERSION:
        raise _corrupt(source, "unknown checkpoint version")
    if described.get("sha256") != _digest(arrays):
        raise _corrupt(source, "the tensor data does not match its checksum")
    decoder = _Decoder(arrays, source)
    try:
        obj = decoder.decode(described.get("object"))
    except RecursionError:
        raise _corrupt(source, "the object description is nested too deeply") from None
    if decoder.used != set(arrays):
        raise _corrupt(source, "it holds tensors the object description does not mention")
    return obj
