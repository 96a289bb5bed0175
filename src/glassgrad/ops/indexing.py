"""Indexing (``t[key]``), index assignment (``t[key] = v``) and the in-place op machinery.

Basic keys (ints, slices, None, ...) give views, as in PyTorch; advanced keys (integer or bool
tensors and lists) give copies whose gradient accumulates over repeated indices. In-place ops on
tensors in the graph are recorded as their out-of-place op plus a rebase of the tensor onto the
new node, so gradients stay right and the version counter catches stale saved tensors.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.grad_mode import state
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import Tensor, node_class, result
from glassgrad.ops.shape import as_view
from glassgrad.tensor import _make


def _convert_key(key):
    """Tensors in a key become arrays; returns (key, is_basic)."""
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    basic = True
    for part in parts:
        if isinstance(part, Tensor):
            part = part._data
            if part.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(part, list):
            part = np.asarray(part)
        if isinstance(part, np.ndarray) or isinstance(part, (bool, np.bool_)):
            basic = False
        elif not (part is None or part is Ellipsis or isinstance(part, (int, slice, np.integer))):
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got " + type(part).__name__ + ")"
            )
        out.append(part)
    return (tuple(out) if isinstance(key, tuple) or len(out) != 1 else out[0]), basic


def _basic_backward(ctx, grad):
    shape, key = ctx._args
    if D._is_array(grad):
        out = np.zeros(shape, dtype=grad.dtype)
        out[key] = grad
        return (out,)
    return (index_scatter(shape, key, grad),)


SelectBackward0 = node_class("SelectBackward0", _basic_backward)
SliceBackward0 = node_class("SliceBackward0", _basic_backward)
AliasBackward0 = node_class("AliasBackward0", _basic_backward)
IndexBackward0 = node_class("IndexBackward0", lambda ctx, grad: (
    D.scatter_into(ctx._args[0], ctx._args[1], grad),))


def _node_for(key):
    parts = key if isinstance(key, tuple) else (key,)
    last = [p for p in parts if p is not None and p is not Ellipsis]
    if not last:
        return AliasBackward0
    return SelectBackward0 if isinstance(last[-1], (int, np.integer)) else SliceBackward0


def _check_bounds(data, key):
    parts = key if isinstance(key, tuple) else (key,)
    dim = 0
    for part in parts:
        if part is Ellipsis:
            dim = data.ndim - (len([p for p in parts if p is not None]) - 1 - dim)
            continue
        if part is None:
            continue
        if isinstance(part, (int, np.integer)) and dim < data.ndim:
            size = data.shape[dim]
            if not -size <= part < size:
                raise IndexError(f"index {part} is out of bounds for dimension {dim} with size "
                                 f"{size}")
        dim += 1
    if dim > data.ndim:
        raise IndexError(f"too many indices for tensor of dimension {data.ndim}")


def getitem(self, key):
    """``self[key]`` with PyTorch's semantics (views for basic keys, copies otherwise)."""
    key, basic = _convert_key(key)
    data = self._data
    if basic:
        _check_bounds(data, key)
        res = result(data[key], _node_for(key), (self,), args=(data.shape, key))
        return as_view(res, self, key)
    try:
        out = data[key]
    except IndexError as exc:
        raise IndexError(str(exc).replace("axis", "dimension")) from None
    return result(np.array(out, copy=True), IndexBackward0, (self,), args=(data.shape, key))


def index_scatter(shape, key, grad):
    """Zeros of ``shape`` with the tensor ``grad`` added at ``key`` (differentiable in ``grad``)."""
    from glassgrad.creation import zeros

    base = zeros(shape, dtype=grad.dtype)
    base[key] = grad
    return base


def index_fill_zero(grad, key):
    """A copy of tensor ``grad`` with ``grad[key] = 0`` (differentiable)."""
    out = grad.clone()
    out[key] = 0.0
    return out


def _copy_slices_backward(ctx, grad):
    key = ctx._args
    return D.index_put_zero(grad, key), grad[key]


CopySlices = node_class("CopySlices", _copy_slices_backward)

_LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_LEAF_INPLACE = ("a view of a leaf Variable that requires grad is being used in an in-place "
                      "operation.")
_INFERENCE_INPLACE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone "
    "to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)
