"""``nn.Parameter`` and ``nn.Buffer``: tensors a Module registers, on assignment, as one of its
learnable weights or as state that is not learned; ``UninitializedParameter`` and
``UninitializedBuffer``, their placeholders in lazy modules until the first forward gives them a
shape."""

from __future__ import annotations

import numpy as np

from glassgrad.tensor import Tensor, init_slots

__all__ = [
    "Parameter",
    "Buffer",
    "UninitializedParameter",
    "UninitializedBuffer",
    "is_lazy",
]


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
        # A parameter shares its storage with ``data``, as PyTorch's ``_make_subclass`` does
        # (a parameter made of an inference tensor is one: requires_grad=True is then refused)
        inference = isinstance(data, Tensor) and data._vc is None
        self = init_slots(Tensor.__new__(cls), array, inference=inference)
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


# -- placeholders of lazy modules -----------------------------------------------------------------
def _refused(name):
    def refuse(self, *args, **kwargs):
        raise ValueError(
            f"Attempted to use an uninitialized parameter in <method '{name}' of "
            "'torch._C.TensorBase' objects>. This error happens when you are using a `LazyModule` "
            f"or explicitly manipulating `torch.nn.parameter.{type(self).__name__}` objects. When "
            "using LazyModules Call `forward` with a dummy batch to initialize the parameters "
            "before calling torch functions"
        )

    refuse.__name__ = name
    return refuse


class UninitializedTensorMixin:
    """A tensor with no shape yet: ``materialize(shape)`` makes it its ``cls_to_become``."""

    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor an (uninitialised) array of ``shape`` and become ``cls_to_become``."""
        from glassgrad.creation import empty

        dtype = self.dtype if dtype is None else dtype
        self._data = empty(tuple(shape), dtype=dtype, device=device)._data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`."
        )

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (self.__class__, (self.requires_grad,))

    # what PyTorch refuses on a tensor without a shape (size, dtype, casts and copy_ stay allowed)
    numel = _refused("numel")
    dim = _refused("dim")
    numpy = _refused("numpy")
    tolist = _refused("tolist")
    item = _refused("item")
    __getitem__ = _refused("__getitem__")
    __add__ = __radd__ = _refused("add")
    __mul__ = __rmul__ = _refused("mul")
    __matmul__ = _refused("matmul")


def _keeps_lazy(name):
    """A cast that, as PyTorch's, gives a placeholder again (of the new dtype)."""

    def cast(self, *args, **kwargs):
        out = getattr(super(UninitializedTensorMixin, self), name)(*args, **kwargs)
        if not isinstance(out, Tensor) or out is self:
            return out
        return self._placeholder(out.dtype)

    cast.__name__ = name
    return cast


for _name in ("to", "double", "float", "half", "bfloat16", "type"):
    setattr(UninitializedTensorMixin, _name, _keeps_lazy(_name))


def is_lazy(param) -> bool:
    """Whether ``param`` is a placeholder of a lazy module (an uninitialized tensor)."""
    return isinstance(param, UninitializedTensorMixin)


def _empty_of(dtype, device):
    from glassgrad.creation import empty

    return empty(0, dtype=dtype, device=device)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape a lazy module sets on its first forward."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return Parameter.__new__(cls, _empty_of(dtype, device), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None) -> None:
        pass

    def _placeholder(self, dtype):
        return type(self)(self.requires_grad, None, dtype)

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self._placeholder(self.dtype)
        return memo[id(self)]


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape a lazy module sets on its first forward."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        data = _empty_of(dtype, device)
        buffer = init_slots(Tensor.__new__(cls), data._data)
        if requires_grad:
            buffer.requires_grad_(True)
        buffer.persistent = persistent
        buffer._is_buffer = True
        return buffer

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True) -> None:
        pass

    def _placeholder(self, dtype):
        return type(self)(self.requires_grad, None, dtype, self.persistent)

    def __deepcopy__(self, memo):
        # PyTorch's UninitializedBuffer has no __deepcopy__ of its own: Tensor's is refused
        raise ValueError(
            "Attempted to use an uninitialized parameter in <function Tensor.__deepcopy__>. "
            "This error happens when you are using a `LazyModule` or explicitly manipulating "
            "`torch.nn.parameter.UninitializedBuffer` objects. When using LazyModules Call "
            "`forward` with a dummy batch to initialize the parameters before calling torch "
            "functions"
        )
