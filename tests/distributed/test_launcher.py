"""The launcher: torchrun's variables, the `glassgrad run` alias, and a rank that dies
mid-step ending the whole job with a message from every rank well within 60 seconds."""

import os
import subprocess
import sys
import time

import pytest
from dist_helpers import SRC, WORKERS, assert_ok, launch


def test_ranks_get_torchruns_variables():
    assert_ok(launch("env.py", "--lr", "0.1"))


def test_glassgrad_run_alias():
    env = dict(os.environ, PYTHONPATH=str(SRC))
    command = [sys.executable, "-m", "glassgrad", "run", "--nproc_per_node=2", "--standalone"]
    proc = subprocess.run(
        [*command, str(WORKERS / "env.py"), "--lr", "0.1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert_ok(proc)


@pytest.mark.parametrize(
    "how, why",
    [
        ("kill", "died without a word"),
        ("raise", "ValueError: rank failed on purpose"),
        ("exit", "exited with status 3"),
    ],
)
@pytest.mark.parametrize("victim", [0, 1])
@pytest.mark.parametrize("model", ["", "ddp"])
def test_a_failed_rank_stops_every_rank(how, why, victim, model):
    start = time.monotonic()
    proc = launch("fault.py", how, victim, *([model] if model else []), timeout=90)
    elapsed = time.monotonic() - start
    survivor = 1 - victim
    assert proc.returncode != 0
    assert elapsed < 60
    assert "OK rank" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert any(
        line.startswith(f"glassgrad run: rank {victim} (pid ")
        and line.endswith(f") failed: {why}")
        or (f"rank {victim} (pid " in line and f"failed: {why}" in line)
        for line in lines
    ), proc.stderr
    # the survivor says why it stops (mpiexec may drop that line when it tears the job down,
    # and MPI may end the survivor first): the launcher's line for it is always there
    stopped = f"glassgrad run: rank {survivor} (pid "
    assert any(
        line.startswith(stopped)
        and (f"because rank {victim} failed" in line or f"after rank {victim} failed" in line)
        for line in lines
    ), proc.stderr
