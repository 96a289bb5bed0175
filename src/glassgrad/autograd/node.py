"""The graph record: ``Node`` (a ``grad_fn``), saved tensors, and ``AccumulateGrad``.

A node holds the edges to the nodes of its inputs (``next_functions``), the input metadata the
engine needs to undo broadcasting and dtype promotion (``_meta``), and whatever its backward rule
saved. Nodes never hold their own output tensor (that would be a reference cycle): a saved output
is kept as its array plus a weak reference, and rebuilt as a tensor only under ``create_graph``.
"""

from __future__ import annotations

import itertools
import re
import weakref

import numpy as np

from glassgrad.autograd import bound, forward_state
from glassgrad.dtypes import from_numpy_dtype

_ndarray = np.ndarray
next_seq = itertools.count().__next__  # numbers nodes in creation order (the engine's priority)
_counter_users: list = []  # the setters of each place nodes are numbered (``use_counter``)
_current = [next_seq]


def use_counter(setter) -> None:
    """Register ``setter(counter)``, which rebinds one module's node-numbering function: the
    recorder, accumulation and ``Function`` number their nodes with a module global (a plain
    function on the hot path); anomaly mode and saved-tensor hooks swap in a counter that notes
    each node (``saved_hooks.refresh``), through these setters."""
    _counter_users.append(setter)
    setter(_current[0])


def set_counter(counter) -> None:
    """Number new nodes with ``counter()`` everywhere nodes are made."""
    _current[0] = counter
    for setter in _counter_users:
        setter(counter)


__all__ = ["Node", "AccumulateGrad", "node_class", "FREED", "link"]

# A saved record: what a node keeps of each tensor it saved (``Node._vars``), so that backward
# can refuse one changed in place since, with PyTorch's error. A plain tuple
# ``(counter, version, owner, index)``, built only by the recorder (``record.saved_record``),
# read by unpacking it into those four names:
#   counter: the tensor's version counter (a one-item list its views share);
#   version: the counter's value when the tensor was saved;
#   owner: the tensor; a weak reference for the op's own output (no reference cycle);
#   index: where its array is in ``Node._saved``; None: kept for its version only.
# (Measured: a NamedTuple makes the seed graph W1 8% slower; it costs three tuples to build.)


FREED = ("<freed>",)  # the value of ``_saved`` once backward released the buffers
ANOMALY = [False, True]  # anomaly detection: enabled, check_nan (set by autograd.anomaly_mode)
# ``_scalars`` of a node that saved two values, each a 0-d array or None (``mul`` of scalars)
SCALAR_PAIR = 2

# Set for good by the first ``tensor.data = ...`` in the process. PyTorch's saved inputs are the
# tensors themselves, so backward sees storage swapped in through ``.data`` after the save (saved
# outputs are not). glassgrad saves arrays, which is faster; once ``.data`` has been assigned,
# saved inputs are read from their tensors instead (``_current_inputs``).
DATA_ASSIGNED = [False]

# Set for good by the first ``detach_()`` of a tensor that had a grad_fn: from then on backward
# takes its checked path, which refuses a saved input detached in place after it was saved
# (PyTorch's error; its unpack finds no grad_fn for a tensor saved as a non-leaf).
DETACHED = [False]
_DETACHED_SAVED = (
    "Trying to use a saved tensor that has been detached in-place, i.e. with .detach_()."
    "This is not supported, please use out-of-place `.detach()` instead"
)


def detached_now():
    """The creation-order number of a ``detach_()`` of a non-leaf (compared with nodes' own)."""
    DETACHED[0] = True
    return _current[0]()


def _refuse_detached(node, records) -> None:
    seq = node._seq
    if seq is None or not node._detach_checked:
        return
    for _counter, _version, owner, _index in records:
        extra = getattr(owner, "_extra", None)  # (a saved output is a weak reference: skipped)
        if extra is None or owner._grad_fn is not None:
            continue
        detached = extra.detached_at
        if detached is not None and detached > seq:
            raise RuntimeError(_DETACHED_SAVED)


# PyTorch's hand-written C++ nodes: their name() carries the namespace
_CPP_NODES = frozenset({"AccumulateGrad", "CopySlices", "CopyBackwards", "Error", "GraphRoot"})

_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward."
)


_NO_EDGE = (None, 0)
_edge = None  # Tensor._edge: a tensor's edge, ``(node, output_nr)`` (bound at import)


def _bind(tensor_class, make) -> None:
    global _edge
    _edge = tensor_class._edge


bound.when_installed(_bind)


