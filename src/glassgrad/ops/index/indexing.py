"""Indexing (``t[key]``), index assignment (``t[key] = v``), ``index_put``, narrow and select.

Basic keys (ints, slices, None, ...) give views, as in PyTorch; advanced keys (integer or bool
tensors and lists) give copies whose gradient accumulates over repeated indices. Index
assignment is an in-place write recorded as ``CopySlices`` (see ``inplace_core``).
"""

from __future__ import annotations

import re

import numpy as np

from glassgrad._batched import ACTIVE as _VMAP
from glassgrad._batched import BatchedArray as _Batched
from glassgrad._bfloat16 import floating as _floating
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.forward_rules import indexed
from glassgrad.autograd.forward_state import ACTIVE as _FW
from glassgrad.autograd.grad_mode import state
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.inplace_core import (  # noqa: F401 - inplace/check_inplace re-exported
    FILL_OPS,
    _bump,
    _rebase,
    _snapshot,
    check_inplace,
    check_partial_overlap,
    check_vmap_write,
    expanded_write_warning,
    inplace,
    overlaps,
    write_through,
)
from glassgrad.ops.registry import register
from glassgrad.ops.shape.view import as_view
from glassgrad.ops.view_rebase import handle_view_on_rebase
from glassgrad.tensor import Tensor, _wrap_dim, tensor_method

_BASIC = (int, slice, np.integer)


def _convert_part(part):
    """One key entry as NumPy understands it, PyTorch's way (0-d int tensors are ints)."""
    if isinstance(part, Tensor):
        data = part._data
        if _floating(data):
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if data.dtype == np.uint8:  # PyTorch's legacy byte mask
            return data.astype(bool)
        if data.ndim == 0 and data.dtype.kind in "iu" and data.__class__ is not _Batched:
            return int(data)
        return data.astype(np.int64, copy=False) if data.dtype.kind in "iu" else data
    if isinstance(part, (list, tuple)):
        data = np.asarray([p._data if isinstance(p, Tensor) else p for p in part])
        if data.dtype.kind not in "biu":
            if data.size:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            data = data.astype(np.int64)
        return data
    if isinstance(part, np.ndarray):  # keys that rules build (gradients of gather, diag...)
        return part
    if part is None or part is Ellipsis or isinstance(part, (*_BASIC, bool, np.bool_)):
        return part
    if isinstance(part, str):
        raise TypeError("new(): invalid data type 'str'")
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte "
        f"Variables are valid indices (got {type(part).__name__})"
    )


_ADVANCED = (np.ndarray, bool, np.bool_, _Batched)  # (a vmap batch as an index: advanced)


def convert_key(key):
    """Tensors and lists in a key become arrays; returns (key, is_basic)."""
    parts = key if isinstance(key, tuple) else (key,)
    out = tuple(_convert_part(p) for p in parts)
    basic = not any(isinstance(p, _ADVANCED) for p in out)
    return (out if isinstance(key, tuple) else out[0]), basic


def _basic_backward(ctx, grad):
    shape, key = ctx._args
    if D._is_array(grad):
        out = np.zeros_like(grad, shape=shape)  # (not np.zeros: keeps a vmap batch batched)
        out[key] = grad
        return (out,)
    return (index_scatter(shape, key, grad),)


SelectBackward0 = node_class("SelectBackward0", _basic_backward, jvp=indexed)
SliceBackward0 = node_class("SliceBackward0", _basic_backward, jvp=indexed)
AliasBackward0 = node_class("AliasBackward0", _basic_backward, jvp=indexed)
_UnsqueezeIndex = node_class("UnsqueezeBackward0_index", _basic_backward, jvp=indexed)
_UnsqueezeIndex.__name__ = _UnsqueezeIndex.__qualname__ = "UnsqueezeBackward0"
IndexBackward0 = node_class(
    "IndexBackward0",
    lambda ctx, grad: (D.scatter_into(ctx._args[0], ctx._args[1], grad),),
    jvp=indexed,
)


