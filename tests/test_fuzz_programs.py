"""The differential fuzzer's fast profile: random branching programs (``tests/fuzz``) agree on
PyTorch 2.13 and glassgrad, except for the listed departures.

Derandomised, so CI sees the same programs every run; ``make fuzz`` is the long, randomised run.
A failure prints the reduced program as a runnable script.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis.control import current_build_context

from fuzz.compare import compare, excused, reduce
from fuzz.program import programs

FAST = settings(
    max_examples=80,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _final_run() -> bool:
    try:
        return current_build_context().is_final
    except Exception:  # noqa: BLE001 - no build context: report in full
        return True


@FAST
@given(programs())
def test_random_programs_agree(program):
    """Values, dtypes, shapes, flags, grad_fn names, gradients, hooks and errors agree."""
    mismatch = compare(program)
    if mismatch is None or excused(mismatch):
        return
    if _final_run():  # reduce once, for the report, not while hypothesis shrinks
        program = reduce(program, mismatch)
        mismatch = compare(program) or mismatch
    shown = int(mismatch.where.split()[1]) - 1 if mismatch.where.startswith("line") else None
    raise AssertionError(
        f"{mismatch.cls} at {mismatch.where}: {mismatch.detail[:800]}\n\n"
        + program.source(show=shown)
    )


def test_reproducer_runs_as_written():
    """A printed reproducer runs as a script on both libraries, PyTorch's refusals included."""
    from hypothesis import find

    program = find(
        programs(),
        lambda p: compare(p) is None and any(line.raises for line in p.lines),
        settings=settings(database=None, derandomize=True, max_examples=500, deadline=None),
    )
    source = program.source()
    for header in ("import torch", "import glassgrad as torch"):
        namespace = {}
        exec(compile(source.replace("import torch", header), "<reproducer>", "exec"), namespace)
        assert namespace["torch"].__name__ == header.split()[1]
