"""Run glassgrad's benchmarks and print microseconds per step with ratios against torch and floor.

Usage: ``python benchmarks/run.py [--only W1,W2] [--json results.json]`` (``make bench``).

Each (workload, contender) runs in its own subprocess, pinned to one thread, so that importing
torch cannot slow glassgrad's measurement and no contender gets more cores than another. Inside,
the step is warmed up while the batch size is calibrated, then timed in several repeats; the best
repeat counts, because noise only ever adds time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from workloads import CONTENDERS, WORKLOADS

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
# glibc's malloc moves its thresholds for returning memory to the system according to what the
# process happened to free before: two processes doing the same work can differ by thousands of
# page faults per step (W3: 2,000, about half its time) depending on what they imported. Every
# worker gets the same fixed thresholds, so the ratios compare the libraries, not that history.
# PyTorch uses its own allocator and is not affected either way.
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "67108864"}


def main(argv: list[str] | None = None) -> int:
    """Run the selected workloads, print the table, optionally write JSON; return exit status."""
    args = _parser().parse_args(argv)
    if args.worker:
        return _worker(*args.worker, repeat=args.repeat, min_time=args.min_time)
    keys = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [key for key in keys if key not in WORKLOADS]
    if unknown:
        print(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
        return 2
    results = {
        key: {name: _measure(key, name, args.repeat, args.min_time) for name in CONTENDERS}
        for key in keys
    }
    print(_report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(_json(results), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="glassgrad benchmarks (microseconds per step).")
    parser.add_argument("--only", help="comma-separated workloads to run, e.g. W1")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH as JSON")
    parser.add_argument("--repeat", type=int, default=7, help="timed repeats, best counts")
    parser.add_argument(
        "--min-time", type=float, default=0.1, help="seconds each timed repeat lasts at least"
    )
    # The parent re-runs this file as `--worker W1 glassgrad` in a fresh, one-thread process.
    parser.add_argument(
        "--worker", nargs=2, metavar=("WORKLOAD", "CONTENDER"), help=argparse.SUPPRESS
    )
    return parser


def _measure(key: str, contender: str, repeat: int, min_time: float) -> dict:
    """Run one (workload, contender) in its own one-thread subprocess and return its result."""
    env = {**os.environ, **THREADS, **ALLOCATOR}
    # glassgrad is measured from this checkout even where it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", key, contender]
    command += ["--repeat", str(repeat), "--min-time", str(min_time)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker exited {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def _worker(key: str, contender: str, repeat: int, min_time: float) -> int:
    """Time one (workload, contender) here and print the result as one JSON line."""
    workload = WORKLOADS[key]
    if contender not in workload.setups:
        print(json.dumps({"error": "not written for this workload"}))
        return 0
    try:
        bench = workload.setups[contender]()
    except ImportError as exc:
        print(json.dumps({"error": f"cannot import: {exc}"}))
        return 0
    number = _calibrate(bench.step, min_time)
    best = min(_time(bench.step, number) for _ in range(repeat))
    result = {"us_per_step": best / number * 1e6, "steps_per_repeat": number, "repeats": repeat}
    if hasattr(bench.step, "compile_s"):  # compiled rows: the first call's trace and plan
        result["compile_s"] = bench.step.compile_s
    grads = bench.grads()
    if any(abs(g - w) > 1e-3 * abs(w) for g, w in zip(grads, workload.expected_grads, strict=True)):
        result["error"] = f"wrong gradients {grads}, expected {workload.expected_grads}"
    print(json.dumps(result))
    return 0


def _calibrate(step, min_time: float) -> int:
    """Steps per repeat so that one repeat lasts at least ``min_time``; also the warm-up."""
    number = 1
    while True:
        elapsed = _time(step, number)
        if elapsed >= min_time:
            return number
        # Grow towards the target in one jump where the estimate allows, at most tenfold.
        number = max(number * 2, min(number * 10, int(number * min_time / max(elapsed, 1e-9))))


def _time(step, number: int) -> float:
    # The garbage collector stays on: collecting graph cycles is part of a training step's cost.
    start = time.perf_counter()
    for _ in range(number):
        step()
    return time.perf_counter() - start


def _report(results: dict) -> str:
    """The table: microseconds per step per contender, glassgrad's ratios and the target."""
    head = ["workload", *(f"{name} us" for name in CONTENDERS)]
    head += ["glassgrad/torch", "glassgrad/floor", "target"]
    rows = [head]
    notes = []
    for key, by_contender in results.items():
        times = {name: by_contender[name].get("us_per_step") for name in CONTENDERS}
        for name in CONTENDERS:
            if "error" in by_contender[name]:
                times[name] = None
                notes.append(f"{key} {name}: {by_contender[name]['error']}")
        vs_torch, vs_floor = _ratios(times)
        rows.append(
            [key, *(_us(times[name]) for name in CONTENDERS)]
            + [_x(vs_torch), _x(vs_floor), _target(WORKLOADS[key].target_vs_torch, vs_torch)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [_environment(), ""]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
    lines += [""] + [f"{key}: {WORKLOADS[key].title}" for key in results]
    compiles = [
        f"{key}: compile (first call) {by_contender['glassgrad']['compile_s']:.3f} s"
        for key, by_contender in results.items()
        if "compile_s" in by_contender.get("glassgrad", {})
    ]
    if compiles:
        lines += [""] + compiles
    if notes:
        lines += [""] + notes
    return "\n".join(lines)


def _ratios(times: dict) -> tuple[float | None, float | None]:
    """glassgrad's time over torch's and over the floor's; None where either is missing."""
    mine = times["glassgrad"]
    return tuple(
        None if mine is None or not times[other] else mine / times[other]
        for other in ("torch", "floor")
    )


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _target(target: float | None, vs_torch: float | None) -> str:
    if target is None:
        return "-"
    verdict = "n/a" if vs_torch is None else ("met" if vs_torch <= target else "MISSED")
    return f"<= {target:g}x torch: {verdict}"


def _environment() -> str:
    """Where the numbers come from, since they only compare within one machine and one run."""
    versions = [f"Python {platform.python_version()}"]
    for package in ("numpy", "torch"):
        # Read from the installed metadata: importing torch here would slow the parent for nothing.
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    return (
        f"{', '.join(versions)}; {platform.machine()} {platform.system()}; "
        "one thread per contender, fixed malloc thresholds, best of repeats, microseconds per step"
    )


def _json(results: dict) -> dict:
    workloads = {}
    for key, by_contender in results.items():
        times = {name: by_contender[name].get("us_per_step") for name in CONTENDERS}
        vs_torch, vs_floor = _ratios(times)
        workloads[key] = {
            "title": WORKLOADS[key].title,
            "contenders": by_contender,
            "glassgrad_vs_torch": vs_torch,
            "glassgrad_vs_floor": vs_floor,
            "target_vs_torch": WORKLOADS[key].target_vs_torch,
        }
    return {"environment": _environment(), "workloads": workloads}


if __name__ == "__main__":
    raise SystemExit(main())
