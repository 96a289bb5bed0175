"""What the profiler records: the time spent in each op of the op table (``aten::<name>``), in
each backward rule (``autograd::engine::evaluate_function: <Node>``) and in each
``record_function`` region, nested as they ran.

Ops are timed by a profile hook (``sys.setprofile``) that reacts to the code of the op functions
only; it is installed while a ``profile`` records and costs time of its own, so times are a
little above those of a run without the profiler.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from glassgrad.profiler._events import FunctionEvent

_active: list = []  # the recording sessions (a list of events each), innermost last
_local = threading.local()
_codes: dict = {}  # code object -> event name (ops), or None (backward rules: name from ctx)


def _unique_codes() -> dict:
    """The code object each op (and backward rule) runs first, where no other op shares it."""
    from glassgrad.autograd.node import _CLASSES
    from glassgrad.ops.registry import OPS

    seen: dict = {}
    for name, info in OPS.items():
        chain, fn = [], info.fn
        while fn is not None and len(chain) < 8:
            code = getattr(fn, "__code__", None)
            if code is not None:
                chain.append(code)
            fn = getattr(fn, "__wrapped__", None)
        for code in chain:
            seen.setdefault(code, set()).add("aten::" + name)
    codes = {}
    for name, info in OPS.items():
        fn = info.fn
        while fn is not None:
            code = getattr(fn, "__code__", None)
            if code is not None and len(seen[code]) == 1:
                codes[code] = "aten::" + name
                break
            fn = getattr(fn, "__wrapped__", None)
    rules: dict = {}
    for cls in _CLASSES.values():
        code = getattr(cls.__dict__.get("_backward"), "__code__", None)
        if code is not None and code not in codes:
            rules.setdefault(code, set()).add(cls.__name__)
    prefix = "autograd::engine::evaluate_function: "
    for code, names in rules.items():  # a rule shared by several nodes: named by its ctx
        codes[code] = prefix + names.pop() if len(names) == 1 else None
    return codes


def _stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _now_us() -> float:
    return time.perf_counter_ns() / 1000.0


def _shapes(frame, count) -> list:
    from glassgrad.tensor import Tensor

    names = frame.f_code.co_varnames[:count]
    values = [frame.f_locals.get(name) for name in names]
    return [list(v.shape) if isinstance(v, Tensor) else [] for v in values]


def _hook(frame, event, arg):
    if not _active:  # a thread started while recording, still hooked: unhook it
        sys.setprofile(None)
        return
    if event == "call":
        code = frame.f_code
        if code in _codes:
            name = _codes[code]
            if name is None:  # a rule several nodes share: named by its node's class
                ctx = frame.f_locals.get(code.co_varnames[0]) if code.co_argcount else None
                if ctx is None:
                    return
                name = "autograd::engine::evaluate_function: " + type(ctx).__name__
            _open(name, frame, _shapes(frame, min(code.co_argcount, 4)))
    elif event == "return":
        stack = getattr(_local, "stack", None)
        if stack and stack[-1][1] is frame:
            _close()


def _open(name, frame, shapes) -> None:
    event = FunctionEvent(name, threading.get_ident(), _now_us(), shapes)
    stack = _stack()
    if stack:
        stack[-1][0].cpu_children.append(event)
        event.cpu_parent = stack[-1][0]
    stack.append((event, frame))
    for session in _active:
        session.append(event)


def _close() -> None:
    event, _ = _stack().pop()
    event.end_us = _now_us()


def start(events: list, with_ops: bool = True) -> None:
    """Begin recording into ``events``."""
    if not _codes:
        _codes.update(_unique_codes())
    _active.append(events)
    if len(_active) == 1:
        _local.stack = []  # (nothing left open by an earlier session)
    if with_ops and len(_active) == 1:
        sys.setprofile(_hook)
        threading.setprofile(_hook)


def stop(events: list) -> None:
    """Stop recording into ``events``."""
    if events in _active:
        _active.remove(events)
    if not _active:
        sys.setprofile(None)
        threading.setprofile(None)


class record_function:  # noqa: N801 - PyTorch's name
    """Time the code inside as one named region (a context manager or a decorator)."""

    def __init__(self, name: str, args=None) -> None:
        self.name = name
        self.args = args
        self._marker = object()

    def __enter__(self):
        if _active:
            _open(self.name, self._marker, [])
            _stack()[-1][0].is_user_annotation = True
        return self

    def __exit__(self, *exc) -> None:
        stack = getattr(_local, "stack", None)
        if stack and stack[-1][1] is self._marker:
            _close()
        return None

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return timed


def pid() -> int:
    return os.getpid()
