"""The recorder: how an op wraps its result and records its node, the only writer of a
recorded node's edges (``next_functions``) and saved tensors.

Every op ends in one of these: ``result`` (any op), ``result1`` (one input, the hot unary case),
``record2`` (two same-shaped inputs, the hot binary case), ``results`` (several outputs sharing
one node). ``saved`` names what the backward rule needs: tensors (their arrays are kept, with a
record of each tensor's version, so that backward can check it was not changed in place
since), ``OUT`` for the op's own result, ``SavedCast`` for a tensor kept at another dtype,
anything else as is.

This is the graph core: the Tensor class and its factory are bound in at import
(``bound.when_installed``), not imported.
"""

from __future__ import annotations

import weakref

import numpy as np

from glassgrad._batched import BatchedArray as _Batched
from glassgrad._errors import INFERENCE_SAVE as _INFERENCE_SAVE
from glassgrad._sparse_data import SparseArray as _Sparse
from glassgrad.autograd import bound as _bound
from glassgrad.autograd import forward_state as _fs
from glassgrad.autograd import provenance as _provenance
from glassgrad.autograd.forward_state import ACTIVE as _FW
from glassgrad.autograd.forward_state import is_dual as _is_dual
from glassgrad.autograd.grad_mode import record_off, state
from glassgrad.autograd.node import SCALAR_PAIR, complex_class, link
from glassgrad.autograd.node import next_seq as _next_seq
from glassgrad.autograd.node import use_counter as _node_counter
from glassgrad.dtypes import COMPLEX_SEEN as _COMPLEX

__all__ = [
    "result",
    "result1",
    "record2",
    "results",
    "OUT",
    "SAVE_OUTPUT",
    "SavedCast",
    "needs_grad",
    "track_versions",
    "saved_record",
]

_ndarray = np.ndarray
_asarray = np.asarray
Tensor = _make = _edge = None  # bound at import (``_bind``)


def _bind(tensor_class, make) -> None:
    global Tensor, _make, _edge
    Tensor, _make, _edge = tensor_class, make, tensor_class._edge


_bound.when_installed(_bind)


def _use_counter(counter):
    global _next_seq
    _next_seq = counter


_node_counter(_use_counter)  # (anomaly mode and saved-tensor hooks swap it)
OUT = object()  # in a ``saved`` tuple: save the op's own output
_NO_EDGE = (None, 0)


def saved_record(tensor, index, owner=None) -> tuple:
    """The record of ``tensor``, saved at ``index`` of a node's ``_saved`` (None: kept only to
    check its version). ``owner``: what the node keeps of it, the tensor itself by default (a
    weak reference for an op's own output). An inference tensor cannot be saved (PyTorch's
    error). The one builder of saved records (see ``autograd.node``), which ``record2`` and
    ``result1`` write out."""
    counter = tensor._vc
    if counter is None:
        raise RuntimeError(_INFERENCE_SAVE)
    return (counter, counter[0], tensor if owner is None else owner, index)


def result(out, cls, inputs, saved=None, args=None, _fw=True):
    """Wrap ``out`` (an array) as the op's result, recording ``cls`` if a gradient can flow.

    Args:
        cls: the node class (``MulBackward0``); None for a non-differentiable op.
        inputs: the op's tensor inputs, in the order of the rule's gradients (None for a
            non-tensor argument, which gets no edge).
        saved: what the backward rule needs: tensors (tracked by version), ``OUT`` for the
            result itself, anything else as is. Freed after backward.
        args: metadata the rule needs that is never freed (dims, shapes).
    """
    if _FW[0] and _fw:  # a dual level is active: the result gets its tangent (forward_ad)
        res = result(out, cls, inputs, saved, args, False)
        _forward(res, cls, inputs, saved, args)
        return res
    if (
        out.__class__ is not _ndarray
        and out.__class__ is not _Batched
        and out.__class__ is not _Sparse
    ):
        out = _asarray(out)  # (a NumPy scalar; vmap's batch and a sparse array stay as they are)
    if (not record_off[0] or state.record) and cls is not None:
        for t in inputs:
            if t is not None and (
                t._requires_grad or (t._extra is not None and _stale_view_needs_grad(t))
            ):
                break
        else:
            if _provenance.enabled:  # carry a stopped path's record on (glass.explain)
                for t in inputs:
                    if t is not None and t._extra is not None and t._extra.prov is not None:
                        return _provenance.on_propagate(_make(out), inputs)
            return _make(out)
        if _COMPLEX[0]:  # (only once a program has used complex numbers)
            cls = complex_class(cls, (out,), inputs)
        node = cls()
        node._seq = _next_seq()
        link(node, inputs)
        if args is not None:
            node._args = args
        if cls._locate:
            _provenance.locate(node, out)
        elif cls._locate_mask and None not in inputs:
            for t in inputs:
                if not t._requires_grad:  # ``loss * mask``: see node.MASK_LOCATED
                    _provenance.locate_mask(node, out, t)
                    break
        res = _make(out, node, 0)
        if saved is not None:
            _save(node, saved, res)
        return res
    return _stopped(out, inputs, cls)


