"""Arrays in memory that other processes can map: what ``Tensor.share_memory_()`` moves data into.

PyTorch keeps a shared tensor's storage in a memory file that it passes to other processes,
either as an open file descriptor (``file_descriptor``, Linux's default) or by its name in
``/dev/shm`` (``file_system``). Here the same two ways hold a NumPy array: an ``mmap`` of an
anonymous memory file (``memfd_create``, kept open so it can be passed on again), or of a named
file that is removed when the process that made it frees it. A process that receives either maps
the same pages, so a write on one side is seen on the other.
"""

from __future__ import annotations

import itertools
import mmap
import os
import tempfile
import weakref

import numpy as np

__all__ = ["STRATEGIES", "allocate", "attach_fd", "attach_name", "handle", "is_shared"]

STRATEGIES = ("file_descriptor", "file_system")
strategy = ["file_descriptor" if hasattr(os, "memfd_create") else "file_system"]

# mmap -> ("fd", descriptor) or ("name", file name): how to pass it to another process
_HANDLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_COUNTER = itertools.count()
_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def _map(fd, nbytes) -> mmap.mmap:
    return mmap.mmap(fd, max(nbytes, 1))  # (an empty mapping is refused: keep one byte)


def _new_fd(nbytes) -> mmap.mmap:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("glassgrad-shared", os.MFD_CLOEXEC)
    else:  # an unnamed file: created, then unlinked at once
        fd, name = tempfile.mkstemp(prefix="glassgrad-shared-", dir=_SHM_DIR)
        os.unlink(name)
    os.ftruncate(fd, max(nbytes, 1))
    return _keep_fd(fd, nbytes)


def _keep_fd(fd, nbytes) -> mmap.mmap:
    memory = _map(fd, nbytes)
    _HANDLES[memory] = ("fd", fd)
    weakref.finalize(memory, os.close, fd)
    return memory


def _new_named(nbytes) -> mmap.mmap:
    name = os.path.join(_SHM_DIR, f"glassgrad_{os.getpid()}_{next(_COUNTER)}")
    fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, max(nbytes, 1))
        memory = _map(fd, nbytes)
    finally:
        os.close(fd)
    _HANDLES[memory] = ("name", name)
    weakref.finalize(memory, _unlink, name)  # the maker's copy going away removes the file
    return memory


def _unlink(name) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def allocate(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``array`` in shared memory (by the current strategy)."""
    make = _new_fd if strategy[0] == "file_descriptor" else _new_named
    memory = make(array.nbytes)
    # a transposed (Fortran-ordered) array keeps its strides, as PyTorch's moved storage does
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    shared = np.ndarray(array.shape, array.dtype, buffer=memory, order=order)
    shared[...] = array
    return shared


def _root(array: np.ndarray):
    base = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return base


def is_shared(array) -> bool:
    """Whether ``array`` lies in memory made by ``allocate`` (here or in another process)."""
    root = _root(array)
    return isinstance(root, mmap.mmap) and root in _HANDLES


def handle(array: np.ndarray):
    """``(kind, key, nbytes, offset, strides)`` to map ``array``'s memory in another process:
    kind "fd" with an open descriptor, or "name" with a file name."""
    memory = _root(array)
    kind, key = _HANDLES[memory]
    start = np.ndarray((1,), np.uint8, buffer=memory).__array_interface__["data"][0]
    offset = array.__array_interface__["data"][0] - start
    return kind, key, len(memory), offset, array.strides


def _view(memory, dtype, shape, offset, strides) -> np.ndarray:
    return np.ndarray(shape, dtype, buffer=memory, offset=offset, strides=strides)


def attach_fd(fd, nbytes, dtype, shape, offset, strides) -> np.ndarray:
    """The array another process shared by descriptor (``fd`` is now this process's)."""
    return _view(_keep_fd(fd, nbytes), dtype, shape, offset, strides)


def attach_name(name, nbytes, dtype, shape, offset, strides) -> np.ndarray:
    """The array another process shared by file name."""
    fd = os.open(name, os.O_RDWR)
    try:
        memory = _map(fd, nbytes)
    finally:
        os.close(fd)
    _HANDLES[memory] = ("name", name)
    return _view(memory, dtype, shape, offset, strides)
