"""A compiled function: guards, the cache of traced entries, and the region's autograd node.

Each call builds a guard key (every tensor argument's shape, dtype and ``requires_grad``, the
other arguments' values or identities, grad and inference mode) and looks it up; an entry also
checks that its lifted tensors (parameters, closure tensors) are still the same objects with the
same metadata, and that the closure's Python numbers are unchanged. A miss traces again (a
recompile); after ``glassgrad._dynamo.config.recompile_limit`` entries (PyTorch's 8) a miss
runs eagerly with PyTorch's warning, so a recompile storm cannot happen.

A replayed call runs the plan on arrays and records one node, ``CompiledFunctionBackward``, for
all its outputs, with an edge to each input and lifted tensor that requires grad: leaf hooks,
``.grad`` accumulation and graphs upstream of the inputs work as in eager, and an input changed
in place before backward raises eager's version-counter error.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from glassgrad._compile import plan as _plan
from glassgrad._compile import sources as _sources
from glassgrad._compile.trace import ACTIVE as _ACTIVE
from glassgrad._compile.trace import Break, Slot, Tracer, flatten, patched, shares_memory
from glassgrad.autograd import grad_mode as _grad_mode
from glassgrad.autograd.node import Node
from glassgrad.autograd.node import use_counter as _use_counter
from glassgrad.autograd.record import saved_record
from glassgrad.compiler import Unsupported
from glassgrad.tensor import Tensor, _make

log = logging.getLogger("glassgrad._dynamo")
_SCALARS = (int, float, bool, str, type(None))
_DOUBLE = "torch.compile with aot_autograd does not currently support double backward"
_STATS = {"compiles": 0}
REPLAY_OPAQUE = [False]  # replay plans that lower nothing (the tests' setting), else run eagerly


def _compiled_backward(ctx, grad, saved, inputs):
    entry = ctx._args
    grads = grad if ctx._n_outputs > 1 else (grad,)
    for g in grads:
        if isinstance(g, Tensor):  # create_graph=True gives tensors
            raise RuntimeError(_DOUBLE)
    return entry.plan.backward(grads, saved, inputs)


class CompiledFunctionBackward(Node):
    """The node of a compiled region: its backward is the plan's backward."""

    _backward = _compiled_backward
    __module__ = "torch.autograd.function"


_NODE_CLASSES: dict = {}


def _node_class(count: int) -> type:
    cls = _NODE_CLASSES.get(count)
    if cls is None:
        cls = _NODE_CLASSES[count] = type(
            "CompiledFunctionBackward",
            (CompiledFunctionBackward,),
            {"_n_outputs": count, "__module__": "torch.autograd.function"},
        )
    return cls


def _key(tree, grad_state):
    parts = [grad_state.record, grad_state.inference]
    _key_into(tree, parts)
    return tuple(parts)


def _key_into(tree, parts) -> None:
    cls = tree.__class__
    if cls is Tensor or isinstance(tree, Tensor):
        data = tree._data
        parts.append((data.shape, data.dtype, tree._requires_grad or tree.requires_grad))
    elif cls is tuple or cls is list:
        parts.append((cls, len(tree)))
        for item in tree:
            _key_into(item, parts)
    elif cls is dict:
        parts.append((dict, tuple(tree)))
        for item in tree.values():
            _key_into(item, parts)
    elif isinstance(tree, _SCALARS):
        parts.append((cls, tree))
    else:
        parts.append(("id", id(tree)))


def _tensors(tree) -> list:
    return [t for t in flatten(tree) if isinstance(t, Tensor)]


