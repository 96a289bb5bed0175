"""init_process_group(timeout=...): a collective that waits longer for another rank raises
Gloo's error in PyTorch's words, and the group refuses further work, as PyTorch's does."""

import json
import os
import re
import socket
import subprocess
import sys

from dist_helpers import WORKERS, assert_ok, launch


def _results(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("RESULTS "))
    found = json.loads(line[len("RESULTS ") :])
    # Gloo prefixes its message with the C++ source file and line it comes from
    return {name: [kind, re.sub(r"^\[[^\]]*\] ", "", text or ""), seconds]
            for name, (kind, text, seconds) in found.items()}  # fmt: skip


def _torch_results() -> dict:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKERS / "timeouts.py"), "torch", str(port), str(rank)],
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


def test_a_collective_that_waits_too_long_raises_pytorchs_error():
    proc = launch("timeouts.py", "glassgrad")
    assert_ok(proc)
    ours, theirs = _results(proc.stdout), _torch_results()
    assert theirs["all_reduce"] == [
        "RuntimeError",
        "Timed out waiting 2000ms for recv operation to complete",
        2,
    ]
    assert ours == theirs
