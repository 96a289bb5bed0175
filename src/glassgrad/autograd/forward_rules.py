"""Forward-mode AD's propagation: each op's result gets its tangent from the op's JVP rule.

The rule sits beside the backward rule on the op's node class (``node_class(..., jvp=...)``):

* a function ``jvp(ctx, *tangents)`` returning the output's tangent (a tuple for several
  outputs); ``ctx`` is a ``JvpContext`` (the inputs, the output, what the op saved, its args);
* ``ELEMENTWISE``: the op is elementwise in each input, so its Jacobian is diagonal and the
  backward rule applied to the (broadcast) tangent *is* the JVP: ``tangent * f'(x)``;
* ``TRANSPOSE`` (what a node class without a rule gets): the JVP as the transpose of the
  backward rule, which is linear in the gradient: ``J t = d/du <J^T u, t>``, one reverse pass
  through the rule run on tensors (the rules already run on tensors for double backward);
* ``None``: the op has no forward-mode rule in PyTorch either; a dual input raises its error.

The rule's own ops run on tensors, so tangents carry graphs (backward through a JVP) and the
outer levels' tangents (see ``forward_state``).
"""

from __future__ import annotations

import re

import numpy as np

from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad.autograd import forward_state as _fs

__all__ = [
    "ELEMENTWISE",
    "TRANSPOSE",
    "JvpContext",
    "expanded",
    "filled",
    "indexed",
    "pointwise_reduced",
    "propagate",
    "reshaped",
    "transposed",
    "unsupported",
]

ELEMENTWISE = "elementwise"
TRANSPOSE = "transpose"
_MARK = object()  # a stand-in ``next_functions`` node: this input has a tangent


class JvpContext:
    """What a JVP rule reads: ``inputs`` (the op's tensor inputs, None for other arguments),
    ``output`` (or ``outputs``), ``saved`` (what the backward rule saves, as tensors) and
    ``args`` (the op's metadata, the node's ``_args``)."""

    __slots__ = ("inputs", "outputs", "saved", "args", "cls")

    def __init__(self, cls, inputs, outputs, saved, args) -> None:
        self.cls, self.inputs, self.outputs, self.saved, self.args = (
            cls,
            inputs,
            outputs,
            saved,
            args,
        )

    @property
    def output(self):
        return self.outputs[0]


# -- rules many ops share: ops that only move elements are linear, their JVP is the op itself
def reshaped(ctx, tangent):
    """The JVP of an op that only reshapes (view, squeeze, unsqueeze, flatten...)."""
    return tangent.reshape(tuple(ctx.output.shape))


def expanded(ctx, tangent):
    """The JVP of ``expand``."""
    return tangent.expand(tuple(ctx.output.shape))


def indexed(ctx, tangent):
    """The JVP of indexing with the key the node keeps as ``args[1]`` (select, slice, x[key])."""
    return tangent[ctx.args[1]]


def transposed(ctx, *tangents):
    """The ``TRANSPOSE`` fallback, for a rule that covers only some cases (complex inputs...)."""
    made = _transpose(ctx.cls, ctx.inputs, ctx.outputs, ctx.saved, ctx.args, tangents)
    return made if ctx.cls._n_outputs > 1 else made[0]


def pointwise_reduced(ctx, *tangents):
    """The JVP of an op each of whose input elements reaches one output element (a pointwise
    loss, reduced or not; nll_loss): the backward rule on a gradient of ones gives each input
    element's derivative, times its tangent, summed into the output element it reaches (all of
    them for a reduced scalar, the class dim for nll_loss's unreduced rows)."""
    from glassgrad.tensor import Tensor

    out = ctx.output
    ones = Tensor._from_array(np.ones_like(out._data))
    node = _node(ctx.cls, ctx.args, [t is not None for t in tangents], ctx.inputs)
    total = None
    for part, tangent in zip(_call(node, ones, ctx.saved), tangents, strict=False):
        if part is None or tangent is None:
            continue
        term = tangent * part  # (the tensor first: an array part must not take the product)
        total = term if total is None else total + term
    if total is None:
        return _zeros(out)
    if out._data.ndim == 0:
        return total.sum()
    if tuple(total.shape) != tuple(out.shape):
        return total.sum(dim=1)
    return total


