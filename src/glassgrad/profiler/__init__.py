"""``torch.profiler``: time what a program spends in each op, backward rule and named region.

``profile`` records while its context is open (or between ``start`` and ``stop``), following a
``schedule`` of steps if given; ``key_averages().table()`` prints per-op times as PyTorch's
profiler does, and ``tensorboard_trace_handler`` writes Chrome traces. PyTorch's CPU build has
only the CPU activity; asking for CUDA gives its warning and records CPU.
"""

from __future__ import annotations

import enum
import os
import socket
import time
import warnings

from glassgrad.profiler import _recorder
from glassgrad.profiler._events import EventList, FunctionEvent, FunctionEventAvg
from glassgrad.profiler._recorder import record_function

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "ProfilerAction",
    "ProfilerActivity",
    "kineto_available",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    """What a profiler can record: here the CPU only."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What the profiler does at a step, as a ``schedule`` says."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """The activities this build can record."""
    return {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """Whether PyTorch's Kineto tracer is here: no (events are recorded in Python)."""
    return False


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """``step -> ProfilerAction``: skip ``skip_first`` steps, then cycles of ``wait`` idle,
    ``warmup`` and ``active`` recorded steps (the last of which saves), ``repeat`` times (0: no
    end)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0)."
        )
    if warmup == 0:
        warnings.warn(
            "Profiler won't be using warmup, this can skew profiler results", stacklevel=2
        )

    def action(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:  # the first cycle's wait skipped: start it already waited
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        mod = step % cycle
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


def _always_record(_step) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` that writes ``<worker>.<time>.pt.trace.json`` into ``dir_name``
    (for TensorBoard's profiler plugin, or Chrome's trace viewer)."""

    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler


class profile:  # noqa: N801 - PyTorch's name
    """Record per-op CPU times while open (``with profile(...) as prof:``), by ``schedule``
    over ``prof.step()`` calls if one is given, calling ``on_trace_ready(prof)`` after each
    recorded cycle."""

    def __init__(
        self,
        *,
        activities=None,
        schedule=None,
        on_trace_ready=None,
        record_shapes=False,
        profile_memory=False,
        with_stack=False,
        with_flops=False,
        with_modules=False,
        experimental_config=None,
        execution_trace_observer=None,
        acc_events=False,
        use_cuda=None,
        custom_trace_id_callback=None,
        post_processing_timeout_s=None,
    ) -> None:
        activities = set(activities) if activities else supported_activities()
        if ProfilerActivity.CUDA in activities or use_cuda:
            warnings.warn("CUDA is not available, disabling CUDA profiling", stacklevel=2)
        self.activities = activities & supported_activities()
        self.schedule = schedule if schedule is not None else _always_record
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._events: list = []
        self._finished: list = []
        self._recording = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Begin (by the schedule's first action)."""
        self._transit(ProfilerAction.NONE, self.current_action)

    def stop(self) -> None:
        """End: save what the current cycle recorded."""
        if self.current_action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._save()
        elif self._recording:
            self._end_recording()

    def step(self) -> None:
        """Mark the end of a training step: the schedule decides what the next one does."""
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)

    def _transit(self, previous, current) -> None:
        recording = (ProfilerAction.WARMUP, ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._save()
        if current in recording and not self._recording:
            if not self.acc_events:
                self._events = []
            self._recording = True
            _recorder.start(self._events)
        elif current == ProfilerAction.NONE and self._recording:
            self._end_recording()

    def _end_recording(self) -> None:
        _recorder.stop(self._events)
        self._recording = False

    def _save(self) -> None:
        if self._recording:
            self._end_recording()
        self._finished = list(self._events)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def events(self) -> EventList:
        """Every recorded event."""
        return EventList(self._finished, group_by_input_shape=False)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0) -> EventList:
        """One averaged row per op name (and input shapes)."""
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path) -> None:
        """The recorded events as a Chrome trace."""
        self.events().export_chrome_trace(path)
