"""Running a worker script through glassgrad's launcher, with a timeout so nothing hangs."""

import os
import subprocess
import sys
from pathlib import Path

WORKERS = Path(__file__).parent / "dist_workers"
SRC = Path(__file__).parents[2] / "src"


def launch(script, *args, nproc=2, timeout=120, env=None):
    """``python -m glassgrad.distributed.run --nproc-per-node N script args``: the finished
    process (its output captured as text)."""
    environ = dict(os.environ, **(env or {}))
    environ["PYTHONPATH"] = os.pathsep.join([str(SRC), environ.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "glassgrad.distributed.run", "--nproc-per-node", str(nproc)]
    return subprocess.run(
        [*command, str(WORKERS / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
    )


def assert_ok(proc, nproc=2):
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    for rank in range(nproc):
        assert f"OK rank {rank}" in proc.stdout, output