SAVE_OUTPUT = (OUT,)  # ``saved`` of ops whose rule needs only their output (exp, tanh, ...)


def result1(out, cls, input, saved=None, arity=1, values=None, _fw=True):
    """``result`` for the hot unary case: one tensor input that requires grad, else the general
    path. ``arity=2`` gives the node a second, empty edge (``tensor * 2``: PyTorch shows
    ``(None, 0)`` for the number). ``values``: saved values that are not tensors (kept as is)."""
    if _FW[0] and _fw:
        res = result1(out, cls, input, saved, arity, values, False)
        inputs = (input,) if arity == 1 else (input, None)
        _forward(res, cls, inputs, saved or values, None)
        return res
    if not (input._requires_grad and (not record_off[0] or state.record) and cls is not None):
        return result(
            out, cls, (input,) if arity == 1 else (input, None), saved or values, None, False
        )
    if (
        out.__class__ is not _ndarray
        and out.__class__ is not _Batched
        and out.__class__ is not _Sparse
    ):
        out = _asarray(out)  # (a NumPy scalar; vmap's batch and a sparse array stay as they are)
    if _COMPLEX[0]:
        cls = complex_class(cls, (out,), (input,))
    node = cls()
    node._seq = _next_seq()
    if cls._locate:
        _provenance.locate(node, out)
    data = input._data
    meta = (data.shape, data.dtype)
    node.next_functions = (_edge(input),) if arity == 1 else (_edge(input), _NO_EDGE)
    if out.dtype is meta[1] and out.shape == meta[0]:
        node._exact = meta  # elementwise, same dtype: the rule's gradient already fits
    else:
        node._meta = (meta,) if arity == 1 else (meta, None)
    res = _make(out, node, 0)
    if saved is SAVE_OUTPUT:
        node._saved = (out,)
        node._vars = ((res._vc, res._vc[0], weakref.ref(res), 0),)
        if not out.ndim:
            node._scalars = True
    elif saved is not None:
        _save(node, saved, res)
    elif values is not None:
        node._saved = values
    return res


def record2(out, cls, a, b, saved_a, saved_b, shape, dtype, _fw=True):
    """``result`` for the hot binary case: two tensors of one shape and dtype, one requiring grad.

    ``saved_a``/``saved_b``: whether the rule needs ``a``/``b`` (``mul`` keeps each operand only
    if the other one needs its gradient, as PyTorch does). ``shape``, ``dtype``: the operands'
    (the caller has read them; each read of an array's attribute costs). Everything ``result``,
    ``_edge``, ``_save`` and ``_make`` would do is written out here: on graphs of scalars this
    function is a third of the forward pass.
    """
    if _FW[0] and _fw:
        res = record2(out, cls, a, b, saved_a, saved_b, shape, dtype, False)
        _forward(res, cls, (a, b), None, None)
        return res
    if (
        out.__class__ is not _ndarray
        and out.__class__ is not _Batched
        and out.__class__ is not _Sparse
    ):
        out = _asarray(out)  # (a NumPy scalar; vmap's batch and a sparse array stay as they are)
    if _COMPLEX[0] and dtype.kind == "c":
        cls = complex_class(cls, (out,), (a,))
    node = cls()
    node._seq = _next_seq()
    data = a._data
    node._exact = (shape, dtype)
    if a._extra is None and a._requires_grad:
        node_a = a._grad_fn
        edge_a = (node_a, a._output_nr) if node_a is not None else a._accum or a._edge()
    else:
        edge_a = a._edge()
    if b._extra is None and b._requires_grad:
        node_b = b._grad_fn
        edge_b = (node_b, b._output_nr) if node_b is not None else b._accum or b._edge()
    else:
        edge_b = b._edge()
    node.next_functions = (edge_a, edge_b)
    if cls._locate_mask and a._requires_grad is not b._requires_grad:
        _provenance.locate_mask(node, out, b if a._requires_grad else a)  # (node.MASK_LOCATED)
    if saved_a or saved_b:
        if saved_a:
            counter = a._vc
            if counter is None:
                raise RuntimeError(_INFERENCE_SAVE)
            record_a = (counter, counter[0], a, 0)  # (saved_record's)
        if saved_b:
            counter = b._vc
            if counter is None:
                raise RuntimeError(_INFERENCE_SAVE)
            record_b = (counter, counter[0], b, 1)
            if saved_a:
                node._saved = (data, b._data)
                node._vars = (record_a, record_b)
            else:
                node._saved = (None, b._data)
                node._vars = (record_b,)
        else:
            node._saved = (data, None)
            node._vars = (record_a,)
        if not shape:
            node._scalars = SCALAR_PAIR
    res = _new(Tensor)
    res._data = out
    res._grad = None
    res._grad_fn = node
    res._output_nr = 0
    res._requires_grad = True
    res._accum = None
    res._extra = None
    res._vc = [0]
    return res