def filled(ctx, tangents):
    """``tangents`` with zeros (tensors) for the inputs that have none (cat, stack...)."""
    return [_zeros(inp) if t is None else t for t, inp in zip(tangents, ctx.inputs, strict=True)]


def propagate(outputs, cls, inputs, saved, args) -> None:
    """Give ``outputs`` (a tensor or a tuple) their tangents at every live level on which an input
    has one. Called by the ops' result makers only while some level is active."""
    active = _fs.ACTIVE[0]
    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    for position in range(active):
        token = _fs.LEVELS[position]
        tangents = [None if t is None else _fs.get(t, token) for t in inputs]
        if all(t is None for t in tangents):
            continue
        if not any(o._data.dtype.kind in "fcV" for o in outs):
            continue  # integer and bool results carry no tangent
        if cls is not None and _as_views(outs, inputs, tangents, token):
            continue
        _fs.ACTIVE[0] = position  # the rule's own ops see the outer levels only
        try:
            made = _tangents(cls, inputs, outs, saved, args, tangents)
            made = tuple(_unshared(m, tangents) for m in made)
        finally:
            _fs.ACTIVE[0] = active
        for out, tangent in zip(outs, made, strict=False):
            if tangent is not None and out._data.dtype.kind in "fcV":
                _set(out, token, tangent)
                _keep_for_backward(out, token)


def _keep_for_backward(out, token) -> None:
    """A backward rule that saved ``out`` rebuilds it from its array; under ``create_graph``
    inside a level (forward over reverse) the rebuilt output needs its tangent: keep it on the
    node (see ``node._as_tensors``)."""
    node = out._grad_fn
    if node is not None and node._saved is not None:
        kept = node.__dict__.setdefault("_fw_outs", {})
        kept[(out._output_nr, token)] = _fs.get(out, token)


def _as_views(outs, inputs, tangents, token) -> bool:
    """Outputs that are views of the one input with a tangent (reshape, transpose, getitem,
    split...) take the same view of its tangent, with no rule to run (each element of such an
    output *is* an element of the input). False where that does not apply."""
    found = [(i, t) for i, t in zip(inputs, tangents, strict=True) if t is not None]
    if len(found) != 1 or found[0][1].requires_grad:
        return False
    source, tangent = found[0]
    views = []
    for out in outs:
        data = out._data
        if data.base is None or not np.may_share_memory(data, source._data):
            return False
        view = _fs.view_tangent(out, source, tangent)
        if view is None:
            return False
        views.append(view)
    for out, view in zip(outs, views, strict=True):
        _fs._store(out, token, view)
    return True


def _unshared(tangent, tangents):
    """``tangent``, copied where it shares memory with an input's tangent (an identity rule
    returns the tangent itself, a broadcast one an expanded view of it): an in-place write into
    the result must not reach its inputs. (Views get their base's tangent's view afterwards.)"""
    if tangent is None or not hasattr(tangent, "_data"):
        return tangent
    data = tangent._data
    for other in tangents:
        if other is not None and np.may_share_memory(data, other._data):
            return tangent.clone()
    return tangent


def _set(out, token, tangent) -> None:
    from glassgrad.tensor import Tensor

    if not isinstance(tangent, Tensor):
        tangent = Tensor._from_array(np.asarray(tangent))
    data = out._data
    if tangent._data.dtype != data.dtype:
        tangent = tangent.to(_dtype_of(data))
    if tangent._data.shape != data.shape:
        tangent = tangent.expand(data.shape)
    _fs.put(out, token, tangent)


def _dtype_of(data):
    from glassgrad.dtypes import from_numpy_dtype

    return from_numpy_dtype(data.dtype)


def _tangents(cls, inputs, outs, saved, args, tangents):
    if cls is None:
        # a non-differentiable op with a float result (floor, round, sign): PyTorch's zero
        return tuple(_zeros(o) for o in outs)
    rule = getattr(cls, "_jvp", TRANSPOSE)
    if rule is None:
        raise unsupported(cls)
    saved_t = _saved_tensors(saved, outs[0])
    try:
        if rule is ELEMENTWISE:
            return (_elementwise(cls, inputs, outs, saved_t, args, tangents),)
        if rule is TRANSPOSE:
            return _transpose(cls, inputs, outs, saved_t, args, tangents)
    except (RuntimeError, NotImplementedError) as exc:
        raise _translated(exc, cls) from None
    made = rule(JvpContext(cls, inputs, outs, saved_t, args), *tangents)
    return made if isinstance(made, tuple) else (made,)


