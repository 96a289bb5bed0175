"""``save`` / ``load`` with PyTorch's checkpoint format, both ways.

``save`` writes PyTorch's zip format, which PyTorch's ``torch.load`` reads (``weights_only=True``
included). ``load`` reads it from PyTorch or glassgrad, and also the safetensors files that
earlier glassgrad versions wrote; by default (as PyTorch since 2.6) through a weights-only
unpickler that builds tensors, containers and primitive values and runs no other code. Every
byte of a checkpoint glassgrad wrote is covered by a checksum: a corrupt file raises and loads
nothing.
"""

from __future__ import annotations

import os
import pickle

from glassgrad.serialization._save import DEFAULT_PROTOCOL, save
from glassgrad.serialization._weights_only import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from glassgrad.serialization._zip import CorruptArchive

__all__ = [
    "DEFAULT_PROTOCOL",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "load",
    "safe_globals",
    "save",
]

_UNSAFE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in "
    "`torch.load` from `False` to `True`. Re-running `torch.load` with `weights_only` set to "
    "`False` will likely succeed, but it can result in arbitrary code execution. Do it only if "
    "you got the file from a trusted source."
)
_DOCS = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default "
    "with weights_only https://pytorch.org/docs/stable/generated/torch.load.html."
)


def _weights_only_message(message: str) -> str:
    """PyTorch's wording around a weights-only refusal (``torch.load``'s ``_get_wo_message``)."""
    if "was not an allowed global by default." in message:
        return (
            "Weights only load failed. This file can still be loaded, to do so you have two "
            "options, \033[1mdo those steps only if you trust the source of the checkpoint"
            f"\033[0m. \n\t(1) {_UNSAFE}\n\t(2) Alternatively, to load with `weights_only=True` "
            "please check the recommended steps in the following error message.\n\t"
            "WeightsUnpickler error: " + message + _DOCS
        )
    if " must be " in message and " to load" in message:
        return f"Weights only load failed. {message}\n {_UNSAFE}\n"
    text = f"Weights only load failed. {_UNSAFE}\n"
    if "is blocked" not in message:
        text += (
            "Please file an issue with the following so that we can make `weights_only=True` "
            "compatible with your use case: WeightsUnpickler error: "
        )
    return text + "\n\n" + message + _DOCS


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):  # fmt: skip
    """Loads an object saved with ``save`` (glassgrad's or PyTorch's) from a file.

    Args:
        f: a path or a binary file object (seekable).
        map_location: ``'cpu'``, a ``torch.device``, a dict of location renames, or a callable
            ``(storage, location) -> storage``; CUDA locations raise as PyTorch's CPU build does.
        weights_only: True (the default) builds tensors, containers and primitive values only.
        mmap: memory-map the file instead of reading the storages into memory.

    Raises:
        pickle.UnpicklingError: the pickle needs something the weights-only unpickler refuses.
        RuntimeError: the file is truncated, corrupt or not a checkpoint; nothing is returned.
    """
    weights_only = _weights_only_setting(weights_only, pickle_module)
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if pickle_load_args and weights_only:
        import warnings

        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            return _load_opened(handle, f, map_location, weights_only, mmap, pickle_load_args)
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    return _load_opened(f, None, map_location, weights_only, False, pickle_load_args)


def _weights_only_setting(weights_only, pickle_module) -> bool:
    """PyTorch's default (True unless a pickle module is given) and its environment overrides."""
    not_set = weights_only is None
    if not_set:
        weights_only = pickle_module is None
    truthy = ("1", "y", "yes", "true")
    force = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in truthy
    force_not = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in truthy
    if force and force_not:
        raise RuntimeError(
            "Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
            "should be set, but both were set."
        )
    if force:
        return True
    if force_not and not_set:
        import warnings

        warnings.warn(
            "Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected, since the"
            "`weights_only` argument was not explicitly passed to `torch.load`, forcing "
            "weights_only=False.",
            UserWarning,
            stacklevel=3,
        )
        return False
    return weights_only


