"""Tracing: run the user's function once, eagerly, and record the ops it calls.

glassgrad's ops are plain Python functions reached by many names (``Tensor.tanh``, ``x * y``,
``glassgrad.tanh``, ``F.relu``), so there is no one call site to observe. While a trace runs,
``_patched`` puts a recording wrapper in front of each of those names (the Tensor methods and
operators, and the public functions of ``glassgrad``, ``nn.functional``, ``linalg`` and
``special``); the wrappers cost nothing outside a trace, because they are only installed during
one. The outermost call is recorded (what it calls inside runs as part of it).

Everything the tracer cannot follow is a *graph break*: reading a tensor's values into Python
(``.item()``, ``bool(t)`` in an ``if``, ``.numpy()``, ``print``), in-place changes, hooks, and
tensors made by code that was not recorded. The trace itself ran eagerly, so its results are
right either way; a function with a break is simply run eagerly from then on (or, under
``fullgraph=True``, the break raises PyTorch's ``Unsupported`` error naming the user's line).
"""

from __future__ import annotations

import os
import sys
import types
from threading import get_ident as _get_ident

import numpy as np

from glassgrad.autograd.grad_mode import state as _grad_state
from glassgrad.tensor import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ACTIVE: list = [None]  # the running Tracer, if any

# Tensor methods that read values into Python, or change the graph's bookkeeping: breaks
_BREAKS = {
    "item": "Tensor.item() reads a tensor's value into Python",
    "tolist": "Tensor.tolist() reads a tensor's values into Python",
    "numpy": "Tensor.numpy() converts a tensor to a NumPy array",
    "__array__": "converting a tensor to a NumPy array",
    "__bool__": "Data-dependent branching (the truth value of a tensor)",
    "__float__": "float() reads a tensor's value into Python",
    "__int__": "int() reads a tensor's value into Python",
    "__index__": "using a tensor as an index reads its value into Python",
    "__repr__": "printing a tensor reads its values",
    "__str__": "printing a tensor reads its values",
    "__format__": "formatting a tensor reads its values",
    "__iter__": "iterating over a tensor",
    "backward": "Tensor.backward() inside the compiled function",
    "register_hook": "registering a hook inside the compiled function",
    "register_post_accumulate_grad_hook": "registering a hook inside the compiled function",
    "retain_grad": "Tensor.retain_grad() inside the compiled function",
    "data_ptr": "Tensor.data_ptr() reads storage",
    "untyped_storage": "Tensor.untyped_storage() reads storage",
    "tolist_": "",
}
# The breaks a compiled function can resume after: they only read values into Python (what
# Python then does with them is checked at replay, call by call; see ``resume``)
READS = frozenset(
    "item tolist __bool__ __float__ __int__ __index__ __repr__ __str__ __format__".split()
)
# Methods that read only metadata (fixed by the guards): not recorded, not a break
_META = frozenset(
    {
        "size",
        "dim",
        "ndimension",
        "numel",
        "nelement",
        "stride",
        "is_contiguous",
        "is_floating_point",
        "is_complex",
        "element_size",
        "get_device",
        "is_inference",
        "is_pinned",
        "storage_offset",
        "type",
        "is_tensor",
        "is_storage",
        "get_default_dtype",
        "is_grad_enabled",
        "is_inference_mode_enabled",
        "result_type",
        "promote_types",
        "can_cast",
        "broadcast_shapes",
        "__len__",
    }
)
# metadata reads that give a size (a ``dynamic=True`` plan must not depend on them)
_SIZES = frozenset({"size", "numel", "nelement", "stride", "__len__", "shape"})
_DUNDERS = (
    "__abs__ __add__ __and__ __eq__ __floordiv__ __ge__ __getitem__ __gt__ __invert__ __le__ "
    "__lshift__ __lt__ __matmul__ __mod__ __mul__ __ne__ __neg__ __or__ __pos__ __pow__ __radd__ "
    "__rand__ __rfloordiv__ __rlshift__ __rmatmul__ __rmod__ __rmul__ __ror__ __rpow__ "
    "__rrshift__ __rshift__ __rsub__ __rtruediv__ __rxor__ __sub__ __truediv__ __xor__ "
    "__iadd__ __iand__ __ifloordiv__ __ilshift__ __imod__ __imul__ __ior__ __ipow__ __irshift__ "
    "__isub__ __itruediv__ __ixor__ __setitem__ __len__"
).split()
# module-level names never recorded (they make no tensor from tensors, or manage state)
_SKIP = frozenset({"compile", "set_grad_enabled", "manual_seed", "seed", "set_default_dtype"})


