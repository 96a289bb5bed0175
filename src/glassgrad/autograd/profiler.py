"""``torch.autograd.profiler``: the profiler's older interface (``profile(enabled=...)``,
``record_function``, ``EventList``), on the same recorder as ``glassgrad.profiler``."""

from __future__ import annotations

from glassgrad.profiler import (
    EventList,
    FunctionEvent,
    FunctionEventAvg,
    ProfilerActivity,
    _recorder,
    kineto_available,
    record_function,
)

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "ProfilerActivity",
    "emit_itt",
    "emit_nvtx",
    "kineto_available",
    "profile",
    "record_function",
]


class profile:  # noqa: N801 - PyTorch's name
    """Record per-op CPU times while open; ``function_events``, ``key_averages()``, ``table()``
    afterwards (``enabled=False``: records nothing)."""

    def __init__(
        self,
        enabled=True,
        *,
        use_cuda=False,
        use_device=None,
        record_shapes=False,
        with_flops=False,
        profile_memory=False,
        with_stack=False,
        with_modules=False,
        use_kineto=False,
        use_cpu=True,
        experimental_config=None,
        acc_events=False,
        custom_trace_id_callback=None,
    ) -> None:
        self.enabled = enabled
        self.record_shapes = record_shapes
        self._events: list = []
        self.function_events = None
        self.entered = False

    def __enter__(self):
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        _recorder.start(self._events)
        return self

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        _recorder.stop(self._events)
        self.function_events = EventList(self._events)

    def _check(self) -> EventList:
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.function_events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0) -> EventList:
        """One averaged row per op name (and input shapes)."""
        return self._check().key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by=None, row_limit=100, **kwargs) -> str:
        """The recorded events as PyTorch's profiler prints them."""
        return self._check().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def export_chrome_trace(self, path) -> None:
        """The recorded events as a Chrome trace."""
        self._check().export_chrome_trace(path)

    @property
    def self_cpu_time_total(self) -> float:
        """Microseconds spent in the recorded events themselves, all together."""
        return self._check().self_cpu_time_total

    def __str__(self) -> str:
        return self.table()


class emit_itt:  # noqa: N801 - PyTorch's name
    """Marks for Intel's VTune: nothing to mark without it (as PyTorch's CPU build without
    ITT runs)."""

    def __init__(self, enabled=True, record_shapes=False) -> None:
        self.enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


class emit_nvtx:  # noqa: N801 - PyTorch's name
    """Marks for NVIDIA's profiler: PyTorch's CPU build refuses them unless disabled."""

    def __init__(self, enabled=True, record_shapes=False) -> None:
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            raise AssertionError("Torch not compiled with CUDA enabled")
        return self

    def __exit__(self, *exc) -> None:
        return None