def link(node, inputs) -> None:
    """Point ``node`` at its inputs' graph: an edge per input (``next_functions``, PyTorch's
    ``(None, 0)`` for a non-tensor argument, given as None) and each input's shape and dtype
    (``_meta``: what the engine needs to undo broadcasting and dtype promotion). The one writer
    of a recorded node's edges, but for the recorder's hot ``result1`` and ``record2``, which
    write it out for their one or two inputs (the call and two tuples are a third of a small
    op)."""
    node.next_functions = tuple([_edge(t) if t is not None else _NO_EDGE for t in inputs])
    node._meta = tuple([(t._data.shape, t._data.dtype) if t is not None else None for t in inputs])


class Node:
    """A recorded operation: what PyTorch calls a ``grad_fn``.

    Nodes use class-level defaults instead of ``__slots__``: creating one then costs a single
    object allocation and the three assignments every node needs (``next_functions``, ``_meta``,
    and, when it saves anything, ``_saved``), which matters on small graphs.
    """

    _backward = None  # the rule, set on each generated subclass
    _n_outputs = 1
    _saved = None  # what the rule needs (tensors' arrays, scalars); FREED after backward
    _vars = None  # a saved record (see above) per saved tensor
    _scalars = False  # some saved value is a 0-d array: hand it to the rule as a NumPy scalar
    # saved (input, other), checked other first: PyTorch unpacks saved variables in the order
    # of their names (other_ before self_), and reports the first one modified in place
    _other_first = False
    _args = None  # metadata the rule needs that is never freed (dims, shapes)
    _pre_hooks = None
    _post_hooks = None  # an AccumulateGrad's own ``register_hook`` hooks (engine._leaf runs them)
    _retain = None
    _prov = None
    _custom_apply = False  # True where ``apply`` is overridden (custom Functions)
    _detach_checked = True  # refuses a saved input detached in place since (``DETACHED``)
    # True once the node has hooks, a retained output or a custom ``apply``: the plain engine
    # loop then hands it to the general path (one flag read for nodes that need none of it)
    _special = False
    _seq = None  # creation order, set where nodes are made: the engine runs newest first
    # The inputs' ``(shape, dtype)``, one per edge, for the engine to fit gradients to; None on
    # nodes whose inputs all have the output's shape and dtype, which keep that pair in
    # ``_exact`` instead (most elementwise ops: one tuple less per node)
    _meta = None
    _exact = False
    # Whether nodes of this class note the user's source line when made (``LOCATED``), and that
    # line as ``(code, lineno)`` once noted
    _locate = False
    # Whether a node of this class notes its line when one operand is a tensor that does not
    # require grad (``loss * mask``: ``MASK_LOCATED``)
    _locate_mask = False
    _where = None
    _quiet = None  # units of an activation whose every output had derivative 0 (``locate``)
    # For an op whose backward PyTorch runs as one fused kernel taking some forward inputs
    # (``max_pool2d_with_indices_backward(grad, self, ...)``, ``convolution_backward(grad,
    # input, weight, ...)``): ``(edges, rule)``, the indices of those inputs' edges and the
    # kernel's own backward with respect to them (zeros, no gradient, or an error). Under
    # ``create_graph`` the kernel's outputs require grad whenever such an input does, even where
    # they do not depend on it: see ``tie_fused``.
    _tie = None

    def _input_meta(self) -> tuple:
        """``(shape, dtype)`` of each input (None for an argument that is not a tensor)."""
        if self._meta is not None:
            return self._meta
        return (self._exact,) * len(self.next_functions)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node."""
        found = self.__dict__.get("_metadata")
        if found is None:
            found = self.__dict__["_metadata"] = {}
            stack = getattr(self._seq, "stack", None)  # recorded under anomaly mode
            if stack:
                found["traceback_"] = list(stack)
        return found

    def name(self) -> str:
        """The node's name as PyTorch gives it: ``MulBackward0``, or for the nodes PyTorch
        writes in C++ by hand, their qualified name (``torch::autograd::CopySlices``)."""
        name = type(self).__name__
        return f"torch::autograd::{name}" if name in _CPP_NODES else name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"

    def __call__(self, *grads):
        return self.apply(grads[0] if len(grads) == 1 else grads, False)

    def apply(self, grad, create_graph: bool):
        """Run this node's backward rule: one gradient per ``next_functions`` entry.

        The rule is ``rule(ctx, grad, *saved)``: ``ctx`` is this node (its ``_args`` hold
        non-tensor metadata that is never freed), ``saved`` what the forward saved.
        """
        if self._saved is None:
            out = self._backward(grad)
        else:
            out = self._backward(grad, *self.saved(create_graph))
        if create_graph and self._tie is not None:
            return tie_fused(self, out)
        return out

    # -- saved tensors -------------------------------------------------------------------------
    def saved(self, create_graph: bool = False):
        """The saved values: arrays normally, tensors under ``create_graph`` (for double backward).

        Raises the RuntimeErrors PyTorch raises when the buffers were freed or a saved tensor was
        modified in place since it was saved.
        """
        values = self._saved
        if values is FREED:
            raise RuntimeError(_SECOND_BACKWARD)
        records = self._vars
        if records is not None:
            if DETACHED[0]:
                _refuse_detached(self, records)
            for record in reversed(records) if self._other_first else records:
                counter, version, _owner, _index = record
                if counter[0] != version:
                    _raise_modified(self, record)
        if create_graph:
            return _as_tensors(self, values, records or ())
        if DATA_ASSIGNED[0] and records is not None:
            values = _current_inputs(values, records)
        if self._scalars:
            # NumPy mixes 0-d arrays and scalars ten times slower than scalars alone; reading the
            # scalar at backward time still sees writes made through ``.data``, as PyTorch does.
            return tuple([v[()] if v.__class__ is _ndarray and not v.ndim else v for v in values])
        return values

    def release(self) -> None:
        """Free what backward needed (called after backward unless ``retain_graph``)."""
        if self._saved is not None:
            self._saved = FREED
            self._vars = None

    # register_hook(hook): ``hook(grad_inputs, grad_outputs)`` after the node runs; installed by
    # autograd.graph, where node hooks live

    def register_prehook(self, hook):
        """Register ``hook(grad_outputs) -> grad_outputs | None`` run before this node."""
        from glassgrad.utils.hooks import RemovableHandle

        hooks = self._pre_hooks
        if hooks is None:
            hooks = self._pre_hooks = {}
        self._special = True
        handle = RemovableHandle(hooks)
        hooks[handle.id] = (None, hook)
        return handle


def _current_inputs(values, records):
    """``values`` with each saved input replaced by its tensor's current array (see above)."""
    values = list(values)
    for _counter, _version, owner, index in records:
        # an input, not the node's output (nor a tensor saved only for its version)
        if not isinstance(owner, weakref.ReferenceType) and index is not None:
            values[index] = owner._data
    return tuple(values)