class Entry:
    """One traced guard set: its plan, or ``eager`` where the trace found a graph break."""

    def __init__(self) -> None:
        self.eager = False
        self.profitable = True
        self.breaks: list = []
        self.plan = None
        self.lifted: list = []  # (path, tensor, (shape, dtype, requires_grad))
        self.scalars: list = []  # (step, value)
        self.out_tree = None
        self.values = None
        self.compile_time = 0.0
        self.key = None
        self.trace_ops: list = []
        self.resume = None  # a ``resume.Resumable`` where the breaks only read values
        self.dynamic = False  # one plan for any size of the inputs' first dimension
        self.lifted_slots: list = []  # (slot, tensor) of the lifted tensors

    def check(self, roots, fn) -> bool:
        for path, tensor, meta in self.lifted:
            try:
                now = _sources.resolve(roots, path)
            except (AttributeError, KeyError, IndexError, TypeError, ValueError):
                return False
            if now is not tensor:
                return False
            data = now._data
            if (data.shape, data.dtype, now.requires_grad) != meta:
                return False
        for step, value in self.scalars:
            now = _sources.scalar_now(fn, step)
            if now.__class__ is not value.__class__ or now != value:
                return False
        return True

    def prepare(self) -> None:
        """Precompute what each replay needs (masks, positions), once per entry."""
        plan = self.plan
        values = self.values
        self.lifted_tensors = [t for _, t, _ in self.lifted]
        self.grad_mask = [values[s].requires_grad for s in plan.region_inputs]
        self.meta = tuple(
            [
                (values[s].shape, values[s].dtype) if values[s].requires_grad else None
                for s in plan.region_inputs
            ]
        )
        positions = {s: k for k, s in enumerate(plan.region_inputs)}
        self.saved_positions = [positions[s] for s in plan.saved_inputs]
        self.single = self.out_tree.__class__ is Slot
        self.node_class = _node_class(len(plan.out_slots))
        self.out_grad = plan.out_grad
        self.replay = None
        if self.single and plan.backward is not None and plan.out_grad[0] and not self.dynamic:
            self.replay = _replay_function(self)

    def run(self, inputs):
        plan = self.plan
        region = inputs + self.lifted_tensors if self.lifted_tensors else inputs
        if self.replay is not None:
            return self.replay(*region)
        outs, saved = plan.forward(*[t._data for t in region])
        node = None
        if plan.backward is not None and _grad_mode.state.record:
            node = self.node_class()
            node._seq = _SEQ[0]()
            edges = []
            for t, g in zip(region, self.grad_mask, strict=False):
                if not g:
                    edges.append(_NO_EDGE)
                elif t._extra is None and t._grad_fn is None and t._accum is not None:
                    edges.append(t._accum)  # a leaf's edge, as Tensor._edge gives it
                else:
                    edges.append(t._edge())
            node.next_functions = tuple(edges)
            node._meta = self.meta  # (shapes and dtypes are guarded: the same each call)
            if self.dynamic:  # (except the first dimension of the inputs)
                node._meta = tuple(
                    [
                        (t._data.shape, t._data.dtype) if g else None
                        for t, g in zip(region, self.grad_mask, strict=True)
                    ]
                )
            node._exact = True  # the plan's gradients have their inputs' shapes and dtypes
            node._args = self
            if self.saved_positions:
                kept = [region[k] for k in self.saved_positions]
                node._saved = (saved, tuple([t._data for t in kept]))
                records = []
                for t in kept:
                    if t._vc is not None:
                        records.append(saved_record(t, None))
                if records:
                    node._vars = tuple(records)
            else:
                node._saved = (saved, ())
        out_grad = self.out_grad
        if self.single:
            array = outs[0]
            if array.__class__ is not np.ndarray:
                array = np.asarray(array)
            return _make(array, node, 0) if node is not None and out_grad[0] else _make(array)
        made = []
        for k, array in enumerate(outs):
            if array.__class__ is not np.ndarray:
                array = np.asarray(array)
            made.append(_make(array, node, k) if node is not None and out_grad[k] else _make(array))
        it = iter(made)

        def rebuild(leaf):
            if leaf.__class__ is Slot:
                return next(it)
            if leaf.__class__ is _Input:
                return region[leaf.position]
            return leaf

        from glassgrad._compile.trace import tree_map

        return tree_map(rebuild, self.out_tree)


