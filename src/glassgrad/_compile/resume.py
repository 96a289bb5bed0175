"""Resuming after a graph break: the parts of a function around a break run compiled.

A break that only reads values into Python (``.item()``, ``print(t)``, ``if t:``...) splits the
trace's ops into *segments*, each planned as its own region with its own
``CompiledFunctionBackward`` node. PyTorch's dynamo splits the function's bytecode at the break;
glassgrad's tracer sees ops, not bytecode, so it resumes the other way round: a replay runs the
user's Python again, with recording wrappers on just the names the trace saw it call, and
answers each op call from the compiled segments instead of running it. The first call of a
segment runs that segment's whole plan; its later calls are handed their outputs. The break
itself (``.item()`` and the like) runs as eager code on those outputs.

Every value a segment makes is one of its outputs, so that whatever the Python code does with a
tensor it was handed (read it, pass it on, differentiate through it) sees eager's graph. Each call
is checked against the trace (same op, same tensors, same other arguments); at the first one that
differs (a branch taken the other way, a number read by ``.item()`` that changed), the rest of
that call runs eagerly on the tensors handed out so far, which is exactly eager's result.
"""

from __future__ import annotations

import math
from threading import get_ident as _get_ident

import numpy as np

from glassgrad._compile import plan as _plan
from glassgrad._compile.fusion import MIN_SIZE
from glassgrad._compile.trace import (
    _META,
    ACTIVE,
    READS,
    Slot,
    flatten,
    patch_list,
    patched,
    tree_map,
)
from glassgrad.autograd.record import saved_record
from glassgrad.tensor import Tensor, _make

_VALUES = (int, float, bool, str, complex, type(None), slice, range)


class _Segment:
    """The ops ``start:end`` of the trace as one region (an ``Entry`` from ``runtime``)."""

    __slots__ = ("start", "end", "entry", "inputs", "outs", "saved_outs")

    def __init__(self, start, end) -> None:
        self.start = start
        self.end = end
        self.entry = None
        self.inputs: list = []  # slots the segment reads from outside it
        self.outs: list = []  # slots it makes
        self.saved_outs: list = []  # positions in ``outs`` of the values its backward keeps


class _Ops:
    """What ``plan.build`` reads of a tracer: the values and a run of the ops."""

    def __init__(self, values, ops) -> None:
        self.values = values
        self.ops = ops


class Resumable:
    """A trace split at its breaks: the segments, and what a replay patches and checks."""

    def __init__(self, tracer, make_entry) -> None:
        self.values = tracer.values
        self.ops = tracer.ops
        used = tracer.used
        self.patches = [p for p in patch_list() if (p[0], p[1]) in used]
        self.segment_of: list = []  # op index -> segment
        self.segments: list = []
        cuts = sorted({0, len(tracer.ops), *(at for at, _ in tracer.stops)})
        for start, end in zip(cuts, cuts[1:], strict=False):
            if end > start:
                self.segments.append(self._segment(start, end, make_entry))
        for number, segment in enumerate(self.segments):
            self.segment_of.extend([number] * (segment.end - segment.start))
        self.lowered = sum(s.entry.plan.lowered_count for s in self.segments)
        self.opaque = sum(s.entry.plan.opaque_grad_count for s in self.segments)
        sizes = [math.prod(self.values[s].shape) for op in self.ops for s in op.out_slots()]
        self.largest = max(sizes, default=0)

    def worth_it(self) -> bool:
        """Whether replaying the segments should beat eager: more written-out ops than opaque
        ones (as for one region), and either arrays big enough for the plan's savings to show
        or several ops per segment. A replay pays about 25 us more than eager's own calls
        would for a handful of ops on small arrays (patching, checking each call, a node per
        segment): such a function runs eagerly."""
        if self.lowered <= self.opaque:
            return False
        return self.largest >= MIN_SIZE or self.lowered >= 4 * len(self.segments)

    def _segment(self, start, end, make_entry) -> _Segment:
        segment = _Segment(start, end)
        ops = self.ops[start:end]
        made = set()
        for op in ops:
            for slot in op.inputs:
                if slot not in made and slot not in segment.inputs:
                    segment.inputs.append(slot)
            made.update(op.out_slots())
        segment.outs = [s for op in ops for s in op.out_slots()]
        out_tree = tuple(Slot(s) for s in segment.outs)
        built = _plan.build(_Ops(self.values, ops), segment.inputs, [], out_tree, sparse=True)
        segment.entry = make_entry(built, out_tree, self.values)
        saved = set(built.saved_names) if built.backward is not None else set()
        segment.saved_outs = [k for k, s in enumerate(segment.outs) if f"v{s}" in saved]
        return segment

    def run(self, fn, args, kwargs, inputs, lifted):
        """One call of ``fn``: its Python runs, its ops are answered from the segments."""
        session = _Session(self, inputs, lifted)
        with patched(session, only=self.patches):
            return fn(*args, **kwargs)