def _raise_modified(node: Node, record) -> None:
    Tensor = bound.Tensor
    counter, version, owner, index = record
    tensor = owner() if isinstance(owner, weakref.ReferenceType) else owner
    # (the tensor's own array: a saved copy promoted to the op's dtype is not what PyTorch names)
    data = tensor._data if isinstance(tensor, Tensor) else node._saved[index or 0]
    # (a composite op saved a reshaped view of the operand: PyTorch names that view's shape,
    # and its node, regenerated once the base changed: AsStridedBackward0)
    folded = node.__dict__.get("_saved_shapes", {}).get(index)
    shape = data.shape if folded is None else folded
    shape = ", ".join(str(n) for n in shape)
    legacy = from_numpy_dtype(data.dtype)._legacy
    where = ""
    is_output = isinstance(owner, weakref.ReferenceType)
    # a saved output names the node that saved it; a saved input its tensor's current grad_fn
    # (``grad_fn``, not ``_grad_fn``: a view whose base was changed names its regenerated node)
    grad_fn = node if is_output else (tensor.grad_fn if isinstance(tensor, Tensor) else None)
    view_fn = node.__dict__.get("_view_fns", {}).get(index) if is_output else None
    if view_fn is not None and tensor is not None and tensor._grad_fn is view_fn():
        # an op's output written through a view (_adopt_saved_output): PyTorch names the view's
        # node of then while it lives, which (short of a user holding it) is while the view has it
        grad_fn = tensor._grad_fn
    if folded is not None and tensor is not None and tensor.requires_grad:
        where = ", which is output 0 of AsStrided,"
    elif folded is not None:
        pass  # (a view of a tensor outside the graph has no node to name)
    elif grad_fn is not None:
        name = grad_fn.name()
        # PyTorch drops "Backward0" and keeps other numbers: ExpBackward0 -> Exp, EluBackward1 ->
        # Elu1
        if "Backward" in name:
            cut = name.rindex("Backward")
            name = name[:cut] + name[cut + 8 :].lstrip("0")
        where = f", which is output {tensor._output_nr if tensor is not None else 0} of {name},"
    hint = (
        "the backtrace further above shows the operation that failed to compute its gradient. "
        "The variable in question was changed in there or anywhere later. Good luck!"
        if ANOMALY[0]
        else "enable anomaly detection to find the operation that failed to compute its "
        "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [torch.{legacy} [{shape}]]{where} is at version {counter[0]}; expected "
        f"version {version} instead. Hint: {hint}"
    )