_NO_EDGE = (None, 0)
_SEQ: list = [None]  # the node-numbering function (anomaly mode and saved hooks swap it)
_use_counter(lambda counter: _SEQ.__setitem__(0, counter))


def _replay_function(entry):
    """A replay written out for this entry (one output that requires grad): the node's edges,
    saved inputs and version records unrolled, no loops or lists (the seed graph's W1 spends
    most of a compiled call here)."""
    n = len(entry.grad_mask)
    params = ", ".join(f"t{k}" for k in range(n))
    edges = []
    for k, grad in enumerate(entry.grad_mask):
        if grad:
            edges.append(
                f"(t{k}._accum if t{k}._accum is not None and t{k}._grad_fn is None "
                f"and t{k}._extra is None else t{k}._edge())"
            )
        else:
            edges.append("_NO")
    kept = entry.saved_positions
    lines = [
        f"def replay({params}):",
        f"    outs, saved = _fwd({''.join(f't{k}._data, ' for k in range(n))})",
        "    out = outs[0]",
        "    if out.__class__ is not _nd:",
        "        out = _asarray(out)",
        "    if not _state.record:",
        "        return _make(out)",
        "    node = _cls()",
        "    node._seq = _SEQ[0]()",
        f"    node.next_functions = ({''.join(e + ', ' for e in edges)})",
        "    node._meta = _meta",
        "    node._args = _entry",
        "    node._exact = True",
        f"    node._saved = (saved, ({''.join(f't{k}._data, ' for k in kept)}))",
    ]
    if kept:
        lines.append(f"    node._vars = ({''.join(f'_rec(t{k}, None), ' for k in kept)})")
    lines.append("    return _make(out, node, 0)")
    namespace = {
        "__name__": "glassgrad._compile.generated",
        "_fwd": entry.plan.forward,
        "_nd": np.ndarray,
        "_asarray": np.asarray,
        "_state": _grad_mode.state,
        "_make": _make,
        "_cls": entry.node_class,
        "_SEQ": _SEQ,
        "_NO": _NO_EDGE,
        "_meta": entry.meta,
        "_entry": entry,
        "_rec": saved_record,
    }
    exec(compile("\n".join(lines) + "\n", "<glassgrad.compile replay>", "exec"), namespace)
    return namespace["replay"]


class _Input:
    """In an entry's output tree: the output is this region input itself (returned as is)."""

    __slots__ = ("position",)

    def __init__(self, position: int) -> None:
        self.position = position


