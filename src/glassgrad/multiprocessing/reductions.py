"""How tensors are pickled between processes (``multiprocessing``'s ``ForkingPickler``).

A tensor in shared memory travels as a handle to that memory (an open file descriptor, passed
as ``multiprocessing`` passes descriptors, or a file name), so the receiver's tensor is a view
of the same pages. Any other tensor travels as a copy of its data, as a plain ``pickle`` would
carry it (PyTorch moves such a tensor into shared memory first; here the sender's tensor is left
as it was).
"""

from __future__ import annotations

from multiprocessing import reduction

from glassgrad import _shared_memory
from glassgrad.nn.parameter import Parameter
from glassgrad.tensor import Tensor

__all__ = ["init_reductions", "rebuild_shared", "reduce_tensor"]


def reduce_tensor(tensor):
    """``(rebuild, args)`` for ``tensor``: a handle to its memory if shared, else a copy."""
    if tensor._grad_fn is not None:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
            "does not support crossing process boundaries.  If you just want to transfer the "
            "data, call detach() on the tensor before serializing (e.g., putting it on the queue)."
        )
    data = tensor._data
    if not _shared_memory.is_shared(data):
        return tensor.__reduce_ex__(2)
    kind, key, nbytes, offset, strides = _shared_memory.handle(data)
    if kind == "fd":
        key = reduction.DupFd(key)  # an open descriptor for the receiver, however it is sent
    meta = (data.dtype, data.shape, offset, strides)
    return rebuild_shared, (type(tensor), kind, key, nbytes, meta, tensor._requires_grad)


def rebuild_shared(cls, kind, key, nbytes, meta, requires_grad):
    """The receiver's side of ``reduce_tensor``: a tensor over the same shared memory."""
    dtype, shape, offset, strides = meta
    if kind == "fd":
        data = _shared_memory.attach_fd(key.detach(), nbytes, dtype, shape, offset, strides)
    else:
        data = _shared_memory.attach_name(key, nbytes, dtype, shape, offset, strides)
    if cls is Parameter:
        return Parameter(Tensor._from_array(data), requires_grad)
    tensor = Tensor._from_array(data)
    tensor._requires_grad = requires_grad
    if cls is not Tensor:
        tensor = tensor.as_subclass(cls)
    return tensor


def init_reductions() -> None:
    """Register the tensor reducers with ``multiprocessing`` (done at import)."""
    reduction.ForkingPickler.register(Tensor, reduce_tensor)
    reduction.ForkingPickler.register(Parameter, reduce_tensor)
