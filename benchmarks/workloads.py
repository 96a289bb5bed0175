"""Benchmark workloads: one setup function per (workload, contender), gathered in ``WORKLOADS``.

A setup builds everything a workload needs once and returns a ``Bench``: ``step`` is what gets
timed, ``grads`` reads the gradients afterwards so ``run.py`` can check that a fast contender is
not a wrong one. The torch and glassgrad contenders share one function with the module swapped,
exactly as ``import glassgrad as torch`` would. Adding a workload (W2 MLP step, W3 tanh chain,
W5 CNN, provenance cost) means adding its setups and one ``Workload`` entry below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

CONTENDERS = ("floor", "torch", "glassgrad")
"""Every workload's contenders, in the order the table shows them."""


class Bench(NamedTuple):
    """A prepared workload: the step to time and a reader for the gradients it produced."""

    step: Callable[[], Any]
    grads: Callable[[], list[float]]


@dataclass(frozen=True)
class Workload:
    """A benchmark: what it measures, its setup per contender, the expected gradients."""

    key: str
    title: str
    setups: dict[str, Callable[[], Bench]]
    expected_grads: list[float]
    target_vs_torch: float | None = None  # the most glassgrad may take, as a fraction of torch


def import_contender(name: str):
    """Import torch or glassgrad for a worker, pinned to one thread."""
    if name == "torch":
        import torch

        # The environment variables already ask for one thread; this pins intra-op threads
        # even where torch ignores them.
        torch.set_num_threads(1)
        return torch
    import glassgrad

    return glassgrad


# --- W1: the seed article's graph, y = a*x + b, z = c*y + d, w = e*z + f --------------------

W1_VALUES = (2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0)  # a, b, c, d, e, f, x as in the article
W1_GRADS = [935.0, 55.0, 407.0, 11.0, 192.0, 1.0, 110.0]


def w1_floor() -> Bench:
    """W1 on Python floats with the gradients derived by hand: the least any framework can do."""
    a, b, c, d, e, f, x = W1_VALUES
    grads = [0.0] * 7

    def step():
        y = a * x + b
        z = c * y + d
        w = e * z + f
        grad_z = e  # dw/dz; dw/dw = 1 is folded in
        grad_y = c * grad_z
        grads[:] = (x * grad_y, grad_y, y * grad_z, grad_z, z, 1.0, a * grad_y)
        return w

    return Bench(step, lambda: list(grads))


def w1_tensor(torch) -> Bench:
    """W1 as a PyTorch user writes it; ``torch`` is PyTorch or glassgrad."""
    a, b, c, d, e, f, x = (torch.tensor(v, requires_grad=True) for v in W1_VALUES)
    leaves = (a, b, c, d, e, f, x)

    def step():
        for leaf in leaves:
            leaf.grad = None
        y = a * x + b
        z = c * y + d
        w = e * z + f
        w.backward()

    return Bench(step, lambda: [leaf.grad.item() for leaf in leaves])


WORKLOADS: dict[str, Workload] = {
    "W1": Workload(
        key="W1",
        title="seed graph: 7 scalar leaves, y=a*x+b, z=c*y+d, w=e*z+f, forward + backward",
        setups={
            "floor": w1_floor,
            "torch": lambda: w1_tensor(import_contender("torch")),
            "glassgrad": lambda: w1_tensor(import_contender("glassgrad")),
        },
        expected_grads=W1_GRADS,
        target_vs_torch=0.25,
    ),
}
"""Every workload, by key, in the order ``run.py`` runs them."""


# --- P1, P2: the cost of glass provenance on an MLP (floor = glassgrad with provenance off) --

P_SIZES = (64, 256, 128, 10)  # batch, input, hidden, classes


def _p_data(np_dtype="float32"):
    import numpy as np

    rng = np.random.default_rng(0)
    batch, n_in, hidden, n_out = P_SIZES
    arrays = [
        rng.standard_normal(shape).astype(np_dtype) * scale
        for shape, scale in (
            ((batch, n_in), 1.0),
            ((n_in, hidden), 0.06),
            ((hidden,), 0.0),
            ((hidden, n_out), 0.09),
            ((n_out,), 0.0),
            ((batch, n_out), 1.0),
        )
    ]
    return arrays


def p_mlp(torch, provenance: bool | None, no_grad: bool) -> Bench:
    """An MLP training step (P1) or no_grad forward (P2); provenance on/off for glassgrad."""
    import contextlib

    switch = contextlib.nullcontext
    if provenance is not None:
        from glassgrad import glass

        # Switched per step, not for the process: the tests run these setups in-process.
        def switch():
            return glass.provenance(provenance)

    x, w1, b1, w2, b2, target = (torch.tensor(a) for a in _p_data())
    params = [w1, b1, w2, b2]
    for p in params:
        p.requires_grad_(True)
    out = []

    def forward():
        return (x @ w1 + b1).tanh() @ w2 + b2

    def step():
        with switch():
            if no_grad:
                with torch.no_grad():
                    out[:] = [forward()]
                return
            for p in params:
                p.grad = None
            loss = ((forward() - target) ** 2).mean()
            loss.backward()

    def grads():
        if no_grad:
            return [float((out[0] ** 2).sum())]
        return [float((p.grad**2).sum()) for p in params]

    return Bench(step, grads)


def _p_expected(no_grad: bool) -> list[float]:
    """The MLP's output or gradients by hand in NumPy (the parent process imports no framework)."""
    import numpy as np

    x, w1, b1, w2, b2, target = (a.astype(np.float64) for a in _p_data())
    hidden = np.tanh(x @ w1 + b1)
    out = hidden @ w2 + b2
    if no_grad:
        return [float((out**2).sum())]
    grad_out = 2 * (out - target) / out.size
    grad_hidden = grad_out @ w2.T * (1 - hidden**2)
    grads = [x.T @ grad_hidden, grad_hidden.sum(0), hidden.T @ grad_out, grad_out.sum(0)]
    return [float((g**2).sum()) for g in grads]


def _p_workload(key: str, no_grad: bool) -> Workload:
    what = "no_grad forward" if no_grad else "training step (forward, MSE loss, backward)"
    return Workload(
        key=key,
        title=f"provenance cost: MLP {what}; floor = glassgrad with glass.provenance(False), "
        "glassgrad/floor is the cost of provenance (budget 1.05x)",
        setups={
            "floor": lambda: p_mlp(import_contender("glassgrad"), False, no_grad),
            "torch": lambda: p_mlp(import_contender("torch"), None, no_grad),
            "glassgrad": lambda: p_mlp(import_contender("glassgrad"), True, no_grad),
        },
        expected_grads=_p_expected(no_grad),
    )


WORKLOADS["P1"] = _p_workload("P1", no_grad=False)
WORKLOADS["P2"] = _p_workload("P2", no_grad=True)


from workloads_nn import NN_WORKLOADS  # noqa: E402 - it imports Bench and Workload from here

WORKLOADS.update(NN_WORKLOADS)
