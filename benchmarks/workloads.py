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


# --- T1: torch.tensor of a 100k-element Python list of floats --------------------------------

T1_VALUES = [((i * 7919) % 1000) / 1000.0 for i in range(100_000)]


def t1_floor() -> Bench:
    """The list as a float32 NumPy array: what the conversion costs at least."""
    import numpy as np

    return Bench(
        lambda: np.array(T1_VALUES, dtype=np.float32),
        lambda: [float(np.array(T1_VALUES, dtype=np.float32).sum(dtype=np.float64))],
    )


def t1_tensor(torch) -> Bench:
    """``torch.tensor(list_of_floats)``."""
    return Bench(
        lambda: torch.tensor(T1_VALUES),
        lambda: [float(torch.tensor(T1_VALUES).double().sum())],
    )


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
    "T1": Workload(
        key="T1",
        title="torch.tensor of a 100k-element Python list of floats",
        setups={
            "floor": t1_floor,
            "torch": lambda: t1_tensor(import_contender("torch")),
            "glassgrad": lambda: t1_tensor(import_contender("glassgrad")),
        },
        expected_grads=[sum(T1_VALUES)],
        target_vs_torch=2.0,
    ),
}
"""Every workload, by key, in the order ``run.py`` runs them."""


from workloads_nn import NN_WORKLOADS  # noqa: E402 - it imports Bench and Workload from here

WORKLOADS.update(NN_WORKLOADS)

from workloads_func import FUNC_WORKLOADS  # noqa: E402 - torch.func: vmap, hessian, jacrev, jacfwd

WORKLOADS.update(FUNC_WORKLOADS)

from workloads_compile import COMPILE_WORKLOADS  # noqa: E402 - torch.compile rows (W1c, W3c...)

WORKLOADS.update(COMPILE_WORKLOADS)

from workloads_models import MODEL_WORKLOADS  # noqa: E402 - real models: G1 (GPT), L1 (LSTM)

WORKLOADS.update(MODEL_WORKLOADS)
