"""The in-place op machinery: PyTorch's checks, version counters, and the graph rebase.

In-place ops on tensors in the graph are recorded as their out-of-place op plus a rebase of the
tensor onto the new node, so gradients stay right and the version counter catches stale saved
tensors. ``add_``, ``mul_``... (``ops.inplace``) and index assignment (``ops.indexing``) use it.
"""

from __future__ import annotations

import weakref

import numpy as np

from glassgrad._batched import ACTIVE as _VMAP
from glassgrad._batched import inplace_write_error
from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad._errors import INFERENCE_INPLACE
from glassgrad.autograd.forward_state import ACTIVE as _FW
from glassgrad.autograd.grad_mode import _set_record, state
from glassgrad.autograd.record import saved_record
from glassgrad.ops.view_rebase import handle_view_on_rebase
from glassgrad.tensor import Tensor, _make, install_view_regeneration

_LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_LEAF_INPLACE = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)
_INFERENCE_INPLACE = INFERENCE_INPLACE


_OVERLAP = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation."
)


_PARTIAL_OVERLAP = (
    "unsupported operation: some elements of the input tensor and the written-to tensor refer to "
    "a single memory location. Please clone() the tensor before performing the operation."
)


def overlaps(data) -> bool:
    """Whether two elements of ``data`` share memory (a dimension of stride 0 and size > 1):
    PyTorch's test before it writes into a tensor. (NumPy gives empty arrays 0 strides.)"""
    strides = data.strides
    return (
        0 in strides
        and data.size > 0
        and any(not s and n > 1 for s, n in zip(strides, data.shape, strict=True))
    )


def _dense(data) -> bool:
    """PyTorch's ``is_non_overlapping_and_dense``: the elements fill one block of memory."""
    expected = data.itemsize
    pairs = zip(data.strides, data.shape, strict=True)
    for stride, size in sorted((s, n) for s, n in pairs if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def check_partial_overlap(target, source) -> None:
    """PyTorch's ``assert_no_partial_overlap`` before writing into array ``target`` from array
    ``source``: the two may be the same memory, or disjoint, but not partly shared. Like
    PyTorch, only dense layouts are compared (anything else is too hard to tell)."""
    if target.__class__ is not np.ndarray or source.__class__ is not np.ndarray:
        return  # (a vmap batch: its samples are written by the batching rules)
    if target.base is None and source.base is None:
        return  # two arrays that own their memory are the same array or disjoint
    if not target.size or not source.size or not _dense(target) or not _dense(source):
        return
    begin = target.__array_interface__["data"][0]
    other = source.__array_interface__["data"][0]
    end = begin + target.nbytes
    other_end = other + source.nbytes
    if begin == other and end == other_end:
        if target.strides == source.strides:
            return
    elif not (begin < other_end and other < end):
        return
    raise RuntimeError(_PARTIAL_OVERLAP)


def check_inplace(self, through_view=False, fills=False, region=None, others=()):
    """Refuse an in-place op PyTorch refuses; return the view's base when it matters.

    ``fills``: the op writes one value everywhere (``fill_``, ``zero_``), which PyTorch allows
    on a tensor whose elements share memory (an ``expand``); any other write is refused.
    ``region``: the part of ``self`` written to (``self[key] = v``), checked instead of all of it.
    ``others``: the op's other arguments; as in PyTorch, autograd's checks run only when
    ``self`` or one of them requires grad.
    """
    base = None
    if state.record:
        extra = self._extra
        base = extra.base if extra is not None else None
        if self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others):
            if base is not None:
                handle_view_on_rebase(self)
                if self.requires_grad and base._grad_fn is None:
                    raise RuntimeError(_VIEW_LEAF_INPLACE)
            # (PyTorch's C++ is_leaf reads the node as it is: a view not yet regenerated since
            # its base joined the graph counts as a leaf that requires grad, and is refused)
            if self._grad_fn is None and self.requires_grad:
                raise RuntimeError(_VIEW_LEAF_INPLACE if through_view else _LEAF_INPLACE)
    # autograd's checks come first (VariableType), the kernel's overlap check after them
    if not fills and overlaps(self._data if region is None else region):
        raise RuntimeError(_OVERLAP)
    return base