class Break(Exception):
    """Raised inside a trace under ``fullgraph=True`` (turned into ``Unsupported``)."""


class Slot:
    """A placeholder for a traced value inside recorded arguments and results."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"%{self.index}"


class Value:
    """What the trace knows of one tensor value: its metadata, where it comes from."""

    __slots__ = ("shape", "dtype", "requires_grad", "kind", "source", "op")

    def __init__(self, shape, dtype, requires_grad, kind, source=None, op=None) -> None:
        self.shape = shape
        self.dtype = dtype
        self.requires_grad = requires_grad
        self.kind = kind  # "input", "lifted" (a parameter, closure or global tensor), "op"
        self.source = source  # for "input": position in the flat arguments; "lifted": a path
        self.op = op  # for "op": the index of the op that made it


class Op:
    """One recorded call: ``fn(*args, **kwargs)`` with tensors replaced by ``Slot``s."""

    __slots__ = ("name", "fn", "args", "kwargs", "outs", "grad", "line", "inputs")

    def __init__(self, name, fn, args, kwargs, outs, grad, line, inputs) -> None:
        self.name = name
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.outs = outs  # the result with Slots
        self.grad = grad  # whether grad mode recorded at the call
        self.line = line  # (filename, lineno, function name) of the user's call
        self.inputs = inputs  # the slot indices of the tensor inputs, in order

    def out_slots(self) -> list:
        return [s.index for s in flatten(self.outs) if s.__class__ is Slot]


def flatten(tree):
    """The leaves of nested tuples (namedtuples too), lists and dicts."""
    if isinstance(tree, (tuple, list)):
        out = []
        for item in tree:
            out.extend(flatten(item))
        return out
    if tree.__class__ is dict:
        out = []
        for item in tree.values():
            out.extend(flatten(item))
        return out
    return [tree]


def tree_map(fn, tree):
    """``tree`` with each leaf replaced by ``fn(leaf)`` (tuples, lists, dicts; namedtuples kept)."""
    cls = tree.__class__
    if cls is tuple or cls is list:
        return cls([tree_map(fn, item) for item in tree])
    if cls is dict:
        return {key: tree_map(fn, item) for key, item in tree.items()}
    if isinstance(tree, tuple):  # namedtuples, PyTorch's return_types
        items = [tree_map(fn, item) for item in tree]
        try:
            return cls(*items)
        except TypeError:
            return cls(items)
    return fn(tree)


def user_frame():
    """``(filename, lineno, function, source line)`` of the innermost frame outside glassgrad."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return ("<unknown>", 0, "<unknown>", "")
    import linecache

    code = frame.f_code
    text = linecache.getline(code.co_filename, frame.f_lineno).rstrip()
    return (code.co_filename, frame.f_lineno, code.co_name, text)


