"""The benchmark workloads compute the right gradients (correctness only: no timing in tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from workloads import CONTENDERS, WORKLOADS  # noqa: E402 - benchmarks/ is not a package


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("key", list(WORKLOADS))
def test_workload_step_gives_the_expected_gradients(key, contender):
    """Two steps in a row (grads reset each step) leave exactly the expected gradients."""
    if contender == "torch":
        pytest.importorskip("torch")
    workload = WORKLOADS[key]
    if contender not in workload.setups:
        pytest.skip(f"{key} has no {contender} contender")
    bench = workload.setups[contender]()
    bench.step()
    bench.step()
    assert bench.grads() == pytest.approx(workload.expected_grads)