class CompiledFunction:
    """What ``glassgrad.compile(fn)`` returns for a function (and uses for a module)."""

    def __init__(self, fn, fullgraph=False, module=None, name=None, dynamic=None) -> None:
        self.fn = fn
        self.fullgraph = fullgraph
        self.module = module
        self.roots = (fn,) if module is None else (fn, module)
        self.cache: dict = {}
        self.entries: list[Entry] = []
        self.warned = False
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        self.last_reason = None
        self._last = None  # (entry, argument metadata, grad mode, inference mode)
        # dynamic=True: dynamic from the first trace; None: from the first trace after a
        # change of first-dimension sizes (PyTorch's automatic dynamic); False: never
        self.dynamic = dynamic if module is None else False
        self.dynamic_cache: dict = {}  # dynamic key -> entry
        self.simple_keys: set = set()  # the dynamic keys of the entries traced so far

    def _training(self):
        if self.module is None:
            return ()
        return tuple(m.training for m in self.module.modules())

    def __call__(self, *args, **kwargs):
        if _ACTIVE[0] is not None:  # inside a trace (its ops are recorded there) or another
            # thread's: run eagerly
            return self.fn(*args, **kwargs)
        state = _grad_mode.state
        last = self._last
        if last is not None and not kwargs:  # the guards of the entry used last, checked inline
            entry, metas, record, inference = last
            if state.record is record and state.inference is inference and len(args) == len(metas):
                for a, meta in zip(args, metas):  # noqa: B905 - lengths checked above
                    if a.__class__ is not Tensor or a._extra is not None:
                        break
                    data = a._data
                    if (
                        data.dtype is not meta[1]
                        or a._requires_grad is not meta[2]
                        or data.shape != meta[0]
                    ):
                        break
                else:
                    if not (entry.lifted or entry.scalars) or entry.check(self.roots, self.fn):
                        return entry.run(list(args))
        inputs = None
        simple = False
        if not kwargs:
            parts = [state.record, state.inference]
            for a in args:
                if a.__class__ is not Tensor:
                    break
                data = a._data
                parts.append((data.shape, data.dtype, a._requires_grad or a.requires_grad))
            else:
                inputs = list(args)
                key = tuple(parts)
                simple = self.module is None
        if inputs is None:
            tree = (args, kwargs)
            key = _key(tree, state)
            inputs = _tensors(tree)
        elif self.dynamic_cache and simple and key not in self.cache:
            entry = self.dynamic_cache.get(_dynamic_key(key))
            if entry is not None and (
                not (entry.lifted or entry.scalars) or entry.check(self.roots, self.fn)
            ):
                return entry.run(inputs)
        if self.module is not None:
            key = (key, self._training())
        for entry in self.cache.get(key, ()):
            if (entry.lifted or entry.scalars) and not entry.check(self.roots, self.fn):
                continue
            if entry.resume is not None:
                return entry.resume.run(self.fn, args, kwargs, inputs, entry.lifted_slots)
            if entry.eager or not entry.profitable:
                return self.fn(*args, **kwargs)
            if simple:
                self._last = (entry, key[2:], key[0], key[1])
            return entry.run(inputs)
        from glassgrad import _dynamo

        limit = _dynamo.config.recompile_limit
        if len(self.entries) >= limit:
            if not self.warned:
                self.warned = True
                self.last_reason = self._reason(key)
                code = getattr(self.fn, "__code__", None)
                where = f"{code.co_filename}:{code.co_firstlineno}" if code else "?"
                log.warning(
                    "torch._dynamo hit config.recompile_limit (%d)\n"
                    "   function: %r (%s)\n"
                    "   last reason: %s\n"
                    'To log all recompilation reasons, use TORCH_LOGS="recompiles".\n'
                    "To diagnose recompilation issues, see https://docs.pytorch.org/docs/main/"
                    "user_guide/torch_compiler/compile/programming_model.recompilation.html",
                    limit,
                    self.name,
                    where,
                    self.last_reason or "guard failure",
                )
            return self.fn(*args, **kwargs)
        dynamic = False
        if simple and self.dynamic is not False:
            dynamic_key = _dynamic_key(key)
            dynamic = self.dynamic is True or dynamic_key in self.simple_keys
            self.simple_keys.add(dynamic_key)
        entry, result = self._trace(args, kwargs, dynamic)
        entry.key = key
        if entry.dynamic:
            self.dynamic_cache[_dynamic_key(key)] = entry
        self.entries.append(entry)
        self.cache.setdefault(key, []).append(entry)
        return result

    def _reason(self, key) -> str:
        """Why ``key`` missed the newest entry, in the words of PyTorch's guard failures."""
        number = len(self.entries) - 1
        head = f"0/{number}: "
        old = self.entries[-1].key
        if self.module is not None:
            key, old = key[0], old[0]
        if key[:2] != old[:2]:
            return head + "___check_global_state() (grad mode changed)"
        try:
            import inspect

            names = list(inspect.signature(self.fn).parameters)
        except (TypeError, ValueError):
            names = []
        for index, (new, was) in enumerate(zip(key[2:], old[2:], strict=False)):
            if new == was or not (isinstance(new, tuple) and len(new) == 3):
                continue
            if not (isinstance(was, tuple) and len(was) == 3):
                continue
            name = names[index] if index < len(names) else f"args[{index}]"
            (shape, dtype, _), (shape0, dtype0, grad0) = new, was
            if dtype != dtype0:
                from glassgrad.dtypes import from_numpy_dtype

                def legacy(d):
                    return from_numpy_dtype(d)._legacy.removesuffix("Tensor")

                return (
                    f"{head}tensor '{name}' dtype mismatch. expected {legacy(dtype0)}, "
                    f"actual {legacy(dtype)}"
                )
            if len(shape) != len(shape0):
                return (
                    f"{head}tensor '{name}' rank mismatch. expected {len(shape0)}, "
                    f"actual {len(shape)}"
                )
            if shape != shape0:
                at = next(i for i, (a, b) in enumerate(zip(shape, shape0, strict=True)) if a != b)
                return (
                    f"{head}tensor '{name}' size mismatch at index {at}. expected "
                    f"{shape0[at]}, actual {shape[at]}"
                )
            return (
                f"{head}tensor '{name}' requires_grad mismatch. expected requires_grad={int(grad0)}"
            )
        return head + "a guard failed (an argument, a closure value or a lifted tensor changed)"

    def _trace(self, args, kwargs, dynamic=False):
        start = time.perf_counter()
        entry = Entry()
        tracer = Tracer(self.fullgraph, self.roots)
        tree = (args, kwargs)
        inputs = _tensors(tree)
        for position, t in enumerate(inputs):
            if id(t) in tracer.ids:  # the same tensor passed twice: trace it as one input
                entry.eager = True
                entry.breaks.append(("the same tensor is passed twice", None))
            tracer.add(t, "input", position)
        input_slots = list(range(len(inputs)))
        try:
            with patched(tracer):
                result = self.fn(*args, **kwargs)
        except Break as stop:
            reason, frame = stop.args
            raise Unsupported(_unsupported_text(reason, frame)) from None
        tracer.check_unchanged()
        entry.breaks.extend(tracer.breaks)
        entry.trace_ops = tracer.ops
        if not entry.breaks:
            self._finish(entry, tracer, inputs, input_slots, result, dynamic)
        elif not self.fullgraph and len(entry.breaks) == len(tracer.breaks):
            if all(resumable for _, resumable in tracer.stops):
                self._resumable(entry, tracer)
        if entry.breaks:
            entry.eager = True
            if self.fullgraph:
                reason, frame = entry.breaks[0]
                raise Unsupported(_unsupported_text(reason, frame))
        entry.compile_time = time.perf_counter() - start
        _STATS["compiles"] += 1
        return entry, result

    def _finish(self, entry, tracer, inputs, input_slots, result, dynamic=False) -> None:
        values = tracer.values
        lifted_slots = [i for i, v in enumerate(values) if v.kind == "lifted"]
        region_index = {s: k for k, s in enumerate(input_slots + lifted_slots)}
        input_arrays = [t._data for t in inputs] + [tracer.keep[s][0]._data for s in lifted_slots]

        def out_leaf(leaf):
            if isinstance(leaf, Tensor):
                slot = tracer.ids.get(id(leaf))
                if slot is None:
                    entry.breaks.append(("an output made by code the tracer cannot follow", None))
                    return None
                if values[slot].kind != "op":
                    return _Input(region_index[slot])
                if any(shares_memory(leaf._data, a) for a in input_arrays):
                    entry.breaks.append(("an output is a view of an input", None))
                return Slot(slot)
            return leaf

        from glassgrad._compile.trace import tree_map

        out_tree = tree_map(out_leaf, result)
        if entry.breaks:
            return
        for s in lifted_slots:
            t = tracer.keep[s][0]
            data = t._data
            entry.lifted.append((values[s].source, t, (data.shape, data.dtype, t.requires_grad)))
        entry.scalars = _sources.scalar_guards(self.fn)
        entry.out_tree = out_tree
        entry.values = values
        entry.plan = _plan.build(tracer, input_slots, lifted_slots, out_tree)
        if dynamic and _dynamic_ok(tracer, inputs, lifted_slots, out_tree):
            entry.plan = _plan.build(tracer, input_slots, lifted_slots, out_tree, dynamic=True)
            entry.dynamic = True
        entry.prepare()
        # A plan made mostly of opaque ops that need their own backward calls the same ops as
        # eager with more bookkeeping (W2's MLP: 1.1x eager): eager is then both exact and
        # faster (the tests replay such plans anyway: REPLAY_OPAQUE)
        plan = entry.plan
        entry.profitable = plan.lowered_count > plan.opaque_grad_count or REPLAY_OPAQUE[0]

    def _resumable(self, entry, tracer) -> None:
        """Split the trace at its breaks into compiled segments (see ``resume``), where that
        is worth it (as for one region: more written-out ops than opaque ones)."""
        from glassgrad._compile import resume

        values = tracer.values
        if any(v.kind == "lifted" and v.source is None for v in values):
            return
        split = resume.Resumable(tracer, _segment_entry)
        if not split.worth_it() and not REPLAY_OPAQUE[0]:
            return
        for s, v in enumerate(values):
            if v.kind != "lifted":
                continue
            t = tracer.keep[s][0]
            entry.lifted_slots.append((s, t))
            data = t._data
            entry.lifted.append((values[s].source, t, (data.shape, data.dtype, t.requires_grad)))
        entry.scalars = _sources.scalar_guards(self.fn)
        entry.resume = split