_NO_GRAD_VIEW = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
    "code by moving both the view and the inplace either both inside the no_grad block (if you "
    "don't want the inplace to be tracked) or both outside (if you want the inplace to be "
    "tracked)."
)


def check_inplace(self, through_view=False):
    """Refuse an in-place op PyTorch refuses; return the view's base when it matters."""
    if state.record:
        extra = self._extra
        base = extra.base if extra is not None else None
        if extra is not None and extra.view_no_grad:
            raise RuntimeError(_NO_GRAD_VIEW)
        if base is not None and base._grad_fn is None and base._requires_grad:
            raise RuntimeError(_VIEW_LEAF_INPLACE)
        if self._grad_fn is None and self._requires_grad:
            raise RuntimeError(_VIEW_LEAF_INPLACE if through_view else _LEAF_INPLACE)
        if base is not None and base.requires_grad and self._grad_fn is None:
            raise RuntimeError(_NO_GRAD_VIEW)
        return base
    return None


def _bump(self):
    counter = self._vc
    if counter is None:
        if not state.inference:
            raise RuntimeError(_INFERENCE_INPLACE)
        return
    counter[0] += 1


def setitem(self, key, value):
    """``self[key] = value``: an in-place write, recorded as ``CopySlices`` when in the graph."""
    key, basic = _convert_key(key)
    check_inplace(self, through_view=True)
    is_tensor = isinstance(value, Tensor)
    values = value._data if is_tensor else value
    if basic:
        _check_bounds(self._data, key)
    if state.record and (self._requires_grad or (is_tensor and value._requires_grad)):
        snapshot = _snapshot(self)
        node_input = value if is_tensor else None
        res = result(self._data.copy(), CopySlices, (snapshot, node_input), args=key)
        _write(self, key, values)
        _rebase(self, res._grad_fn)
    else:
        _write(self, key, values)
    _bump(self)


def _write(self, key, values):
    try:
        self._data[key] = values
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None


def _snapshot(self):
    """A stand-in for ``self`` before an in-place write: same graph edge, private copy."""
    snap = _make(self._data.copy(), self._grad_fn, self._output_nr)
    snap._requires_grad = self._requires_grad
    if self._grad_fn is None and self._requires_grad:
        snap._accum = None
    return snap


def _rebase(self, node):
    """Point ``self`` at ``node`` after an in-place op (``retain_grad`` follows the tensor)."""
    old = self._grad_fn
    self._grad_fn = node
    self._output_nr = 0
    self._requires_grad = True
    if old is not None and old._retain and self.retains_grad:
        ref = old._retain.pop(self._output_nr, None)
        if ref is not None:
            node._retain = {0: ref}


def inplace(self, outplace, *args, **kwargs):
    """Run ``outplace(self, *args)`` and write the result into ``self`` (``add_``, ``mul_``...)."""
    base = check_inplace(self)
    others = [a for a in args if isinstance(a, Tensor)]
    if state.record and (self._requires_grad or any(a._requires_grad for a in others)):
        res = outplace(_snapshot(self), *args, **kwargs)
        _cast_check(res, self)
        if base is not None and self._extra.view_key is not None and base.requires_grad:
            base[self._extra.view_key] = res
            self._data = base._data[self._extra.view_key]
            fresh = getitem(base, self._extra.view_key)
            self._grad_fn, self._output_nr = fresh._grad_fn, 0
            return self
        np.copyto(self._data, res._data)
        _rebase(self, res._grad_fn)
    else:
        with _NoRecord():
            res = outplace(self, *args, **kwargs)
        _cast_check(res, self)
        np.copyto(self._data, res._data)
    _bump(self)
    return self


def _cast_check(res, self):
    src, dst = res._data.dtype, self._data.dtype
    if src != dst and not np.can_cast(src, dst, casting="same_kind"):
        from glassgrad.tensor import _c_type

        raise RuntimeError(f"result type {_c_type(res.dtype)} can't be cast to the desired output "
                           f"type {_c_type(self.dtype)}")


class _NoRecord:
    """Compute an in-place op's value without recording it (the grad mode stays as it is)."""

    def __enter__(self):
        self.prev = state.record
        state.record = False

    def __exit__(self, *exc):
        state.record = self.prev


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