def fill_array(data, value):
    """``data.fill(value)``, also through an ``expand``ed (read-only, overlapping) view."""
    try:
        data.fill(value)
    except ValueError:
        writable(data).fill(value)


def writable(data):
    """``data`` itself, or for an ``expand``ed (read-only) view, a writable alias of the same
    memory with the same strides."""
    if data.flags.writeable:
        return data
    base = data.base
    if not (isinstance(base, np.ndarray) and base.flags.writeable and base.flags.c_contiguous):
        raise ValueError("assignment destination is read-only")
    offset = data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return np.ndarray(data.shape, data.dtype, buffer=base, offset=offset, strides=data.strides)


_EXPANDED_WRITE = (
    "Use of {} on expanded tensors is deprecated. Please clone() the tensor before performing "
    "this operation. This also applies to advanced indexing e.g. tensor[{}] = {}"
)


def expanded_write_warning(name):
    """PyTorch's warning for ``name`` (``masked_fill_``, ``index_put_``) on an expanded tensor."""
    what = ("indices", "tensor") if name == "index_put_" else ("mask", "scalar")
    return _EXPANDED_WRITE.format(name, *what)


def _bump(self):
    counter = self._vc
    if counter is None:
        if not state.inference:
            raise RuntimeError(_INFERENCE_INPLACE)
        return
    counter[0] += 1


def _snapshot(self):
    """A stand-in for ``self`` before an in-place write: same graph edge, private copy."""
    if self._extra is not None:
        self._refresh_view()
    snap = _make(self._data.copy(), self._grad_fn, self._output_nr)
    snap._requires_grad = self._requires_grad
    if self._grad_fn is None and self._requires_grad:
        snap._accum = None
    return snap


def _rebase(self, node):
    """Point ``self`` at ``node`` after an in-place op (``retain_grad`` follows the tensor)."""
    old, old_nr = self._grad_fn, self._output_nr
    self._grad_fn = node
    self._output_nr = 0
    self._requires_grad = True
    _follow_retain(self, old, old_nr)


def _follow_retain(self, old, old_nr):
    """``retain_grad()`` belongs to the tensor, not to a node: PyTorch moves it to the grad_fn an
    in-place op or a view's regeneration gives the tensor, from ``old`` (output ``old_nr``)."""
    if old is None or not old._retain or old is self._grad_fn or not self.retains_grad:
        return
    ref = old._retain.pop(old_nr, None)
    node = self._grad_fn
    if ref is not None and node is not None:
        if node._retain is None:
            node._retain = {}
        node._retain[self._output_nr] = ref
        node._special = True


def write_through(self, base, res):
    """Write ``res`` into view ``self`` through its ``base``, so the base's graph sees it too."""
    key = self._extra.view_key
    if key.__class__.__name__ == "Reinterpret":  # .real, view_as_real...: rebuild the base
        base.copy_(key.rebuild(base, res))
        _renamed(base._grad_fn, "CopySlices")
        old, old_nr = self._grad_fn, self._output_nr
        node = key.view(base)._grad_fn
        # PyTorch's .real and .imag are selects (AsStridedBackward0 once written through);
        # view_as_real and view_as_complex keep their own nodes
        if type(node).__name__ == "SelectBackward0":
            node = _renamed(node, "AsStridedBackward0")
        self._grad_fn = node
        self._output_nr = 0
        _follow_retain(self, old, old_nr)
        self._requires_grad = self._requires_grad or self._grad_fn is not None
        if self._vc is not None:
            self._extra.view_version = self._vc[0]
        return self
    if key is None:
        key = _base_index(self._data, base._data)
    base[key] = res
    _renamed(base._grad_fn, "CopySlices")
    if self._extra.view_key is not None:
        self._data = base._data[key]
    old, old_nr = self._grad_fn, self._output_nr
    self._grad_fn, self._output_nr = _renamed(base[key]._grad_fn, "AsStridedBackward0"), 0
    _follow_retain(self, old, old_nr)
    if self._grad_fn is not None:
        self._requires_grad = True  # (the value written may have brought the graph)
    if self._vc is not None:
        self._extra.view_version = self._vc[0]
    return self