def _dynamic_key(key):
    """``key`` (grad modes, then (shape, dtype, requires_grad) per tensor argument) with each
    first dimension of 2 or more replaced by the first argument position having that size: a
    key for every size of those dimensions that keeps which of them are equal (sizes 0 and 1
    stay as they are, as PyTorch specializes them, since broadcasting treats them apart)."""
    parts = list(key[:2])
    first: dict = {}
    for shape, dtype, grad in key[2:]:
        if shape and shape[0] >= 2:
            shape = (("dim", first.setdefault(shape[0], len(parts))), *shape[1:])
        parts.append((shape, dtype, grad))
    return tuple(parts)


def _dynamic_ok(tracer, inputs, lifted_slots, out_tree) -> bool:
    """Whether the trace's plan holds for any size of its inputs' first dimensions: the Python
    code read no shape (``x.shape``, ``size()``, ``len(x)``...: a size it could have computed
    with), every op is one of ``lowering.DYNAMIC`` (their sizes come from their arrays), and
    no first dimension of 2 or more met another dimension by coincidence (the trace cannot
    tell a batch size of 5 from a feature size of 5)."""
    from glassgrad._compile import lowering

    if tracer.shape_reads or not all(isinstance(leaf, Slot) for leaf in flatten(out_tree)):
        return False
    for op in tracer.ops:
        low = lowering.lower(op, tracer.values)
        if low is None or low[0] not in lowering.DYNAMIC:
            return False
    batch = {t._data.shape[0] for t in inputs if t._data.ndim and t._data.shape[0] >= 2}
    if not batch:
        return False
    other = {n for t in inputs for n in t._data.shape[1:]}
    other.update(n for s in lifted_slots for n in tracer.values[s].shape)
    return not batch & other


def _segment_entry(plan, out_tree, values):
    """An ``Entry`` for one segment of a resumed function."""
    entry = Entry()
    entry.plan = plan
    entry.out_tree = out_tree
    entry.values = values
    entry.prepare()
    return entry


def _unsupported_text(reason, frame) -> str:
    if frame is None:
        return reason
    filename, lineno, function, text = frame
    return (
        f'{reason}\n\nfrom user code:\n   File "{filename}", line {lineno}, in {function}\n'
        f"    {text.strip()}\n"
    )
