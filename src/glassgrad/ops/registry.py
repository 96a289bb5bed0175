"""The op table and the machinery every op uses to wrap its result and record its node.

An op is one block in its family file (``unary``, ``binary``, ``reduce``, ``shape``, ...): the
public function (forward on arrays, then ``result(...)``), its backward rule as a node class made
by ``node_class``, and a ``register(...)`` entry that names it, installs it as a ``Tensor``
method and a ``glassgrad.`` function, and tells the table-driven tests how to check it.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field

import numpy as np

from glassgrad._batched import BatchedArray as _Batched
from glassgrad._errors import INFERENCE_SAVE as _INFERENCE_SAVE
from glassgrad._errors import broadcast_error
from glassgrad._out_arg import takes_out
from glassgrad._sparse_data import SparseArray as _Sparse
from glassgrad._tensor_info import _type_name
from glassgrad.autograd import provenance as _provenance
from glassgrad.autograd.forward_state import ACTIVE as _FW
from glassgrad.autograd.forward_state import is_dual as _is_dual
from glassgrad.autograd.grad_mode import record_off, state
from glassgrad.autograd.node import SCALAR_PAIR, complex_class, node_class
from glassgrad.autograd.node import next_seq as _next_seq
from glassgrad.autograd.node import use_counter as _node_counter
from glassgrad.backend import allocating, quiet  # noqa: F401 - quiet: the ops import it here
from glassgrad.dtypes import COMPLEX_SEEN as _COMPLEX
from glassgrad.tensor import Tensor, _make

__all__ = [
    "OPS",
    "OpInfo",
    "register",
    "result",
    "results",
    "node_class",
    "OUT",
    "function_form",
    "broadcast_error",
    "as_tensor_arg",
    "needs_grad",
    "track_versions",
    "SavedCast",
    "Tensor",
]

_ndarray = np.ndarray
_asarray = np.asarray


def _use_counter(counter):
    global _next_seq
    _next_seq = counter


_node_counter(_use_counter)  # (anomaly mode and saved-tensor hooks swap it)
OUT = object()  # in a ``saved`` tuple: save the op's own output


@dataclass
class OpInfo:
    """One entry of the op table: what the op is called and how the tests check it.

    ``samples(rng) -> [(args, kwargs), ...]`` gives the table tests their inputs (``rng`` is a
    NumPy ``Generator``): NumPy arrays in ``args`` (also inside a list) become tensors, the rest
    is passed as is, and the ``reference`` is called with the same arguments. Ops registered with
    ``any_shape=True`` also accept ``samples(rng, shape)`` for any shape, 0-d and empty ones
    included (``glassgrad.ops._sampling.shaped`` builds such a function). Without ``samples``,
    an op gets ``nin`` float arrays of each of ``shapes``, drawn from ``domain``.
    """

    name: str
    fn: object
    methods: tuple = ()
    functions: tuple = ()
    reference: object = None  # NumPy reference (same arguments, arrays for tensors)
    domain: tuple = (-2.0, 2.0)  # input range for central-difference gradient checks
    shapes: tuple = ((3,), (2, 3))  # sample input shapes for the table tests
    nin: int = 1  # number of tensor inputs the default samples give
    differentiable: bool = True
    second_order: bool = True
    kwargs: dict = field(default_factory=dict)  # keyword arguments the default samples pass
    samples: object = None  # samples(rng) -> [(args, kwargs), ...]; see above
    edge_samples: object = None  # like samples, at points of non-differentiability (ties,
    # boundaries): compared with PyTorch, never with central differences
    any_shape: bool = False  # samples(rng, shape) accepts any shape: property-tested
    dtypes: tuple = ("float64", "float32")  # input dtypes compared with PyTorch
    atol: float = 1e-6  # tolerance of the float64 gradient checks
    out: str | None = None  # the dtype rule of its ``out=`` (out_arg.DTYPE_RULES), if it takes one


OPS: dict[str, OpInfo] = {}


def register(
    name, fn=None, *, method=True, function=True, aliases=(), strict=False, out=None, **info
):
    """Add an op to the table; install it as ``Tensor.name`` and ``glassgrad.name``.

    ``strict``: ``fn`` returns NotImplemented for an operand it refuses (what the Python
    operators need); the function and method forms raise PyTorch's TypeError instead.
    ``out``: the op takes PyTorch's ``out=`` (its function form; methods never do): the name of
    its dtype rule in ``out_arg.DTYPE_RULES`` ("cast" for elementwise ops), or a dict of
    ``takes_out``'s keyword arguments (``dtype``, ``dtype_from``, ``grad_name``). Returns the
    function form (``out=`` included).
    """

    def add(fn):
        names = (name, *aliases)
        table_fn = _strict(fn, name, 2) if strict else fn
        rule = None
        if out is not None:
            options = dict(out) if isinstance(out, dict) else {"dtype": out}
            # PyTorch refuses out= with inputs requiring grad only for ops with a derivative
            options.setdefault("grad_name", name if info.get("differentiable", True) else None)
            table_fn = takes_out(name, table_fn, **options)
            rule = table_fn.out_rule
            _FUNCTION_FORMS[fn] = table_fn
        OPS[name] = OpInfo(
            name, table_fn, names if method else (), names if function else (), out=rule, **info
        )
        if method:
            for alias in names:
                # PyTorch's allocator error, not NumPy's MemoryError (see backend.allocating)
                setattr(Tensor, alias, allocating(_strict(fn, alias, 1) if strict else fn))
        return fn if out is None else table_fn

    return add if fn is None else add(fn)


_FUNCTION_FORMS: dict = {}  # an op's plain function -> its function form (with ``out=``)


def function_form(fn):
    """What ``glassgrad.<name>`` (or ``linalg.``/``special.``) exports for the op ``fn``: the
    form ``register`` made, which takes ``out=``; ``fn`` itself if it has no other form."""
    return _FUNCTION_FORMS.get(fn, fn)


def _strict(fn, name, position):
    """``fn`` as PyTorch's argument parser makes it: a refused ``other`` raises TypeError."""

    @functools.wraps(fn)
    def op(input, other, *args, **kwargs):
        out = fn(input, other, *args, **kwargs)
        if out is NotImplemented:
            raise TypeError(
                f"{name}(): argument 'other' (position {position}) must be Tensor, not "
                f"{_type_name(other)}"
            )
        return out

    return op