def regenerate_view(view, base):
    """Re-derive a stale view's ``grad_fn`` from its base's current graph (see Tensor.grad_fn)."""
    extra = view._extra
    if extra.view_meta is not None and (view._grad_fn is not None or base.requires_grad):
        handle_view_on_rebase(view, indirect=True)
    if base._grad_fn is None and not base._requires_grad:
        # (not marked fresh: should the base start to require grad, the view's next read of
        # grad_fn regenerates it, as PyTorch's does)
        return
    extra.view_version = view._vc[0]
    key = extra.view_key
    if key.__class__.__name__ == "Reinterpret":
        regenerated = key.view(base)._grad_fn
    else:
        if key is None:
            key = _base_index(view._data, base._data)
        regenerated = base[key]._grad_fn
    old, old_nr = view._grad_fn, view._output_nr
    view._grad_fn, view._output_nr = _renamed(regenerated, "AsStridedBackward0"), 0
    _follow_retain(view, old, old_nr)
    if view._grad_fn is not None:
        view._requires_grad = True  # a write into the base brought it into the graph


_TWINS: dict = {}


def _renamed(node, name):
    """``node`` under PyTorch's ``name`` for it, its rule unchanged. PyTorch records any write
    through a view as ``CopySlices`` on the base and gives every view of a base changed in
    place an ``AsStridedBackward0``, whatever op made the view; glassgrad records the view's own
    op (which computes the same gradient) under that name."""
    if node is None or type(node).__name__ == name:
        return node
    cls = type(node)
    twin = _TWINS.get((cls, name))
    if twin is None:
        twin = _TWINS[(cls, name)] = type(name, (cls,), {"__module__": cls.__module__})
    node.__class__ = twin
    return node


def _warn_expanded(outplace, stacklevel):
    """PyTorch's deprecation warning (if any) for fill op ``outplace`` writing into a tensor
    whose elements share memory; returns the op's ``write`` (see ``FILL_OPS``)."""
    warning, write = FILL_OPS[outplace]
    if warning is not None:
        import warnings

        warnings.warn(warning, UserWarning, stacklevel=stacklevel + 1)
    return write


def _write_shared(self, before, write, res, args, kwargs):
    """Give memory shared by several elements of ``self`` the values PyTorch's kernel leaves:
    the selected elements written one by one into memory (over ``before``, when the result was
    already written through a view), not the out-of-place result ``res`` (whose copies of one
    memory location may differ) copied in; ``res`` itself where every element gets one value."""
    target = writable(self._data)
    if write is None:
        np.copyto(target, res._data)
        return
    if before is not None:
        target[...] = before
    write(target, *args, **kwargs)


def _refuse_overlap(ctx, grad, *saved):
    raise RuntimeError(_OVERLAP)


def _refuse_backward(node):
    """Make ``node``'s backward fail as PyTorch's does after a write through an ``expand``ed
    view: the gradient of a write into elements that share memory is not defined."""
    if node is None:
        return
    cls = type(node)
    twin = _TWINS.get((cls, _refuse_overlap))
    if twin is None:
        attrs = {"__module__": cls.__module__, "_backward": _refuse_overlap}
        twin = _TWINS[(cls, _refuse_overlap)] = type(cls.__name__, (cls,), attrs)
    node.__class__ = twin