def _node_for(key, shape):
    """The node PyTorch ends a basic index with: the last step that does something."""
    if not isinstance(key, tuple):
        return {int: SelectBackward0, slice: SliceBackward0}.get(
            slice if isinstance(key, slice) else int if isinstance(key, _BASIC) else None,
            _UnsqueezeIndex if key is None else AliasBackward0,
        )
    cls, dim = AliasBackward0, 0
    for part in _expand_ellipsis(key, len(shape)):
        if part is None:
            cls = _UnsqueezeIndex
            continue
        if isinstance(part, slice):
            # PyTorch skips a slice by its written start, not the normalised one: x[-n:] slices
            whole = part.stop is None or part.stop >= shape[dim]
            if (part.start or 0) != 0 or (part.step or 1) != 1 or not whole:
                cls = SliceBackward0
        elif isinstance(part, _BASIC):
            cls = SelectBackward0
        dim += 1
    return cls


def _expand_ellipsis(key, ndim):
    at = next((i for i, p in enumerate(key) if p is Ellipsis), None)
    if at is None:
        return key
    used = sum(_dims_used(p) for p in key)
    return key[:at] + (slice(None),) * (ndim - used) + key[at + 1 :]


_ZERO_DIM_INT = (
    "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in "
    "C++ to convert a 0-dim tensor to a number"
)


def _dims_used(part) -> int:
    """How many dimensions of the indexed tensor a key entry consumes (a bool mask: its own
    number of dimensions, so ``True`` and a 0-d mask consume none)."""
    if part is None or part is Ellipsis or isinstance(part, (bool, np.bool_)):
        return 0
    if isinstance(part, np.ndarray) and part.dtype == np.bool_:
        return part.ndim
    return 1


def _check_bounds(shape, key):
    if not shape and not isinstance(key, tuple):
        if isinstance(key, slice):
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        if isinstance(key, _BASIC) and not isinstance(key, bool):
            raise IndexError(_ZERO_DIM_INT)
    parts = key if isinstance(key, tuple) else (key,)
    for part in parts:
        if isinstance(part, slice) and part.step is not None and part.step < 0:
            raise ValueError("step must be greater than zero")
    used = sum(_dims_used(p) for p in parts)
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    dim = 0
    # PyTorch's message names the index's position in the key (a None counts), not the dim
    for position, part in enumerate(_expand_ellipsis(parts, len(shape))):
        if isinstance(part, _BASIC) and not isinstance(part, (slice, bool, np.bool_)):
            size = shape[dim]
            if not -size <= part < size:
                raise IndexError(
                    f"index {part} is out of bounds for dimension {position} with size {size}"
                )
        dim += _dims_used(part)


def _is_mask(key):
    """Whether a converted key is one bool mask (``x[mask] = v`` is ``masked_fill_`` then)."""
    part = key[0] if isinstance(key, tuple) and len(key) == 1 else key
    return isinstance(part, np.ndarray) and part.dtype == np.bool_


def _check_masks(shape, key):
    """PyTorch's message for a bool mask whose shape does not match the indexed dims."""
    parts = key if isinstance(key, tuple) else (key,)
    dim = 0
    for part in _expand_ellipsis(parts, len(shape)):
        if part is None:
            continue
        if isinstance(part, np.ndarray) and part.dtype == np.bool_:
            for j, n in enumerate(part.shape):
                if dim + j < len(shape) and n != shape[dim + j]:
                    raise IndexError(
                        f"The shape of the mask {list(part.shape)} at index {j} does not match "
                        f"the shape of the indexed tensor {list(shape)} at index {dim + j}"
                    )
            dim += part.ndim
        else:
            dim += 1