class Tracer:
    """Records the ops of one eager run of the user's function."""

    def __init__(self, fullgraph: bool, roots) -> None:
        self.fullgraph = fullgraph
        self.roots = roots  # objects whose tensors may be lifted (the function, the module)
        self.values: list[Value] = []
        self.ids: dict[int, int] = {}  # id(tensor) -> slot
        self.keep: list = []  # (tensor, version, array) per slot: alive while tracing
        self.ops: list[Op] = []
        self.breaks: list = []  # (reason, frame)
        self.depth = 0
        self._sources = None
        self.thread = _get_ident()
        self.stops: list = []  # (number of ops recorded before a break, whether resumable)
        self.used: set = set()  # the (owner, name) pairs the function called
        self.shape_reads = 0

    # -- values ------------------------------------------------------------------------------
    def add(self, tensor, kind, source=None, op=None) -> int:
        data = tensor._data
        index = len(self.values)
        self.values.append(
            Value(data.shape, data.dtype, bool(tensor.requires_grad), kind, source, op)
        )
        self.ids[id(tensor)] = index
        self.keep.append((tensor, tensor._vc[0] if tensor._vc else None, data))
        return index

    def slot_of(self, tensor) -> int:
        index = self.ids.get(id(tensor))
        if index is not None:
            return index
        if self._sources is None:
            from glassgrad._compile.sources import find_tensors

            self._sources = find_tensors(self.roots)
        path = self._sources.get(id(tensor))
        if path is None:
            self.graph_break(
                "a tensor made by code the tracer cannot follow (not by a glassgrad op it "
                "recorded, and not an input, parameter, buffer or closure tensor)"
            )
            return self.add(tensor, "lifted", None)
        return self.add(tensor, "lifted", path)

    # -- breaks ------------------------------------------------------------------------------
    def graph_break(self, reason: str, resumable: bool = False) -> None:
        frame = user_frame()
        self.breaks.append((reason, frame))
        self.stops.append((len(self.ops), resumable))
        if self.fullgraph:
            raise Break(reason, frame)

    # -- calls -------------------------------------------------------------------------------
    def call(self, name, fn, args, kwargs):
        tensors = [t for t in flatten((args, kwargs)) if isinstance(t, Tensor)]
        if name in _META:
            if name in _SIZES:
                self.shape_reads += 1
            return fn(*args, **kwargs)
        reason = _BREAKS.get(name)
        if reason:
            self.graph_break(reason, name in READS)
            return self._inside(fn, args, kwargs)
        if (name.endswith("_") and not name.endswith("__")) or name.startswith("__i"):
            if tensors:
                self.graph_break(f"in-place op {name} inside the compiled function")
            return self._inside(fn, args, kwargs)
        if name == "__setitem__":
            self.graph_break("in-place assignment t[...] = v inside the compiled function")
            return self._inside(fn, args, kwargs)
        if "out" in kwargs and kwargs["out"] is not None:
            self.graph_break(f"{name}(out=...) writes in place")
            return self._inside(fn, args, kwargs)
        slots = {id(t): Slot(self.slot_of(t)) for t in tensors}
        grad = _grad_state.record
        out = self._inside(fn, args, kwargs)
        outs = flatten(out)
        made = [t for t in outs if isinstance(t, Tensor)]
        if not made:
            if tensors:
                self.graph_break(f"{name} returns a Python value computed from tensors")
            return out
        if not tensors and any(t.requires_grad for t in made):
            self.graph_break(f"{name} makes a tensor that requires grad inside the function")
        op_index = len(self.ops)
        out_tree = tree_map(
            lambda t: Slot(self._made(t, op_index)) if isinstance(t, Tensor) else t, out
        )
        rec_args = tree_map(lambda t: slots[id(t)] if isinstance(t, Tensor) else t, args)
        rec_kwargs = tree_map(lambda t: slots[id(t)] if isinstance(t, Tensor) else t, kwargs)
        inputs = [s.index for s in flatten((rec_args, rec_kwargs)) if s.__class__ is Slot]
        self.ops.append(Op(name, fn, rec_args, rec_kwargs, out_tree, grad, user_frame(), inputs))
        return out

    def _made(self, tensor, op_index) -> int:
        if id(tensor) in self.ids:  # an op that returned its input (x.to(x.dtype), contiguous)
            index = self.add(tensor, "op", op=op_index)
            return index
        return self.add(tensor, "op", op=op_index)

    def _inside(self, fn, args, kwargs):
        self.depth += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self.depth -= 1

    def check_unchanged(self) -> None:
        """A break if any traced tensor was changed in place or had ``.data`` replaced."""
        for tensor, version, data in self.keep:
            if tensor._data is not data or (tensor._vc and tensor._vc[0] != version):
                self.breaks.append(("a traced tensor was changed in place", user_frame()))
                self.stops.append((len(self.ops), False))
                return