_NO_DERIVATIVE = re.compile(r"derivative for aten::(\w+) is not implemented$")
_NO_FORMULA = re.compile(r"the derivative for '(\w+)(: \w+)?' is not implemented\.$")


def _translated(exc, cls):
    """A backward rule's "no derivative" error as PyTorch's forward-mode error for the op."""
    text = str(exc)
    found = _NO_DERIVATIVE.match(text)
    if found:
        return NotImplementedError(
            f"Trying to use forward AD with aten::{found.group(1)} that does not support it."
        )
    found = _NO_FORMULA.match(text)
    if found:
        return unsupported(getattr(cls, "_fw_name", None) or found.group(1))
    return exc


def unsupported(cls) -> NotImplementedError:
    """PyTorch's error for an op without a forward-mode rule."""
    name = cls if isinstance(cls, str) else _op_name(cls)
    return NotImplementedError(
        f"Trying to use forward AD with {name} that does not support it because it has not "
        "been implemented yet.\nPlease file an issue to PyTorch at "
        "https://github.com/pytorch/pytorch/issues/new?template=feature-request.yml so that we "
        "can prioritize its implementation or submit a PR adding the implementation to "
        "derivatives.yaml"
    )


def _op_name(cls) -> str:
    name = getattr(cls, "_fw_name", None)
    if name:
        return name
    title = cls.__name__
    if "Backward" in title:
        title = title[: title.rindex("Backward")]
    out = []
    for index, char in enumerate(title):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def _zeros(out):
    from glassgrad.tensor import _make

    return _make(np.zeros_like(out._data))


def _saved_tensors(saved, out):
    """The op's ``saved`` tuple as the backward rule reads it under ``create_graph``."""
    if saved is None:
        return None
    from glassgrad.autograd.record import OUT, SavedCast
    from glassgrad.tensor import Tensor

    values = []
    for item in saved:
        if item is OUT:
            values.append(out)
        elif isinstance(item, SavedCast):
            values.append(item.tensor.to(_dtype_of(item.data)))
        elif isinstance(item, np.ndarray):
            values.append(Tensor._from_array(item))
        else:
            values.append(item)  # tensors, numbers, None
    return tuple(values)


def _node(cls, args, flags, inputs):
    """A node of ``cls`` as the backward rule expects its ``ctx``: its args, an edge where an
    input has a tangent, the inputs' ``(shape, dtype)``."""
    node = cls()
    node._args = args
    node.next_functions = tuple((_MARK, 0) if flag else (None, 0) for flag in flags)
    node._meta = tuple(None if t is None else (t._data.shape, t._data.dtype) for t in inputs)
    return node


def _call(node, grad, saved):
    from glassgrad.autograd.grad_mode import enable_grad

    with enable_grad():
        if saved is None:
            return node._backward(grad)
        return node._backward(grad, *saved)


def _elementwise(cls, inputs, outs, saved, args, tangents):
    """Diagonal Jacobians: the backward rule on the tangent is the JVP (conjugated for complex,
    whose rules return ``grad * conj(f'(x))``)."""
    out = outs[0]
    total = None
    # every input with a tangent flagged in every call, so that the rule splits ties (max,
    # clamp) as it does for backward
    flags = [t is not None for t in tangents]
    for index, tangent in enumerate(tangents):
        if tangent is None:
            continue
        grad = tangent
        if grad._data.shape != out._data.shape:
            grad = grad.expand(out._data.shape)
        complex_ = out._data.dtype.kind == "c"
        if complex_:
            grad = grad.conj()
        part = _call(_node(cls, args, flags, inputs), grad, saved)[index]
        if part is None:
            continue
        if complex_:
            part = part.conj()
        total = part if total is None else total + part
    return total if total is not None else _zeros(out)