class _Session:
    """The active 'tracer' of a resumed replay (the wrappers call ``call``)."""

    def __init__(self, resumable, inputs, lifted) -> None:
        self.resumable = resumable
        self.tensors: dict = {}  # slot -> tensor handed out (or given)
        self.slots: dict = {}  # id(tensor) -> slot
        for slot, tensor in enumerate(inputs):
            self._bind(slot, tensor)
        for slot, tensor in lifted:
            self._bind(slot, tensor)
        self.position = 0
        self.ran: set = set()
        self.eager = False
        self.depth = 0
        self.thread = _get_ident()
        self.used = set()  # (the wrappers record into it; unused here)

    def _bind(self, slot, tensor) -> None:
        self.tensors[slot] = tensor
        self.slots[id(tensor)] = slot

    def call(self, name, fn, args, kwargs):
        if self.eager or name in READS or name in _META or not self._matches(name, args, kwargs):
            # (reading values, metadata: as eager; any other call the trace did not make here:
            # eager from now on)
            self.eager = self.eager or not (name in READS or name in _META)
            self.depth += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth -= 1
        plan = self.resumable
        op = plan.ops[self.position]
        number = plan.segment_of[self.position]
        if number not in self.ran:
            self.ran.add(number)
            self._run(plan.segments[number])
        self.position += 1
        return tree_map(lambda s: self.tensors[s.index] if s.__class__ is Slot else s, op.outs)

    def _run(self, segment) -> None:
        made = segment.entry.run([self.tensors[s] for s in segment.inputs])
        for slot, tensor in zip(segment.outs, made, strict=True):
            self._bind(slot, tensor)
        if segment.saved_outs:
            _watch(made, segment.saved_outs)

    def _matches(self, name, args, kwargs) -> bool:
        ops = self.resumable.ops
        if self.position >= len(ops) or ops[self.position].name != name:
            return False
        op = ops[self.position]
        if not _same_args(op.args, args, self.slots):
            return False
        if (op.kwargs or kwargs) and not _same(op.kwargs, kwargs, self.slots):
            return False
        number = self.resumable.segment_of[self.position]
        if number in self.ran:
            return True
        return all(s in self.tensors for s in self.resumable.segments[number].inputs)


def _same_args(recorded, given, slots) -> bool:
    """``_same`` for a call's positional arguments, unrolled for the common flat case."""
    if len(recorded) != len(given):
        return False
    for r, g in zip(recorded, given, strict=True):
        if r.__class__ is Slot:
            # (``slots`` holds only live tensors this call handed out or was given: an id
            # found there is that tensor)
            if slots.get(id(g)) != r.index:
                return False
        elif not _same(r, g, slots):
            return False
    return True


def _same(recorded, given, slots) -> bool:
    """Whether ``given`` is the call the trace recorded: its tensors are the ones handed out at
    the recorded slots, everything else equal."""
    if recorded.__class__ is Slot:
        return isinstance(given, Tensor) and slots.get(id(given)) == recorded.index
    if isinstance(given, Tensor):
        return False
    if recorded.__class__ in (tuple, list) and given.__class__ is recorded.__class__:
        return len(recorded) == len(given) and all(
            _same(r, g, slots) for r, g in zip(recorded, given, strict=True)
        )
    if recorded.__class__ is dict and given.__class__ is dict:
        return recorded.keys() == given.keys() and all(
            _same(recorded[k], given[k], slots) for k in recorded
        )
    if recorded.__class__ is not given.__class__:
        return False
    if recorded.__class__ in _VALUES or isinstance(recorded, np.generic):
        try:
            return bool(recorded == given) or (recorded != recorded and given != given)
        except (TypeError, ValueError):
            return False
    if any(isinstance(t, Tensor) for t in flatten(given)):
        return False
    return recorded is given


def _watch(made, positions) -> None:
    """Version records for the outputs whose arrays the segment's backward keeps: Python code
    that changes one in place (an op the trace never saw) gets eager's error at backward."""
    node = next((t._grad_fn for t in made if t._grad_fn is not None), None)
    if node is None:
        return
    records = []
    for k in positions:
        counter = made[k]._vc
        if counter is not None:
            # (a stand-in sharing the output's array and version counter: the node holding the
            # output itself would make a cycle, and a weak reference dies with the output)
            stand_in = _make(made[k]._data)
            stand_in._vc = counter
            records.append(saved_record(stand_in, None))
    node._vars = (*(node._vars or ()), *records)


def active_session():
    return ACTIVE[0] if isinstance(ACTIVE[0], _Session) else None
