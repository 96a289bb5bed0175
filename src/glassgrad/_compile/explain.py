"""``torch._dynamo.explain``: what a compile of ``fn`` captures, and where its graph breaks."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field


@dataclass
class GraphCompileReason:
    """Why a graph ended (PyTorch's record): the reason and the user's stack."""

    reason: str
    user_stack: list
    graph_break: bool = True


@dataclass
class ExplainOutput:
    """What ``explain(fn)(*args)`` returns, with PyTorch's fields."""

    graphs: list = field(default_factory=list)
    graph_count: int = 0
    graph_break_count: int = 0
    break_reasons: list = field(default_factory=list)
    op_count: int = 0
    ops_per_graph: list | None = None
    out_guards: list | None = None
    compile_times: str | None = None

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}"]
        lines.append(f"Graph Break Count: {self.graph_break_count}")
        lines.append(f"Op Count: {self.op_count}")
        lines.append("Break Reasons:")
        for index, reason in enumerate(self.break_reasons, 1):
            lines.append(f"  Break Reason {index}:")
            lines.append(f"    Reason: {reason.reason}")
            lines.append("    User Stack:")
            for frame in reason.user_stack:
                lines.append(f"      {frame!r}")
        if self.ops_per_graph is not None:
            lines.append("Ops per Graph:")
            for index, ops in enumerate(self.ops_per_graph, 1):
                lines.append(f"  Ops {index}:")
                lines.extend(f"    {op}" for op in ops)
        if self.compile_times is not None:
            lines.append(f"Compile Times: {self.compile_times}")
        return "\n".join(lines) + "\n"


def explain(fn, *extra_args, **extra_kwargs):
    """``explain(fn)(*args, **kwargs)`` traces ``fn`` on those arguments (running it once)
    and reports the graph and its breaks; ``explain(fn, *args)`` is the older form."""

    def inner(*args, **kwargs):
        from glassgrad._compile.runtime import CompiledFunction

        compiled = CompiledFunction(fn)
        compiled(*args, **kwargs)
        entry = compiled.entries[0]
        reasons = []
        for reason, frame in entry.breaks:
            stack = []
            if frame is not None:
                filename, lineno, name, line = frame
                stack.append(traceback.FrameSummary(filename, lineno, name, line=line))
            reasons.append(GraphCompileReason(reason, stack))
        ops = [op.name for op in entry.trace_ops]
        breaks = len(entry.breaks)
        return ExplainOutput(
            graphs=[entry.plan] if entry.plan is not None else [],
            graph_count=(breaks + 1) if ops else 0,
            graph_break_count=breaks,
            break_reasons=reasons,
            op_count=len(ops),
            ops_per_graph=[ops],
            out_guards=[],
            compile_times=f"{entry.compile_time:.6f}",
        )

    if extra_args or extra_kwargs:
        return inner(*extra_args, **extra_kwargs)
    return inner
