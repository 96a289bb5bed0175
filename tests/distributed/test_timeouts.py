"""init_process_group(timeout=...): a collective that waits longer for another rank raises
Gloo's error in PyTorch's words, and the group refuses further work, as PyTorch's does."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest
from dist_helpers import WORKERS, assert_ok, launch


def _results(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("RESULTS "))
    found = json.loads(line[len("RESULTS ") :])
    # Gloo prefixes its messages with the C++ source file and line they come from
    return {name: [kind, re.sub(r"\[[^\]]*\.cc:\d+\] ", "", text or ""), seconds]
            for name, (kind, text, seconds) in found.items()}  # fmt: skip


def _torch_results(mode: str) -> dict:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKERS / "timeouts.py"), "torch", str(port), str(rank), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for rank in (0, 1)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    return _results(outputs[0][0])


EXPECTED = {
    "collectives": ("all_reduce", "Timed out waiting 2000ms for recv operation to complete"),
    "monitored": (
        "monitored_barrier",
        "[Rank 0]: Rank 1 failed to pass monitoredBarrier in 2000 ms\n Original exception: \n"
        "Timed out waiting 2000ms for recv operation to complete",
    ),
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_a_collective_that_waits_too_long_raises_pytorchs_error(mode):
    proc = launch("timeouts.py", "glassgrad", mode)
    assert_ok(proc)
    ours, theirs = _results(proc.stdout), _torch_results(mode)
    name, text = EXPECTED[mode]
    assert theirs[name] == ["RuntimeError", text, 2]
    assert ours == theirs