def _base_index(view, base):
    """The advanced index of ``base`` that each element of ``view`` (sharing its memory) is."""
    from glassgrad.creation import tensor

    def offsets(data, start):
        axes = np.indices(data.shape, sparse=True)
        return np.broadcast_to(
            start + sum(i * s for i, s in zip(axes, data.strides, strict=True)), data.shape
        )

    if view.dtype != base.dtype:
        raise RuntimeError(
            "glassgrad cannot write in place, with autograd, through a view of a view that reads "
            "a complex tensor as reals or reals as complex (.real, .imag, view_as_real, "
            "view_as_complex); write through the first view, or into the base"
        )
    if not base.ndim:
        return (None,) * view.ndim  # each element of a view of a 0-d base is its one element
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    flat = offsets(base, 0).ravel()
    order = np.argsort(flat, kind="stable")
    pos = order[np.searchsorted(flat, offsets(view, start), sorter=order)]
    return tuple(tensor(i) for i in np.unravel_index(pos, base.shape))


def inplace(self, outplace, *args, **kwargs):
    """Run ``outplace(self, *args)`` and write the result into ``self`` (``add_``, ``mul_``...)."""
    if _FW[0]:  # a dual level is active: the tangent is written in place too
        from glassgrad.autograd.forward_rules import inplace_tangent

        res = _inplace(self, outplace, *args, **kwargs)
        inplace_tangent(self, res)
        return self
    _inplace(self, outplace, *args, **kwargs)
    return self


# The in-place ops that write one value into each selected element (``fill_``, ``zero_``,
# ``masked_fill_``, ``index_put_``...), by their out-of-place op: PyTorch lets these write into a
# tensor whose elements share memory (an ``expand``) where other in-place ops refuse. Each maps
# to ``(warning, write)``: the deprecation warning PyTorch gives (or None), and
# ``write(array, *args)``, the kernel's write of just the selected elements into the memory (None
# where every element gets the same value). ``_inplace`` writes them so in and out of the graph;
# in the graph the write is recorded, but the backward of that ``CopySlices`` then fails with the
# overlap error (its gradient would be ambiguous).
FILL_OPS: dict = {}


INPLACE_NAMES: dict = {}  # an out-of-place op -> the in-place method that runs it (``add_``)


def _check_vmap_args(self, outplace, args, kwargs):
    """``check_vmap_write`` for an in-place op run as ``outplace(self, *args, **kwargs)``."""
    name = INPLACE_NAMES.get(outplace) or f"{getattr(outplace, '__name__', '')}_"
    check_vmap_write(self, name, (*args, *kwargs.values()))


def check_vmap_write(self, name, values):
    """Under ``vmap``, PyTorch's refusal of in-place method ``name`` writing batched ``values``
    (tensors or numbers) into ``self`` where ``self`` is not batched at their level."""
    if _VMAP.levels:
        arrays = [v._data for v in values if isinstance(v, Tensor)]
        error = inplace_write_error(name, self._data, arrays)
        if error is not None:
            raise error


def _inplace(self, outplace, *args, **kwargs):
    """``inplace``'s work; returns the out-of-place result that was written into ``self``."""
    if _VMAP.levels:  # (PyTorch refuses a batch written into a non-batch before anything)
        _check_vmap_args(self, outplace, args, kwargs)
    others = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    fill = outplace in FILL_OPS
    base = check_inplace(self, fills=fill, others=others)
    for other in others:
        check_partial_overlap(self._data, other._data)
    # an integer or bool ``self`` cannot require grad, whatever it is computed from
    if (
        state.record
        and (self._requires_grad or any(a._requires_grad for a in others))
        and (self._data.dtype.kind in "fc" or _differentiable(self._data))
    ):
        overlapping = fill and overlaps(self._data)
        if overlapping:
            write = _warn_expanded(outplace, 4)
            before = self._data.copy() if base is not None else None
        snapshot = _snapshot(self)
        if _FW[0]:
            from glassgrad.autograd.forward_rules import carry

            carry(snapshot, self)
        res = outplace(snapshot, *args, **kwargs)
        _result_check(res, self)
        if base is not None:
            write_through(self, base, res)
            if overlapping:
                _write_shared(self, before, write, res, args, kwargs)
                _refuse_backward(base._grad_fn)
            # the op saved its output: that is the view now (a later write to it is caught)
            _adopt_saved_output(res, self, res._grad_fn)
            return res
        if overlapping:
            _write_shared(self, None, write, res, args, kwargs)
            _refuse_backward(res._grad_fn)
        else:
            np.copyto(self._data, res._data)
        _bump(self)
        if res._grad_fn is not None:
            # a non-differentiable op (logical_not_...) keeps the old grad_fn, as in PyTorch
            _rebase(self, res._grad_fn)
            _adopt_saved_output(res, self)  # after the bump: it records the version to expect
        return res
    with _NoRecord():
        res = outplace(self, *args, **kwargs)
    _result_check(res, self)
    if fill and overlaps(self._data):
        _write_shared(self, None, _warn_expanded(outplace, 4), res, args, kwargs)
    else:
        np.copyto(self._data, res._data)
    _bump(self)
    return res


