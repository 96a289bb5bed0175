"""glassgrad.distributed's errors and answers on one process, against PyTorch's gloo's."""

import json
import os
import socket
import subprocess
import sys

from dist_helpers import WORKERS, assert_ok, launch


def _results(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("RESULTS "))
    return json.loads(line[len("RESULTS ") :])


def _torch_results() -> dict:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(WORKERS / "errors.py"), "torch", str(port)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return _results(proc.stdout)


def test_errors_match_pytorch():
    proc = launch("errors.py", "glassgrad", nproc=1)
    assert_ok(proc, nproc=1)
    ours, theirs = _results(proc.stdout), _torch_results()
    assert ours.keys() == theirs.keys()
    differ = {name: (ours[name], theirs[name]) for name in theirs if ours[name] != theirs[name]}
    assert not differ
