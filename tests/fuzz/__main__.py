"""The long profile: ``python -m fuzz`` from ``tests/`` (``make fuzz``; ``FUZZ_N`` programs).

Runs randomised programs, groups the mismatches into classes (variant and property), and prints
each class with its count and one reduced, runnable reproducer. Exits 1 when a class is neither a
deliberate departure nor pending elsewhere.
"""

from __future__ import annotations

import collections
import os
import sys
import time

from hypothesis import HealthCheck, given, settings

from .compare import compare, excused, reduce
from .program import programs


def main() -> int:
    count = int(os.environ.get("FUZZ_N", "2000"))
    classes = collections.Counter()
    examples = {}
    clean = [0]

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(programs())
    def collect(program):
        mismatch = compare(program)
        if mismatch is None:
            clean[0] += 1
            return
        classes[mismatch.cls] += 1
        examples.setdefault(mismatch.cls, (mismatch, program))

    start = time.perf_counter()
    collect()
    took = time.perf_counter() - start
    print(f"{count} programs in {took:.0f} s: {clean[0]} agree, {count - clean[0]} differ")
    failed = 0
    for cls, seen in classes.most_common():
        mismatch, program = examples[cls]
        reason = excused(mismatch)
        failed += reason is None
        print(f"\n=== {seen:5d}  {cls}" + (f"   [excused: {reason}]" if reason else ""))
        if reason and "-v" not in sys.argv:
            continue
        small = reduce(program, mismatch)
        found = compare(small) or mismatch
        print(f"    at {found.where}: {found.detail[:600]}")
        print("    " + small.source().replace("\n", "\n    "))
    print(f"\n{len(classes)} classes, {failed} not excused")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
