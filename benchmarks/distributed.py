"""Distributed benchmarks (``make bench`` runs them after ``run.py``).

D1: W2's MLP (784-256-256-10, float32, global batch 128) trained with SGD: one process on the
whole batch against DistributedDataParallel on 2 processes with half the batch each, one thread
per process; the throughput ratio is the scaling (target >= 1.7x on two cores).
D2: allreduce of a 100 MB float32 tensor on 2 processes: ``glassgrad.distributed.all_reduce``
against mpi4py's own ``Allreduce`` of the same buffer (target: within 1.5x).

Times are the best of several repeats (noise only adds time); the multi-process runs start
through ``glassgrad.distributed.run``. Usage: ``python benchmarks/distributed.py [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
GLOBAL_BATCH = 128
STEPS, REPEATS = 20, 7
ALLREDUCE_BYTES = 100 * 1000 * 1000


def _model(torch):
    """W2's MLP as an nn.Module, with W2's initial weights."""
    sys.path.insert(0, str(HERE))
    import workloads  # noqa: F401 - first: workloads_nn imports it back
    from workloads_nn import _mlp_arrays

    _, _, arrays = _mlp_arrays()
    layers = [torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256)]
    model = torch.nn.Sequential(*layers, torch.nn.ReLU(), torch.nn.Linear(256, 10))
    with torch.no_grad():
        for param, array in zip(model.parameters(), arrays, strict=True):
            param.copy_(torch.tensor(array))
    return model


def _data(rank: int, world: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((GLOBAL_BATCH, 784)).astype(np.float32)
    target = rng.integers(0, 10, GLOBAL_BATCH)
    share = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)
    return x[share], target[share]


def _train_seconds(model, x, target, torch, sync=None) -> float:
    """Best seconds per SGD step over the repeats (``sync`` aligns and combines ranks)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs, labels = torch.tensor(x), torch.tensor(target)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()

    for _ in range(5):
        step()
    best = float("inf")
    for _ in range(REPEATS):
        if sync:
            sync(None)
        start = time.perf_counter()
        for _ in range(STEPS):
            step()
        elapsed = (time.perf_counter() - start) / STEPS
        best = min(best, sync(elapsed) if sync else elapsed)
    return best


def worker_single() -> dict:
    import glassgrad as torch

    x, target = _data(0, 1)
    return {"seconds_per_step": _train_seconds(_model(torch), x, target, torch)}


def worker_ddp() -> dict:
    import glassgrad as torch
    import glassgrad.distributed as dist

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = torch.nn.parallel.DistributedDataParallel(_model(torch))

    def sync(elapsed):
        if elapsed is None:
            dist.barrier()
            return None
        slowest = torch.tensor(elapsed, dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        return float(slowest)

    x, target = _data(rank, world)
    seconds = _train_seconds(model, x, target, torch, sync)
    dist.destroy_process_group()
    return {"seconds_per_step": seconds, "world_size": world} if rank == 0 else {}


def worker_allreduce() -> dict:
    from mpi4py import MPI

    import glassgrad as torch
    import glassgrad.distributed as dist

    dist.init_process_group("mpi")
    rank = dist.get_rank()
    ours = torch.full((ALLREDUCE_BYTES // 4,), 1.0)
    theirs = np.full(ALLREDUCE_BYTES // 4, 1.0, dtype=np.float32)
    comm = MPI.COMM_WORLD
    times = {"glassgrad": float("inf"), "mpi4py": float("inf")}
    for _ in range(REPEATS):  # interleaved, so both meet the same machine
        for name in times:
            comm.Barrier()
            start = time.perf_counter()
            if name == "glassgrad":
                dist.all_reduce(ours)
            else:
                comm.Allreduce(MPI.IN_PLACE, theirs, MPI.SUM)
            elapsed = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
            times[name] = min(times[name], elapsed)
    assert float(ours[0]) == float(theirs[0]) == 2.0**REPEATS
    dist.destroy_process_group()
    return times if rank == 0 else {}


WORKERS = {"single": worker_single, "ddp": worker_ddp, "allreduce": worker_allreduce}


def _run(mode: str, nproc: int) -> dict:
    env = {**os.environ, **THREADS}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    command = [sys.executable]
    if nproc > 1:
        command += ["-m", "glassgrad.distributed.run", "--nproc-per-node", str(nproc)]
    command += [str(Path(__file__).resolve()), "--worker", mode]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    found = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not found:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{mode} exited {done.returncode}: {tail}"}
    return json.loads(found[-1][len("RESULT ") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="glassgrad's distributed benchmarks")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH as JSON")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = WORKERS[args.worker]()
        if result:
            print("RESULT " + json.dumps(result), flush=True)
        return 0
    load = list(os.getloadavg())  # other work on the machine shares its cores with the runs
    results = {
        "single": _run("single", 1),
        "ddp": _run("ddp", 2),
        "allreduce": _run("allreduce", 2),
        "load": load,
    }
    print(_report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _report(results: dict) -> str:
    load = ", ".join(f"{x:.1f}" for x in results["load"])
    lines = [
        f"glassgrad distributed benchmarks ({os.cpu_count()} cores, load average {load} before "
        "the runs; one thread per process)"
    ]
    single, ddp = results["single"], results["ddp"]
    if "error" in single or "error" in ddp:
        lines.append(f"D1 DDP scaling: n/a ({single.get('error') or ddp.get('error')})")
    else:
        one, two = single["seconds_per_step"], ddp["seconds_per_step"]
        scaling = one / two
        verdict = "met" if scaling >= 1.7 else "MISSED"
        lines.append(
            f"D1 W2 MLP, global batch {GLOBAL_BATCH}: 1 process {one * 1e3:.2f} ms/step "
            f"({GLOBAL_BATCH / one:,.0f} samples/s), DDP on 2 processes {two * 1e3:.2f} ms/step "
            f"({GLOBAL_BATCH / two:,.0f} samples/s): scaling {scaling:.2f}x "
            f"(target >= 1.7x: {verdict})"
        )
    reduce = results["allreduce"]
    if "error" in reduce:
        lines.append(f"D2 allreduce 100 MB: n/a ({reduce['error']})")
    else:
        ratio = reduce["glassgrad"] / reduce["mpi4py"]
        verdict = "met" if ratio <= 1.5 else "MISSED"
        lines.append(
            f"D2 allreduce of 100 MB float32 on 2 processes: glassgrad "
            f"{reduce['glassgrad'] * 1e3:.1f} ms, mpi4py {reduce['mpi4py'] * 1e3:.1f} ms: "
            f"{ratio:.2f}x (target <= 1.5x: {verdict})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