def inplace_untracked(self, outplace, *args, **kwargs):
    """An in-place op PyTorch has no derivative for (``logical_not_``, ``logical_and_``...):
    autograd's checks do not run, so it writes even into a leaf that requires grad, which keeps
    its flag and ``grad_fn``; only the version counter records the write."""
    if _VMAP.levels:
        _check_vmap_args(self, outplace, args, kwargs)
    if overlaps(self._data):
        raise RuntimeError(_OVERLAP)
    for other in (*args, *kwargs.values()):
        if isinstance(other, Tensor):
            check_partial_overlap(self._data, other._data)
    with _NoRecord():
        res = outplace(self.detach(), *args, **kwargs)
    _result_check(res, self)
    np.copyto(self._data, res._data)
    _bump(self)
    return self


def _adopt_saved_output(res, self, node=None):
    """The node saved ``res`` (its output); the output is ``self`` now: save ``self`` instead.

    As in PyTorch, a later in-place change of ``self`` (``y.relu_(); y.mul_(2)``) then makes
    backward through the first op raise instead of silently using the values it saved.
    ``node``: the op's node, where it is not ``self``'s (a write through a view).
    """
    through_view = node is not None
    if node is None:
        node = self._grad_fn
    records = node._vars if node is not None else None
    if not records:
        return
    saved = list(node._saved)
    changed = []
    for record in records:
        _counter, _version, owner, index = record
        if isinstance(owner, weakref.ReferenceType) and owner() is res and index is not None:
            saved[index] = self._data
            record = saved_record(self, index, weakref.ref(self))
            if through_view and self._grad_fn is not None:
                # PyTorch's error names the view's node of now while it lives, else the op's
                node.__dict__.setdefault("_view_fns", {})[index] = weakref.ref(self._grad_fn)
        changed.append(record)
    node._saved = tuple(saved)
    node._vars = tuple(changed)


def _result_check(res, self):
    """PyTorch's errors for a result that cannot be written into ``self``: shape, then dtype."""
    shape = res._data.shape
    if shape != self._data.shape:
        raise RuntimeError(
            f"output with shape {_brackets(self._data.shape)} doesn't match the broadcast "
            f"shape {_brackets(shape)}"
        )
    src, dst = res._data.dtype, self._data.dtype
    if src != dst and not np.can_cast(src, dst, casting="same_kind"):
        from glassgrad.tensor import _c_type

        raise RuntimeError(
            f"result type {_c_type(res.dtype)} can't be cast to the desired output "
            f"type {_c_type(self.dtype)}"
        )


def _brackets(shape):
    return "[" + ", ".join(str(n) for n in shape) + "]"


class _NoRecord:
    """Compute an in-place op's value without recording it (the grad mode stays as it is)."""

    def __enter__(self):
        self.prev = state.record
        _set_record(False)

    def __exit__(self, *exc):
        _set_record(self.prev)


install_view_regeneration(regenerate_view)  # Tensor.grad_fn of a stale view calls it