def _advanced(data, key):
    _check_bounds(data.shape, key)
    _check_masks(data.shape, key)
    try:
        return data[key]
    except IndexError as exc:
        text = str(exc).strip()
        found = re.match(
            r"shape mismatch: indexing arrays could not be broadcast together with "
            r"shapes (.*)",
            text,
        )
        if found:
            shapes = ", ".join(str(list(eval(s))) for s in found.group(1).split())
            text = (
                f"shape mismatch: indexing tensors could not be broadcast together with "
                f"shapes {shapes}"
            )
        raise IndexError(text.replace("axis", "dimension")) from None


def getitem(self, key):
    """``self[key]`` with PyTorch's semantics (views for basic keys, copies otherwise)."""
    key, basic = convert_key(key)
    data = self._data
    if basic:
        _check_bounds(data.shape, key)
        view = data[key]
        if view.__class__ is not np.ndarray:
            # every dim taken by an integer: NumPy returns a scalar (a copy); with a trailing
            # Ellipsis it returns the 0-d view that PyTorch's ``x[0]`` is
            view = data[(key if isinstance(key, tuple) else (key,)) + (Ellipsis,)]
        res = result(view, _node_for(key, data.shape), (self,), args=(data.shape, key))
        return as_view(res, self, key)
    out = _advanced(data, key)
    # (C order: PyTorch's result of advanced indexing is contiguous, so ``view`` works on it)
    out = out.copy() if out.__class__ is _Batched else np.array(out, copy=True, order="C")
    return result(out, IndexBackward0, (self,), args=(data.shape, key))


def _index_put_backward(ctx, grad):
    key, accumulate = ctx._args
    nexts = ctx.next_functions
    grad_input = None
    if nexts[0][0] is not None:
        grad_input = grad if accumulate else D.index_put_zero(grad, key)
    grad_values = None
    if nexts[1][0] is not None:
        grad_values = _fit_value(grad[key], ctx._meta[1][0])
    return grad_input, grad_values


IndexPutBackward0 = node_class("IndexPutBackward0", _index_put_backward)


def _fit_value(grad, shape):
    """PyTorch drops a value's leading 1-dims before broadcasting; put them back."""
    missing = len(shape) - grad.ndim
    return D.reshape(grad, (1,) * missing + tuple(grad.shape)) if missing > 0 else grad