_new = object.__new__


def _forward(res, cls, inputs, saved, args) -> None:
    _fs.propagate(res, cls, inputs, saved, args)  # (forward_rules, bound at its import)


def _stale_view_needs_grad(t) -> bool:
    """Whether ``t`` (no ``requires_grad`` of its own) is in the graph now: a view whose base was
    written to in place, through another view, with a value that requires grad (its node is
    re-derived then, as ``Tensor.grad_fn`` does; see ``ops.inplace_core.regenerate_view``)."""
    if t._extra is None:  # (callers in hot loops test _extra first)
        return False
    t._refresh_view()
    if t._requires_grad:
        return True
    # PyTorch quirk: a view made before its base was made to require grad reports the base's
    # flag, so what is computed from it requires grad too (with no edge back to the view)
    base = t._extra.base
    return t._grad_fn is None and base is not None and base.requires_grad


def _stopped(out, inputs, cls):
    """A result computed without recording: note it when a gradient was actually stopped."""
    res = _make(out)
    if _provenance.enabled:
        _provenance.on_not_recorded(res, inputs)
    return res


def results(outs, cls, inputs, saved=None, args=None, differentiable=None, _fw=True):
    """Like ``result`` for an op with several outputs sharing one node (``unbind``, ``max``)."""
    if _FW[0] and _fw:
        made = results(outs, cls, inputs, saved, args, differentiable, False)
        _forward(made, cls, inputs, saved, args)
        return made
    outs = [o if o.__class__ is _ndarray or o.__class__ is _Batched else _asarray(o) for o in outs]
    if not state.record or not any(
        t is not None and (t._requires_grad or _stale_view_needs_grad(t)) for t in inputs
    ):
        return tuple(_stopped(o, inputs, cls) for o in outs)
    if _COMPLEX[0]:
        cls = complex_class(cls, outs, inputs)
    node = cls()
    node._seq = _next_seq()
    link(node, inputs)
    node._args = args
    made = []
    for index, out in enumerate(outs):
        if differentiable is None or differentiable[index]:
            made.append(_make(out, node, index))
        else:
            made.append(_make(out))
    if saved is not None:
        _save(node, saved, made[0])
    return tuple(made)


def _save(node, saved, res):
    values = []
    records = []
    scalars = False
    for index, item in enumerate(saved):
        if item.__class__ is Tensor or isinstance(item, Tensor):
            records.append(saved_record(item, index))
            data = item._data
        elif item is OUT:
            data = res._data
            records.append(saved_record(res, index, weakref.ref(res)))
        elif item.__class__ is SavedCast:
            records.append(saved_record(item.tensor, index))
            data = item.data
        else:
            values.append(item)
            continue
        scalars = scalars or not data.ndim
        values.append(data)
    node._saved = tuple(values)
    if records:
        node._vars = tuple(records)
    if scalars:
        node._scalars = True


def refuse_inference_saved(inputs, saved) -> None:
    """PyTorch saves a node's tensors before its kernel runs: an inference tensor among them
    fails with its error before the kernel's own checks (dtypes, sizes). For ops that check
    before they compute; ``result`` makes the same refusal when it saves."""
    if record_off[0] and not state.record:
        return
    if not any(t is not None and t.requires_grad for t in inputs):
        return
    for item in saved:
        if isinstance(item, Tensor) and item._vc is None:
            raise RuntimeError(_INFERENCE_SAVE)


def needs_grad(*tensors) -> bool:
    """Whether any of ``tensors`` (None for a non-tensor argument) requires grad: what decides,
    as in PyTorch, whether the tensors another input's gradient needs are saved at all. A
    tensor with a tangent counts: its JVP rule needs the same."""
    return any(
        isinstance(t, Tensor) and (t.requires_grad or (_FW[0] and _is_dual(t))) for t in tensors
    )


def track_versions(res, *tensors, output=False):
    """Save ``tensors`` (and ``res`` itself with ``output``) for the node that made ``res`` as
    PyTorch does, although glassgrad's rule never reads them (it kept what it needs in another
    form): backward then refuses them changed in place, and an inference tensor cannot be
    saved, as in PyTorch."""
    node = res._grad_fn
    if node is None:
        return res
    records = list(node._vars or ())
    if output:
        records.append(saved_record(res, None, weakref.ref(res)))
    # (no saved value: index None)
    records.extend([saved_record(tensor, None) for tensor in tensors])
    node._vars = tuple(records)
    if node._saved is None:
        node._saved = ()  # (so that the engine checks the versions, and a second pass raises)
    return res


class SavedCast:
    """In a ``saved`` tuple: ``tensor``'s values promoted to the op's dtype (``data``). The rule
    gets ``data``; the version check and its error name ``tensor``, as PyTorch, which saves the
    operand itself, does."""

    __slots__ = ("tensor", "data")

    def __init__(self, tensor, data) -> None:
        self.tensor = tensor
        self.data = data