# -- the recording wrappers ----------------------------------------------------------------
def _wrapper(owner, name, fn):
    def traced(*args, **kwargs):
        tracer = ACTIVE[0]
        if tracer is None or tracer.depth or tracer.thread != _get_ident():
            return fn(*args, **kwargs)  # (another thread's eager code is not this trace's)
        tracer.used.add((owner, name))
        return tracer.call(name, fn, args, kwargs)

    traced.__wrapped__ = fn
    traced.__name__ = getattr(fn, "__name__", name)
    traced.__doc__ = getattr(fn, "__doc__", None)
    return traced


_PATCHES: list = []  # (owner, name, original, wrapper)


def patch_list() -> list:
    """``(owner, name, op, wrapper)`` for every name a trace records."""
    return _patch_list()


def _patch_list() -> list:
    if _PATCHES:
        return _PATCHES
    seen = {}
    for cls in Tensor.__mro__[:-1]:
        for name, value in vars(cls).items():
            if name not in seen:
                seen[name] = value
    for name, value in seen.items():
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) and (
            not name.startswith("_") or name in _DUNDERS or name in _BREAKS
        ):
            _PATCHES.append((Tensor, name, value, _wrapper(Tensor, name, value)))
    import glassgrad
    from glassgrad import linalg, special
    from glassgrad.nn import functional

    for module in (glassgrad, functional, linalg, special):
        for name, value in list(vars(module).items()):
            if (
                name.startswith("_")
                or name in _SKIP
                or isinstance(value, type)
                or not callable(value)
                or isinstance(value, types.ModuleType)
                or not getattr(value, "__module__", "").startswith("glassgrad")
            ):
                continue
            _PATCHES.append((module, name, value, _wrapper(module, name, value)))
    return _PATCHES


class patched:
    """While inside: the recording wrappers are installed and ``tracer`` is the active one
    (``only``: just these entries of ``patch_list()``, as a resumed replay needs)."""

    def __init__(self, tracer, only=None) -> None:
        self.tracer = tracer
        self.only = only

    def __enter__(self):
        if ACTIVE[0] is not None:
            raise RuntimeError("glassgrad.compile: a trace is already running")
        # What each name holds now, not when the list was first made: other code may have
        # wrapped an op since (autocast and bfloat16 install their wrappers on first use), and
        # putting back a stale original would silently undo that
        self.saved = []
        for owner, name, first, wrapper in _patch_list() if self.only is None else self.only:
            current = getattr(owner, name, None)
            if current is None:
                continue
            if current is not first:
                wrapper = _wrapper(owner, name, current)
            self.saved.append((owner, name, owner.__dict__.get(name), wrapper))
            setattr(owner, name, wrapper)
        self.shape = None
        if self.only is None:  # a trace: count reads of ``t.shape`` (a property, not a call)
            owner = next(c for c in Tensor.__mro__ if "shape" in vars(c))
            self.shape = (Tensor.__dict__.get("shape"), owner.__dict__["shape"])
            Tensor.shape = _counted_shape(self.shape[1])
        ACTIVE[0] = self.tracer
        return self.tracer

    def __exit__(self, *exc) -> None:
        ACTIVE[0] = None
        if self.shape is not None:
            if self.shape[0] is None:
                del Tensor.shape
            else:
                Tensor.shape = self.shape[0]
        for owner, name, original, wrapper in self.saved:
            if owner.__dict__.get(name) is not wrapper:
                continue  # replaced meanwhile by someone else: theirs stays
            if original is None:
                delattr(owner, name)  # it was inherited
            else:
                setattr(owner, name, original)


def _counted_shape(original):
    def shape(self):
        tracer = ACTIVE[0]
        if tracer is not None and not tracer.depth and tracer.thread == _get_ident():
            tracer.shape_reads += 1
        return original.__get__(self)

    shape.__doc__ = original.__doc__
    return property(shape)


def shares_memory(a, b) -> bool:
    return bool(np.may_share_memory(a, b))