def _put(input, key, values, accumulate):
    """``index_put`` on a converted key: a copy of ``input`` with ``values`` put at ``key``."""
    out = input._data.copy()
    data = values._data.astype(out.dtype, copy=False)
    if accumulate:
        np.add.at(out, key, _strip(data, out[key].ndim))
    else:
        _write(out, key, data)
    return result(out, IndexPutBackward0, (input, values), args=(key, accumulate))


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` at ``input[indices]`` (added if ``accumulate``)."""
    key, _ = convert_key(tuple(indices))
    _check_put_dtypes(input, key, values)
    return _put(input, key, values, accumulate)


def _check_put_dtypes(input, key, values):
    """PyTorch's order for ``index_put``: the value broadcasts to the indexed shape, then has the
    input's dtype; indices out of bounds come after both."""
    parts = key if isinstance(key, tuple) else (key,)
    # indices replaced by zeros: the indexed shape without the bounds check
    parts = tuple(
        np.zeros_like(p) if isinstance(p, np.ndarray) and p.dtype != np.bool_ else p for p in parts
    )
    try:
        shape = np.broadcast_to(np.zeros((), np.int8), input._data.shape)[parts].shape
    except (IndexError, ValueError):
        shape = None  # a bad mask or key: its own error comes later
    if shape is not None:
        value_shape = np.shape(_strip(values._data, len(shape)))
        try:
            fits = np.broadcast_shapes(value_shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(values._data.shape)} cannot be "
                f"broadcast to indexing result of shape {list(shape)}"
            )
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_C_TYPES[input.dtype.name]} for the destination and {_C_TYPES[values.dtype.name]} "
            "for the source."
        )


def index_scatter(shape, key, grad):
    """Zeros of ``shape`` with the tensor ``grad`` added at ``key`` (differentiable in ``grad``)."""
    from glassgrad.creation import zeros

    return _put(zeros(shape, dtype=grad.dtype), key, grad, True)


def index_fill_zero(grad, key):
    """A copy of tensor ``grad`` with ``grad[key] = 0`` (differentiable)."""
    out = grad.clone()
    out[key] = 0.0
    return out


def _copy_slices_backward(ctx, grad):
    key = ctx._args
    grad_value = None
    if ctx.next_functions[1][0] is not None:
        grad_value = _fit_value(grad[key], ctx._meta[1][0])
    return D.index_put_zero(grad, key), grad_value


CopySlices = node_class("CopySlices", _copy_slices_backward)


def _check_indexed_view(self, key, value):
    """PyTorch writes ``self[key] = value`` into the view ``self[key]``: when ``self`` is a view
    that may not be modified in place, its refusal names that view's node (``Unsqueeze``,
    ``Select``...), not ``self``'s."""
    extra = self._extra
    if extra is None or extra.view_meta is None or not state.record:
        return
    if not (self.requires_grad or getattr(value, "requires_grad", False)):
        return
    parts = key if isinstance(key, tuple) else (key,)
    if all(p is None or p is Ellipsis or isinstance(p, _BASIC) for p in parts) and _makes_view(
        key, self._data.shape
    ):
        handle_view_on_rebase(self[key])


def _makes_view(key, shape):
    """Whether PyTorch writes ``self[key] = value`` through a view of ``self`` (which decides the
    wording of its error on a leaf): when indexing with ``key`` does more than alias ``self``."""
    return _node_for(key if isinstance(key, tuple) else (key,), shape) is not AliasBackward0


def setitem(self, key, value):
    """``self[key] = value``: an in-place write, recorded as ``CopySlices`` when in the graph."""
    _setitem(self, key, value)
    if _FW[0]:  # a dual level is active: the same write into the tangents
        from glassgrad.autograd.forward_rules import setitem_tangent

        setitem_tangent(self, key, value)


def _setitem(self, key, value):
    if _VMAP.levels:  # (PyTorch: a basic key copies into a view, an advanced one is index_put_)
        keys = key if isinstance(key, tuple) else (key,)
        advanced = any(isinstance(k, (Tensor, list, np.ndarray)) for k in keys)
        check_vmap_write(self, "index_put_" if advanced else "copy_", (value, *keys))
    if self._requires_grad:
        _index_before_writing(self, key, value)
    if isinstance(value, Tensor):
        _check_source_overlap(self._data, key, value._data)
    if state.record and (self.requires_grad or getattr(value, "requires_grad", False)):
        whole = _whole(self, key)
        if whole is not None:
            # PyTorch indexes the whole tensor as itself, no view: it fills or copies into it
            return _fill_or_copy(self, value)
    _check_indexed_view(self, key, value)
    region = self._data
    if overlaps(region):  # an expanded tensor: what matters is the part written
        from glassgrad.ops.index.setitem_expanded import written_region

        region = written_region(self, key, value)
    base = check_inplace(
        self,
        through_view=_makes_view(key, self._data.shape),
        fills=region is None,
        region=region,
        others=(value,),
    )
    if base is not None and (base.requires_grad or getattr(value, "requires_grad", False)):
        # a view in the graph: the write goes through its base, so the base's graph sees it
        if region is not None and region is not self._data:
            # an expanded view: only the part written (which shares no memory) goes through
            target = self[key]
            target.copy_(value) if isinstance(value, Tensor) else target.fill_(value)
            return
        res = self.clone()
        res[key] = value
        write_through(self, base, res)
        return
    key, basic = convert_key(key)
    is_tensor = isinstance(value, Tensor)
    if isinstance(value, str):
        raise TypeError(f"can't assign a str to a torch.{self.dtype._legacy}")
    if not is_tensor and isinstance(value, (list, tuple, np.ndarray)):
        from glassgrad.creation import tensor

        value, is_tensor = tensor(value, dtype=self.dtype), True
    values = value._data if is_tensor else value
    if basic:
        _check_bounds(self._data.shape, key)
    else:
        if is_tensor and not (value._data.ndim == 0 and _is_mask(key)):
            _check_put_dtypes(self, key, value)  # (a 0-d value under one mask is a masked_fill)
        _check_masks(self._data.shape, key)
        if state.record and (self._requires_grad or (is_tensor and value._requires_grad)):
            return _advanced_assign(self, key, value if is_tensor else None, values)
    if state.record and (self._requires_grad or (is_tensor and value._requires_grad)):
        snapshot = _snapshot(self)
        node_input = value if is_tensor else None
        res = result(self._data.copy(), CopySlices, (snapshot, node_input), args=key)
        _write(self._data, key, values, basic)
        _bump(self)  # (an inference tensor is written, then refused before its graph changes)
        _rebase(self, res._grad_fn)
        return
    else:
        _write(self._data, key, values, basic)
    _bump(self)


def _index_before_writing(self, key, value):
    """PyTorch's order for a basic key: it takes the view ``self[key]`` (bounds: IndexError),
    converts the value and expands it to the view's shape, and only then writes (where a leaf
    that requires grad is refused)."""
    if isinstance(value, str):
        raise TypeError(f"can't assign a str to a torch.{self.dtype._legacy}")
    try:
        converted, basic = convert_key(key)
    except (IndexError, TypeError, ValueError):
        return  # an advanced key: index_put_ refuses the leaf before looking at it
    if not basic:
        return
    _check_bounds(self._data.shape, converted)
    if isinstance(value, Tensor):
        from glassgrad.ops.shape.expand import expand
        from glassgrad.tensor import _make

        target = np.shape(self._data[converted])
        stripped = np.shape(_strip(value._data, len(target)))
        expand(_make(np.broadcast_to(np.zeros((), np.int8), stripped)), target)


def _whole(self, key):
    """``True`` if ``self[key]`` is ``self`` itself in PyTorch (full slices, ``...``), else None."""
    if isinstance(key, (Tensor, list, np.ndarray)):
        return None
    key, basic = convert_key(key)
    if not basic or _makes_view(key, self._data.shape):
        return None
    return True


def _fill_or_copy(self, value):
    """``self[...] = value`` as PyTorch's ``copy_to`` does it: ``copy_`` (CopyBackwards) from a
    value of ``self``'s shape, else ``fill_`` (FillBackward3) from a 0-d value, else ``copy_``
    with the value's leading dims of size 1 dropped."""
    if not isinstance(value, Tensor):
        if isinstance(value, str):
            raise TypeError(f"can't assign a str to a torch.{self.dtype._legacy}")
        from glassgrad.creation import tensor

        value = tensor(value, dtype=self.dtype)
    shape = value._data.shape
    if not shape and self._data.shape:
        self.fill_(value)
        return
    while len(shape) > self._data.ndim and shape[0] == 1:
        shape = shape[1:]
    self.copy_(value if shape == value._data.shape else value.reshape(shape))


def _check_source_overlap(data, key, values):
    """PyTorch refuses ``x[1:] = x[:-1]``: the value partly shares the memory written to."""
    key, basic = convert_key(key)
    if not basic:
        return
    parts = key if isinstance(key, tuple) else (key,)
    if not any(part is Ellipsis for part in parts):
        parts = (*parts, Ellipsis)  # (keeps a 0-d target a view, not a NumPy scalar)
    try:
        target = data[parts]
    except IndexError:
        return  # (the write itself raises PyTorch's error)
    check_partial_overlap(target, values)


def _advanced_assign(self, key, value, values):
    """``self[advanced key] = value`` in the graph: PyTorch records it as ``index_put_``."""
    if value is None:
        from glassgrad.creation import tensor

        value = tensor(values, dtype=self.dtype)
    inplace(self, _put, key, value, False)


def _strip(values, ndim):
    """Drop leading 1-dims beyond ``ndim`` (PyTorch lets ``t[0] = v[None]`` through)."""
    while getattr(values, "ndim", 0) > ndim and values.shape[0] == 1:
        values = values[0]
    return values


def _write(data, key, values, basic=True):
    try:
        target = data[key] if basic else None
        data[key] = values
    except IndexError:
        _advanced(data, key)
        raise
    except ValueError:
        if basic:
            from glassgrad.ops.shape.expand import expand
            from glassgrad.tensor import _make

            stripped = _strip(np.asarray(values), target.ndim)
            expand(
                _make(np.broadcast_to(np.zeros((), stripped.dtype), stripped.shape)), target.shape
            )
        shape = list(np.shape(values))
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {shape} cannot be broadcast to "
            f"indexing result of shape {list(_advanced(data, key).shape)}"
        ) from None


def narrow(input, dim, start, length):
    """The ``length`` entries of ``dim`` from ``start`` on, as a view."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, len(shape))
    size = shape[dim]
    start = int(start)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    start = start + size if start < 0 else start
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * dim + (slice(start, start + length),)
    res = result(input._data[key], SliceBackward0, (input,), args=(shape, key))
    return as_view(res, input, key)


def select(input, dim, index):
    """The slice at ``index`` of dimension ``dim``, as a view without that dimension."""
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, len(shape))
    if not -shape[dim] <= index < shape[dim]:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(shape)} "
            f"at dimension {dim}"
        )
    key = (slice(None),) * dim + (int(index),)
    # (a trailing Ellipsis keeps a 0-d result a view, not a NumPy scalar)
    res = result(input._data[key + (Ellipsis,)], SelectBackward0, (input,), args=(shape, key))
    return as_view(res, input, key)


def _write_put(array, indices, values, accumulate=False):
    """``index_put_``'s kernel: ``values`` written (or added) at ``indices``."""
    key, _ = convert_key(tuple(indices))
    data = values._data.astype(array.dtype, copy=False)
    if accumulate:
        np.add.at(array, key, _strip(data, array[key].ndim))
    else:
        _write(array, key, data)


def _index_put_(self, indices, values, accumulate=False):
    """In-place ``index_put`` (PyTorch writes through an ``expand``, warning)."""
    return inplace(self, index_put, indices, values, accumulate)


FILL_OPS[index_put] = (expanded_write_warning("index_put_"), _write_put)


def _ref_index_put(x, indices, values, accumulate=False):
    out = x.copy()
    key = tuple(indices)
    if accumulate:
        np.add.at(out, key, values)
    else:
        out[key] = values
    return out


register(
    "narrow",
    narrow,
    reference=lambda x, d, s, n: np.take(x, range(s, s + n), d),
    samples=lambda rng: [((rng.standard_normal((3, 4)), 1, 1, 2), {})],
)
register(
    "select",
    select,
    reference=lambda x, d, i: np.take(x, i, d),
    samples=lambda rng: [((rng.standard_normal((3, 4)), 1, -1), {})],
)
register(
    "index_put",
    index_put,
    nin=2,
    reference=_ref_index_put,
    samples=lambda rng: [
        (
            (rng.standard_normal((3, 4)), (np.array([0, 2, 0]),), rng.standard_normal((3, 4))),
            {"accumulate": True},
        ),
        (
            (
                rng.standard_normal((3, 4)),
                (np.array([0, 2]), np.array([1, 1])),
                rng.standard_normal(2),
            ),
            {},
        ),
    ],
)
tensor_method(_index_put_, "index_put_")
tensor_method(getitem, "__getitem__")
tensor_method(setitem, "__setitem__")