def _as_tensors(node: Node, values, records):
    Tensor, _make = bound.Tensor, bound.make
    out = list(values)
    for _counter, _version, owner, index in records:
        if index is None:
            continue  # saved for its version only
        if isinstance(owner, weakref.ReferenceType):  # a saved output: rebuild it on this node
            out[index] = _make(values[index], node, 0)
            kept = node.__dict__.get("_fw_outs")
            if kept:  # its tangents, for forward over reverse (forward_rules)
                for (output_nr, token), tangent in kept.items():
                    if output_nr == 0 and token in forward_state.LEVELS:
                        forward_state.put(out[index], token, tangent)
        else:
            out[index] = owner
    for index, value in enumerate(out):
        if value is not None and value.__class__.__module__ == "numpy":
            out[index] = Tensor._from_array(value)
    return tuple(out)


_CLASSES: dict = {}

# Nodes that note their user source line even without anomaly mode: the ops that stop or zero a
# gradient while it flows (zero derivative, dead or saturated units, clamping, masking) and the
# casts that turn a parameter into a non-leaf, so ``glass.explain`` can name the line. A frame
# walk each (one to three microseconds); the ops of ordinary arithmetic stay free of it. Sigmoid
# and tanh walk only when sampled outputs are saturated (provenance._SATURATED: W3's chain of
# 100 tanh paid 5% for a walk and a saturation pass on every op).
LOCATED = frozenset(
    {
        "ReluBackward0",
        "ThresholdBackward0",
        "HardtanhBackward0",
        "ClampBackward0",
        "ClampBackward1",
        "ClampMinBackward0",
        "ClampMinBackward1",
        "ClampMaxBackward0",
        "ClampMaxBackward1",
        "RoundBackward0",
        "RoundBackward1",
        "FloorBackward0",
        "CeilBackward0",
        "SignBackward0",
        "SgnBackward0",
        "TruncBackward0",
        "ToCopyBackward0",
        "MaskedFillBackward0",
        "MaskedFillBackward1",
        "WhereBackward0",
        "IndexBackward0",
        "SigmoidBackward0",
        "TanhBackward0",
        "LogBackward0",
        "Log2Backward0",
        "Log10Backward0",
        "SqrtBackward0",
        "RsqrtBackward0",
    }
)


# Products and quotients note their line only when one operand is a tensor that does not
# require grad (a mask, a weighting, a normaliser: what zeroes a loss when it is all zeros);
# arithmetic between tensors that require grad, or with Python numbers, stays free of the walk.
MASK_LOCATED = frozenset({"MulBackward0", "DivBackward0"})


_TIED: dict = {}


def zero_rule(ctx, grad):
    """A fused kernel's derivative with respect to the inputs it only reads: zeros."""
    zeros = []
    for meta in ctx._input_meta():
        if meta is None or meta is False:
            zeros.append(None)
        else:
            shape, dtype = meta
            zeros.append(np.zeros(shape, dtype))
    return tuple(zeros)


def tie_fused(node, outputs):
    """``outputs`` of ``node``'s rule under ``create_graph``, each that does not require grad
    while an input in ``node._tie`` does made to depend on those inputs (with derivative zero),
    so ``requires_grad`` is PyTorch's; the node is PyTorch's ``...BackwardBackward0``, whose
    rule is the kernel's own derivative for those inputs (``node._tie``'s second item)."""
    tie, rule = node._tie
    edges = [node.next_functions[i] if i < len(node.next_functions) else (None, 0) for i in tie]
    if all(edge[0] is None for edge in edges):
        return outputs
    single = not isinstance(outputs, tuple)
    items = [outputs] if single else list(outputs)
    metas = [node._input_meta()[i] for i in tie]
    name = getattr(rule, "node_name", None) or type(node).__name__
    name = name[: -len("Backward0")] + "BackwardBackward0" if name.endswith("Backward0") else name
    cls = _TIED.get((name, rule))
    if cls is None:
        attrs = {"_backward": rule, "__module__": __name__}
        cls = _TIED[(name, rule)] = type(name, (Node,), attrs)
    for index, out in enumerate(items):
        if out is None:
            continue
        data = out if isinstance(out, np.ndarray) else out._data
        if not isinstance(out, np.ndarray) and out.requires_grad:
            continue
        tied = cls()
        tied.next_functions = tuple(edges)
        tied._meta = tuple(metas)
        tied._seq = next_seq()
        items[index] = bound.make(data, tied)
    return items[0] if single else tuple(items)


