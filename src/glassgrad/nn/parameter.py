"""``nn.Parameter`` and ``nn.Buffer``: tensors a Module registers, on assignment, as one of its
learnable weights or as state that is not learned."""

from __future__ import annotations

import numpy as np

from glassgrad.tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A Tensor that is a module parameter: a leaf that requires grad (even under ``no_grad``)."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            array = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            raise TypeError(
                f"Parameter.__new__() got an unexpected data of type {type(data).__name__}"
            )
        self = Tensor.__new__(cls)
        # A parameter shares its storage with ``data``, as PyTorch's ``_make_subclass`` does.
        self._data = array
        self._grad = None
        self._grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        self._accum = None
        self._extra = None
        # (a parameter made of an inference tensor is one: requires_grad=True is then refused)
        self._vc = None if isinstance(data, Tensor) and data._vc is None else [0]
        if requires_grad:
            self._set_requires_grad(
                True, "Only Tensors of floating point and complex dtype can require gradients"
            )
        return self

    def __init__(self, data=None, requires_grad=True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        # PyTorch's Parameter.__deepcopy__ copies data and flag only: the copy has no .grad
        new = Parameter(Tensor._from_array(self._data.copy()), self._requires_grad)
        memo[id(self)] = new
        return new


def _rebuild_parameter(data, requires_grad):
    return Parameter(Tensor._from_array(data), requires_grad)


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` holds for the plain tensors ``Buffer(...)`` returns."""

    def __instancecheck__(cls, instance) -> bool:
        marked = isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        if cls is Buffer and marked:
            return True
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """A Tensor that a Module registers as a buffer when assigned as its attribute."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from glassgrad.creation import empty

            data = empty(0)
        # as PyTorch: the result is a plain Tensor (a detached alias of ``data``) marked as a
        # buffer by two attributes of its own
        buffer = data.detach().requires_grad_(data.requires_grad)
        buffer.persistent = persistent
        buffer._is_buffer = True
        return buffer


def buffer_persistent(tensor) -> bool | None:
    """Whether a tensor made by ``Buffer`` is persistent; None for any other tensor."""
    if not getattr(tensor, "_is_buffer", False):
        return None
    return getattr(tensor, "persistent", True)
