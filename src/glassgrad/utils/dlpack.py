"""``torch.utils.dlpack``: tensors exchanged with other array libraries (PyTorch, NumPy, JAX,
CuPy...) through DLPack, without copying: both sides see the same memory."""

from __future__ import annotations

import numpy as np

from glassgrad.tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor):
    """A DLPack capsule of ``tensor``'s memory (consumed once, by ``from_dlpack``); unlike
    ``__dlpack__``, a tensor that requires grad is exported too, as in PyTorch."""
    return tensor._data.__dlpack__()


class _Capsule:
    """A bare capsule, given the ``__dlpack__`` protocol that NumPy reads."""

    def __init__(self, capsule) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


class _Writable:
    """The memory of a read-only array that NumPy made from a bare capsule, written through
    (a bare capsule says nothing of read-only memory; PyTorch writes into it too)."""

    def __init__(self, array) -> None:
        self.array = array  # keeps the producer's memory alive
        self.__array_interface__ = dict(
            array.__array_interface__, data=(array.__array_interface__["data"][0], False)
        )


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor over the memory of ``ext_tensor`` (an object with ``__dlpack__`` or a DLPack
    capsule), shared unless ``copy=True``."""
    if type(ext_tensor).__name__ == "PyCapsule":
        try:
            array = np.from_dlpack(_Capsule(ext_tensor))
        except (RuntimeError, BufferError, TypeError, ValueError) as error:
            raise RuntimeError(
                "from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
                "consumed only once, so you might have already constructed a tensor from it once."
            ) from error
        array = np.asarray(_Writable(array)) if not array.flags.writeable else array
    else:
        array = np.from_dlpack(ext_tensor, copy=copy)
    if copy:
        array = array.copy()
    return Tensor._from_array(array)