def _signed_by_glassgrad(handle, start: int) -> bool:
    """Whether the file ends as glassgrad's archives end (with their checksum): then it is one,
    even where a flipped bit has damaged its first bytes, and the checksum will say so."""
    from glassgrad.serialization._zip import TAG

    size = handle.seek(0, os.SEEK_END)
    tail = len(TAG) + 64
    handle.seek(max(start, size - tail))
    signed = size - start >= tail and handle.read(len(TAG)) == TAG
    handle.seek(start)
    return signed


def _load_opened(handle, path, map_location, weights_only, mmap, pickle_load_args):
    start = handle.tell()
    magic = handle.read(9)
    handle.seek(start)
    if magic[:4] == b"PK\x03\x04" or _signed_by_glassgrad(handle, start):
        from glassgrad.serialization._load import load_zip

        size = handle.seek(0, os.SEEK_END) - start
        handle.seek(start)
        mmap_path = path if mmap else None
        try:
            return load_zip(
                handle, start, size, map_location, weights_only, mmap_path, pickle_load_args
            )
        except pickle.UnpicklingError as exc:
            if weights_only:
                raise pickle.UnpicklingError(_weights_only_message(str(exc))) from None
            raise
        except CorruptArchive as exc:
            raise RuntimeError(
                f"PytorchStreamReader failed reading zip archive: {exc}. If you are seeing this "
                "error, there is a high likelihood that your checkpoint file is corrupted. This "
                "can happen if the checkpoint was not saved properly, was transferred "
                "incorrectly, or the file was modified after saving."
            ) from None
    if mmap:
        name = "" if not isinstance(path, str) else f"{path}, "
        raise RuntimeError(
            "mmap can only be used with files saved with "
            f"`torch.save({name}_use_new_zipfile_serialization=True), "
            "please torch.save your checkpoint with this option in order to use mmap."
        )
    if len(magic) == 9 and magic[8:9] == b"{":  # an 8-byte header length, then JSON
        from glassgrad.serialization import _safetensors

        return _safetensors.load(handle, path if path is not None else "the stream")
    return _load_pre_zip(handle, map_location, weights_only, pickle_load_args)


def _load_pre_zip(handle, map_location, weights_only, pickle_load_args):
    """PyTorch's format before 1.6 (it starts with a pickled magic number): read as PyTorch
    reads it, so that what is not a checkpoint at all gets PyTorch's errors, plus a note."""
    from glassgrad.serialization._legacy import load_legacy

    try:
        return load_legacy(handle, map_location, weights_only, pickle_load_args)
    except pickle.UnpicklingError as exc:
        if not weights_only:
            raise
        error = pickle.UnpicklingError(_weights_only_message(str(exc)))
        for note in getattr(exc, "__notes__", ()):
            error.add_note(note)
        raise error from None


def get_unsafe_globals_in_checkpoint(f) -> list[str]:
    """The names in a checkpoint's pickle that ``weights_only`` loading would refuse (read
    statically, as PyTorch reads them: nothing is unpickled)."""
    import pickletools
    from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING

    from glassgrad.serialization import _load, _weights_only
    from glassgrad.serialization._zip import ZipReader

    handle = open(f, "rb") if isinstance(f, (str, os.PathLike)) else f  # noqa: SIM115
    try:
        start = handle.tell()
        if handle.read(4) != b"PK\x03\x04":
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        size = handle.seek(0, os.SEEK_END)
        handle.seek(start)
        pickled = ZipReader(handle, size - start, start).get_record("data.pkl")
    finally:
        if handle is not f:
            handle.close()
    safe = set(_load.default_allowed(_load.REBUILDERS)) | set(_weights_only._user_allowed())
    found = set()
    for opcode, arg, _ in pickletools.genops(pickled):
        if opcode.code.encode("latin-1")[0] not in _weights_only._HANDLERS:
            raise pickle.UnpicklingError(f"Unsupported operand {opcode.code.encode('latin-1')[0]}")
        if opcode.name == "GLOBAL":
            module, name = arg.split(" ", 1)
            if (module, name) in NAME_MAPPING:
                module, name = NAME_MAPPING[(module, name)]
            else:
                module = IMPORT_MAPPING.get(module, module)
            found.add(f"{module}.{name}")
    return list(found - safe)
