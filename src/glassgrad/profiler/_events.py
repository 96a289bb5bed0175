"""Profiler events and their summaries, as PyTorch's ``profiler_util`` prints them."""

from __future__ import annotations


def _format_time(time_us) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_share(time_us, total_us) -> str:
    return "NaN" if total_us == 0 else f"{time_us * 100.0 / total_us:.2f}%"


class FunctionEvent:
    """One timed call: an op, a backward rule or a ``record_function`` region."""

    def __init__(self, name, thread, start_us, input_shapes) -> None:
        self.name = self.key = name
        self.thread = thread
        self.start_us = start_us
        self.end_us = start_us
        self.input_shapes = input_shapes
        self.cpu_children: list = []
        self.cpu_parent = None
        self.is_user_annotation = False
        self.count = 1

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    cpu_time = cpu_time_total

    def __repr__(self) -> str:
        return (
            f"<FunctionEvent name={self.name} cpu_time={_format_time(self.cpu_time_total)} "
            f"input_shapes={self.input_shapes}>"
        )


class FunctionEventAvg:
    """The events of one name (and input shapes, if grouped so) taken together."""

    def __init__(self, key, input_shapes=None) -> None:
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.is_user_annotation = False
        self.cpu_parent = None

    def add(self, event) -> FunctionEventAvg:
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        self.is_user_annotation = event.is_user_annotation
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self) -> str:
        total = _format_time(self.self_cpu_time_total)
        return (
            f"<FunctionEventAvg key={self.key} self_cpu_time={total} "
            f"cpu_time={_format_time(self.cpu_time)} input_shapes={self.input_shapes}>"
        )


class EventList(list):
    """A list of events, with PyTorch's summaries (``key_averages``, ``table``)."""

    def __init__(self, *args, group_by_input_shape=False) -> None:
        super().__init__(*args)
        self._by_shape = group_by_input_shape

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0) -> EventList:
        """One averaged row per event name (and input shapes)."""
        groups: dict = {}
        for event in self:
            shapes = str(event.input_shapes) if group_by_input_shape else None
            key = (event.key, shapes)
            if key not in groups:
                groups[key] = FunctionEventAvg(event.key, event.input_shapes)
            groups[key].add(event)
        return EventList(groups.values(), group_by_input_shape=group_by_input_shape)

    def table(
        self,
        sort_by=None,
        row_limit=100,
        max_src_column_width=75,
        max_name_column_width=55,
        max_shapes_column_width=80,
        header=None,
        top_level_events_only=False,
        time_unit=None,
    ) -> str:
        """The events as PyTorch's profiler prints them."""
        events = list(self)
        if sort_by is not None:
            events.sort(key=lambda e: getattr(e, sort_by.replace("cuda", "cpu")), reverse=True)
        return _table(
            events, row_limit, max_name_column_width, max_shapes_column_width, header,
            top_level_events_only, self._by_shape,
        )  # fmt: skip

    def export_chrome_trace(self, path) -> None:
        """The events as a Chrome trace (``chrome://tracing``, Perfetto)."""
        import json
        import os

        trace = [
            {
                "ph": "X",
                "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                "name": e.name,
                "pid": os.getpid(),
                "tid": e.thread,
                "ts": e.start_us,
                "dur": e.cpu_time_total,
                "args": {"Input Dims": e.input_shapes},
            }
            for e in self
            if isinstance(e, FunctionEvent)
        ]
        with open(path, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)


def _table(events, row_limit, name_width, shapes_width, header, top_level_only, by_shape):
    if not events:
        return ""
    name_column = min(max(len(e.key) for e in events) + 4, name_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    headers.append("# of Calls")
    widths = [name_column] + [12] * (len(headers) - 1)
    if by_shape:
        headers.append("Input Shapes")
        widths.append(min(max(len(str(e.input_shapes)) for e in events) + 4, shapes_width))
    row_format = "".join("{: >" + str(w) + "}  " for w in widths)
    separator = "".join("-" * w + "  " for w in widths)
    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * (sum(widths) + 2 * len(widths) - 2), header]
    lines += [separator, row_format.format(*headers), separator]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key if len(e.key) < name_width - 3 else e.key[: name_width - 3] + "..."
        row = [
            name,
            _format_share(e.self_cpu_time_total, total),
            _format_time(e.self_cpu_time_total),
            _format_share(e.cpu_time_total, total),
            _format_time(e.cpu_time_total),
            _format_time(e.cpu_time_total / max(e.count, 1)),
            e.count,
        ]
        if by_shape:
            row.append(str(e.input_shapes)[:shapes_width])
        lines.append(row_format.format(*row))
    lines += [separator, f"Self CPU time total: {_format_time(total)}", ""]
    return "\n".join(lines)