_edge = Tensor._edge


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
        node.next_functions = tuple([_edge(t) if t is not None else _NO_EDGE for t in inputs])
        node._meta = tuple(
            [(t._data.shape, t._data.dtype) if t is not None else None for t in inputs]
        )
        if args is not None:
            node._args = args
        if cls._locate:
            _provenance.locate(node, out)
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
    if saved_a or saved_b:
        if saved_a:
            counter = a._vc
            if counter is None:
                raise RuntimeError(_INFERENCE_SAVE)
            record_a = (counter, counter[0], a, 0)
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
    from glassgrad.autograd.forward_rules import propagate

    propagate(res, cls, inputs, saved, args)


def _stale_view_needs_grad(t) -> bool:
    """A view whose base gained a graph through another view since (see inplace_core)."""
    extra = t._extra
    if extra is None or extra.base is None:  # (callers in hot loops test _extra first)
        return False
    from glassgrad.ops.inplace_core import stale_view_needs_grad

    return stale_view_needs_grad(t)


_NO_EDGE = (None, 0)


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
    node.next_functions = tuple([_edge(t) if t is not None else (None, 0) for t in inputs])
    node._meta = tuple([(t._data.shape, t._data.dtype) if t is not None else None for t in inputs])
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
            counter = item._vc
            if counter is None:
                raise RuntimeError(_INFERENCE_SAVE)
            data = item._data
            records.append((counter, counter[0], item, index))
        elif item is OUT:
            data = res._data
            records.append((res._vc, res._vc[0], weakref.ref(res), index))
        elif item.__class__ is SavedCast:
            counter = item.tensor._vc
            if counter is None:
                raise RuntimeError(_INFERENCE_SAVE)
            data = item.data
            records.append((counter, counter[0], item.tensor, index))
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
        records.append((res._vc, res._vc[0], weakref.ref(res), None))
    for tensor in tensors:
        counter = tensor._vc
        if counter is None:
            raise RuntimeError(_INFERENCE_SAVE)
        records.append((counter, counter[0], tensor, None))  # (no saved value: index None)
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


def as_tensor_arg(value, like: Tensor | None = None) -> Tensor:
    """Turn a non-tensor argument (list, array, number) into a tensor, as PyTorch functions do."""
    if isinstance(value, Tensor):
        return value
    from glassgrad.creation import tensor

    if like is not None and isinstance(value, (int, float, bool)):
        return tensor(value, dtype=like.dtype)
    return tensor(value)
