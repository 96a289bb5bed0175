"""``save`` / ``load``: checkpoints as safetensors files, never pickle.

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

__all__ = ["load", "save"]

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
        digest.update(_contiguous(arrays[name]).tobytes())
    return digest.hexdigest()


def save(obj, f) -> None:
    """Save tensors, state dicts and nested containers of them to ``f`` (a path or binary file)
    in the safetensors format."""
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
def _read(f) -> bytes:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            return handle.read()
    if isinstance(f, (bytes, bytearray)):
        return bytes(f)
    return f.read()


def _corrupt(source, reason: str) -> RuntimeError:
    return RuntimeError(
        f"glassgrad.load: {source} is not a valid glassgrad/safetensors checkpoint: {reason}"
    )


def _metadata(data: bytes, source) -> dict:
    """The ``__metadata__`` of the safetensors header (the tensors are checked separately)."""
    if len(data) < 8:
        raise _corrupt(source, "the file is shorter than the 8-byte header length")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise _corrupt(source, "the header is truncated")
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(source, f"the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _corrupt(source, "the header is not a JSON object")
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise _corrupt(source, "the metadata is not a JSON object")
    return meta


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


def load(f, map_location=None, weights_only=True, **kwargs):
    """Load an object written by ``save`` (or any safetensors file, as ``{name: tensor}``).

    Raises:
        RuntimeError: the file is truncated, corrupt or not a checkpoint; nothing is returned.
    """
    st = _safetensors()
    source = f if isinstance(f, (str, os.PathLike)) else "the stream"
    data = _read(f)
    meta = _metadata(data, source)
    try:
        arrays = st.load(data)
    except Exception as exc:  # safetensors reports bad offsets, sizes and dtypes its own way
        raise _corrupt(source, str(exc) or type(exc).__name__) from None
    # Own the memory: the arrays must not alias the bytes just read, and must be writable.
    arrays = {name: np.array(array, copy=True) for name, array in arrays.items()}
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