def node_class(name: str, backward, n_outputs: int = 1, jvp=None) -> type:
    """Create the ``grad_fn`` class ``name`` (``MulBackward0``) with the rule ``backward``.

    One class per name: ops that PyTorch gives the same node name share it only if they share the
    rule, so asking twice for a name with a different rule is an error. ``jvp``: the op's
    forward-mode rule (see ``autograd.forward_rules``); without one, the backward rule's transpose.
    """
    existing = _CLASSES.get(name)
    if existing is not None:
        raise ValueError(f"grad_fn class {name} is defined twice")
    body = {
        "_backward": backward,
        "_n_outputs": n_outputs,
        "_locate": name in LOCATED,
        "_locate_mask": name in MASK_LOCATED,
        "__module__": "glassgrad.autograd.graph",
    }
    if jvp is not None:
        body["_jvp"] = jvp if jvp != "none" else None
    cls = type(name, (Node,), body)
    _CLASSES[name] = cls
    return cls


# -- complex numbers -----------------------------------------------------------------------------
# PyTorch's gradients for complex numbers are conjugate Wirtinger derivatives: for a holomorphic
# op with derivative f'(z), the input's gradient is ``grad * conj(f'(z))``. A rule written for
# real numbers (``grad * f'(x)``) gives exactly that when it is run on the conjugated gradient
# and its result is conjugated back, so such rules are marked ``HOLOMORPHIC`` and reused. Rules
# that are right for complex numbers as they are (moving data, summing, or written for them)
# are ``NATIVE``. A node class marked neither refuses complex inputs and outputs with
# PyTorch's error, rather than give a gradient made for real numbers.
NATIVE, HOLOMORPHIC = "native", "holomorphic"
Node._complex = None


def complex_rule(mode, *classes) -> None:
    """Mark node ``classes`` as computing complex gradients ``NATIVE``-ly or ``HOLOMORPHIC``
    (or give the node class that does, for an op whose real rule does not hold)."""
    for cls in classes:
        cls._complex = mode


def _conj(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return np.conj(value) if value.dtype.kind == "c" else value
    if value is None or not hasattr(value, "conj_physical"):
        return value
    return value.conj_physical() if value.is_complex() else value  # a tensor (create_graph)


def _conjugated(cls) -> type:
    """``cls`` with its real-number rule turned into the complex one (see above)."""
    found = cls.__dict__.get("_conj_twin")
    if found is not None:
        return found
    rule = cls._backward

    def backward(ctx, grad, *saved):
        grad = [_conj(g) for g in grad] if isinstance(grad, (list, tuple)) else _conj(grad)
        return tuple([_conj(g) for g in rule(ctx, grad, *saved)])

    twin = type(cls.__name__, (cls,), {"_backward": backward, "__module__": cls.__module__})
    twin._complex = NATIVE
    cls._conj_twin = twin
    return twin


def complex_class(cls, outs, inputs):
    """The node class to record for an op whose output(s) ``outs`` or ``inputs`` (tensors or
    None) may be complex: ``cls``, its conjugated twin, or PyTorch's error."""
    if not any(out.dtype.kind == "c" for out in outs) and not any(
        t is not None and t._data.dtype.kind == "c" for t in inputs
    ):
        return cls
    mode = cls._complex
    if mode is NATIVE:
        return cls
    if isinstance(mode, type):  # a class with the rule for complex numbers
        return mode
    if mode is HOLOMORPHIC:
        return _conjugated(cls)
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", re.sub(r"Backward\d*$", "", cls.__name__)).lower()
    raise RuntimeError(
        f"{name} does not support automatic differentiation for outputs with complex dtype."
    )


class AccumulateGrad(Node):
    """The node at a leaf that requires grad: adds the incoming gradient into ``leaf.grad``."""

    next_functions = ()
    _meta = ()

    def __init__(self, variable) -> None:
        # The leaf holds this node and the node holds the leaf weakly: one node per leaf for its
        # whole life (no allocation per forward pass), and no reference cycle. A leaf the user
        # dropped while its graph lives has no ``.grad`` anyone could read, so nothing is lost.
        self._variable = weakref.ref(variable)
        # The NumPy scalar type of the leaf's dtype: a 0-d gradient of this type can be stored as
        # it is (engine). Kept in step by ``set_data``, the one way a leaf's dtype changes.
        self._type = variable._data.dtype.type

    @property
    def variable(self):
        """The leaf tensor this node accumulates into."""
        return self._variable()
