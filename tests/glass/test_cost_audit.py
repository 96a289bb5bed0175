"""glass.cost counts graph nodes and saved bytes; glass.audit catches frozen state that moved."""

from __future__ import annotations

import os

import numpy as np
import pytest

import glassgrad
from glassgrad import glass


def test_cost_counts_nodes_saved_bytes_and_detach_sharing():
    x = glassgrad.ones(1000, requires_grad=True)
    w = glassgrad.ones(1000, requires_grad=True)
    h = x * w  # saves both inputs: 2 x 4000 bytes, held by h, not by the loss below
    d = h.detach()
    loss = (d * w).sum()
    report = glass.cost(loss)
    assert report.nodes == 3  # SumBackward0, MulBackward0, AccumulateGrad(w)
    assert report.saved_bytes == 4000  # d, for w's gradient; w itself is not needed
    assert report.detach_shared_bytes == 4000 and report.detach_copied_bytes == 0
    assert np.shares_memory(d.numpy(), h._data)
    assert glass.cost(h).saved_bytes == 8000
    loss.backward()
    assert glass.cost(loss).saved_bytes == 0  # backward freed the buffers
    assert "bytes held for backward" in str(report)


def test_no_grad_graph_holds_nothing():
    w = glassgrad.ones(100, 100, requires_grad=True)
    x = glassgrad.ones(10, 100)
    with glassgrad.no_grad():
        h = (x @ w).tanh()
    out = (h @ w).sum()
    held = glass.cost(out).saved_bytes
    assert h.nbytes <= held <= h.nbytes + w.nbytes  # only the last matmul's inputs
    with_graph = ((x @ w).tanh() @ w).sum()
    assert glass.cost(with_graph).saved_bytes > held


def test_audit_reports_a_frozen_parameter_that_changed():
    frozen = glassgrad.ones(3)
    live = glassgrad.ones(3, requires_grad=True)
    with pytest.warns(UserWarning, match="parameter frozen"):
        with glass.audit({"frozen": frozen, "live": live}) as report:
            with glassgrad.no_grad():
                frozen.mul_(0.9)  # the weight-decay trap: an update that skipped the freeze
                live.mul_(0.9)
    assert len(report.changes) == 1 and report.changes[0].startswith("parameter frozen (frozen)")


def test_audit_is_quiet_when_nothing_frozen_changes():
    frozen = glassgrad.ones(3)
    with glass.audit({"frozen": frozen}) as report:
        _ = frozen * 2
    assert report.changes == [] and "no frozen parameter" in str(report)


def test_audit_watches_module_buffers():
    nn = glassgrad.nn
    if not hasattr(nn, "BatchNorm1d"):
        pytest.skip("nn.BatchNorm1d not available yet")
    model = nn.BatchNorm1d(4)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.warns(UserWarning, match="running_mean"):
        with glass.audit(model) as report:
            model(glassgrad.randn(8, 4))  # train mode: running statistics still move
    assert any("running_mean" in line for line in report.changes)


def _train(steps: int, zero_grad: bool, backwards_per_step: int = 1):
    model = glassgrad.nn.Linear(3, 1)
    optimizer = glassgrad.optim.SGD(model.parameters(), lr=0.1)
    x = glassgrad.randn(4, 3)
    with glass.audit(model, optimizer=optimizer, warn=False) as report:
        for _ in range(steps):
            if zero_grad:
                optimizer.zero_grad()
            for _ in range(backwards_per_step):
                model(x).sum().backward()  # the accumulating backward
            optimizer.step()
    return report


def test_audit_catches_gradients_accumulating_without_zero_grad():
    report = _train(3, zero_grad=False)
    assert [line.split(":")[0] for line in report.changes] == [
        "gradient of weight keeps accumulating",
        "gradient of bias keeps accumulating",
    ]
    with open(__file__, encoding="utf-8") as source:
        line = next(n for n, text in enumerate(source, 1) if "# the accumulating backward" in text)
    where = f"{os.path.basename(__file__)}:{line}"
    assert f"the backward at {where} adds to a gradient" in report.changes[0]
    assert "zero_grad() is never called" in str(report)


def test_audit_accepts_zero_grad_and_deliberate_accumulation():
    assert _train(3, zero_grad=True).changes == []
    assert _train(3, zero_grad=True, backwards_per_step=2).changes == []