def _transpose(cls, inputs, outs, saved, args, tangents):
    """``J t = d/du <J^T u, t>``: the backward rule run once on a placeholder gradient ``u``,
    then one reverse pass from the inner product to ``u``."""
    from glassgrad.autograd import grad as autograd_grad
    from glassgrad.autograd.engine import sum_to
    from glassgrad.autograd.grad_mode import enable_grad
    from glassgrad.tensor import Tensor

    diff = [o._data.dtype.kind in "fcV" for o in outs]
    us = [
        Tensor._from_array(np.zeros_like(o._data)).requires_grad_() if ok else None
        for o, ok in zip(outs, diff, strict=True)
    ]
    grad = us[0] if cls._n_outputs == 1 else tuple(us)
    node = _node(cls, args, [t is not None for t in tangents], inputs)
    with enable_grad():
        parts = _call(node, grad, saved)
        total = None
        for part, tangent, inp in zip(parts, tangents, inputs, strict=False):
            if part is None or tangent is None:
                continue
            if not isinstance(part, Tensor):
                continue  # a constant gradient: no path to ``u``
            shape = inp._data.shape
            if part.shape != shape:
                part = sum_to(part, shape)
            term = (part * tangent.to(part.dtype)).sum()
            total = term if total is None else total + term
    wanted = [u for u in us if u is not None]
    if total is None or not total.requires_grad:
        return tuple(_zeros(o) if ok else None for o, ok in zip(outs, diff, strict=True))
    keep = any(t is not None and t.requires_grad for t in (*tangents, *inputs))
    found = autograd_grad(total, wanted, create_graph=keep, allow_unused=True)
    found = iter(found)
    made = []
    for out, ok in zip(outs, diff, strict=True):
        if not ok:
            made.append(None)
            continue
        value = next(found)
        made.append(_zeros(out) if value is None else value)
    return tuple(made)


# -- in-place writes -------------------------------------------------------------------------
def _own_tangent(tensor, token):
    """``tensor``'s tangent at ``token``, made zeros when it has none: for a view, zeros on its
    base (PyTorch keeps a view's tangent as a view of its base's)."""
    found = _fs.get(tensor, token)
    if found is not None:
        return found
    extra = tensor._extra
    base = extra.base if extra is not None else None
    if base is not None and _differentiable(base._data):
        _fs.put(base, token, _zeros(base))
        found = _fs.get(tensor, token)
        if found is not None:
            return found
    _fs.put(tensor, token, _zeros(tensor))
    return _fs.get(tensor, token)


def _each_level(tensor, write) -> None:
    """Run ``write(token)`` for each active level, with that level's propagation off."""
    if not _differentiable(tensor._data):
        return
    active = _fs.ACTIVE[0]
    for position in range(active):
        _fs.ACTIVE[0] = position
        try:
            write(_fs.LEVELS[position])
        finally:
            _fs.ACTIVE[0] = active


def inplace_tangent(self, res) -> None:
    """After ``self`` took ``res``'s values in place: ``self``'s tangent takes ``res``'s, written
    into the tangent it has (so views of it see the change), zero where ``res`` has none."""

    def write(token):
        new, old = _fs.get(res, token), _fs.get(self, token)
        if new is None and old is None:
            return
        if new is not None and (new.requires_grad or (old is not None and old.requires_grad)):
            _fs.drop(self, token)
            _fs.put(self, token, new)  # a tangent with a graph is kept as made
            return
        target = _own_tangent(self, token)._data
        if new is None:
            target[...] = 0
        else:
            np.copyto(target, np.broadcast_to(new._data, target.shape), casting="unsafe")

    _each_level(self, write)


def setitem_tangent(self, key, value) -> None:
    """After ``self[key] = value``: the same write into the tangents (zeros for a value without
    one)."""
    from glassgrad.tensor import Tensor

    def write(token):
        new = _fs.get(value, token) if isinstance(value, Tensor) else None
        old = _fs.get(self, token)
        if new is None and old is None:
            return
        target = _own_tangent(self, token)
        if new is None:
            target[key] = 0
        else:
            target[key] = new

    _each_level(self, write)


def carry(snapshot, tensor) -> None:
    """Give ``snapshot`` (a stand-in for ``tensor`` before an in-place op) its tangents."""
    for token in _fs.LEVELS[: _fs.ACTIVE[0]]:
        found = _fs.get(tensor, token)
        if found is not None:
            _fs.put(snapshot, token, found)


def restride_tangent(self, same) -> None:
    """Before ``self`` is restrided in place (``t_``, ``squeeze_``...): its tangent gets the same
    new shape (``same(tangent)``, a view of it)."""

    def write(token):
        old = _fs.get(self, token)
        if old is not None:
            _fs.drop(self, token)
            _fs._store(self, token, same(old))

    _each_level(self, write)


_fs.install_rules(propagate)  # the recorder reaches forward mode through forward_state
