"""Draws a random branching program with hypothesis while PyTorch runs it line by line.

Running PyTorch during the draw lets every step pick inputs that exist, with their real shapes
and dtypes; a line PyTorch refuses stays in the program (its exception is compared) but defines
nothing. ``programs()`` is the strategy; the drawn ``Program`` carries the PyTorch trace it made.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from hypothesis import strategies as st

from . import steps
from .runner import Line, Program, namespace, run_line, snapshot

MAX_NUMEL = 600  # larger results stay out of the pool (kron, outer, cartesian_prod grow fast)
FLOATS = (torch.float32, torch.float64)


class Builder:
    """A program being drawn: the lines so far, PyTorch's namespace, and the live tensors."""

    def __init__(self, data):
        self.data = data
        self.ns = namespace(torch)
        self.program = Program()
        self.trace = []
        self.pool = []  # expressions naming live tensors
        self.count = 0

    # -- drawing -------------------------------------------------------------------------------
    def draw(self, strategy):
        return self.data.draw(strategy)

    def choice(self, options):
        return self.draw(st.sampled_from(list(options)))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    def rng(self):
        return np.random.default_rng(self.draw(st.integers(0, 2**16)))

    # -- the pool ----------------------------------------------------------------------------
    def value(self, expr):
        try:
            return eval(expr, self.ns)  # noqa: S307 - the program's own expressions
        except Exception:  # noqa: BLE001 - an expression whose tensor is gone
            return None

    def tensors(self, floating=True, grad=None, shape=None, ndim=None, leaf=None):
        """Pool expressions whose tensors fit: float dtype, requires_grad, shape, ndim."""
        found = []
        for expr in self.pool:
            t = self.value(expr)
            if not isinstance(t, torch.Tensor):
                continue
            try:
                t.grad_fn  # noqa: B018 - a stale view raises here: not a usable input
            except RuntimeError:
                continue
            if leaf is not None and t.is_leaf != leaf:
                continue
            if floating and t.dtype not in FLOATS:
                continue
            if grad is not None and t.requires_grad != grad:
                continue
            if shape is not None and tuple(t.shape) != tuple(shape):
                continue
            if ndim is not None and t.dim() not in ndim:
                continue
            found.append(expr)
        return found

    def pick(self, **fit):
        found = self.tensors(**fit)
        return self.choice(found) if found else None

    def name(self):
        self.count += 1
        return f"v{self.count}"

    # -- emitting ------------------------------------------------------------------------------
    def emit(self, src, tag, out=None, touched=()):
        """Run ``src`` on PyTorch, keep it, and put what ``out`` names into the pool."""
        snap = ((out,) if out else ()) + tuple(touched)
        line = Line(src, tag, snap)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outcome = run_line(line, self.ns)
        self.program.lines.append(line)
        self.trace.append(outcome)
        if outcome[0] == "ok" and out:
            self.adopt(out)
        return outcome[0] == "ok"

    def adopt(self, out):
        result = self.value(out)
        if isinstance(result, torch.Tensor):
            if result.numel() <= MAX_NUMEL:
                self.pool.append(out)
        elif isinstance(result, (tuple, list)):
            for index, item in enumerate(list(result)[:4]):
                if isinstance(item, torch.Tensor) and item.numel() <= MAX_NUMEL:
                    self.pool.append(f"{out}[{index}]")


def literal(array) -> str:
    """Source for a constant array of any dtype."""
    array = np.asarray(array)
    dtype = f"torch.{array.dtype}" if array.dtype != np.bool_ else "torch.bool"
    if array.size == 0:
        return f"torch.zeros({tuple(array.shape)}, dtype={dtype})"
    if array.dtype.kind == "f":
        values = np.round(array, 3).tolist()
    else:
        values = array.tolist()
    return f"torch.tensor({values!r}, dtype={dtype})"


def leaf_source(array, dtype, grad):
    flag = ", requires_grad=True" if grad else ""
    if array.size == 0:
        return f"torch.zeros({tuple(array.shape)}, dtype=torch.{dtype}{flag})"
    values = np.round(array, 3).tolist()
    return f"torch.tensor({values!r}, dtype=torch.{dtype}{flag})"


def draw_program(data, min_steps=8, max_steps=40):
    """A drawn program and PyTorch's trace of it."""
    build = Builder(data)
    for _ in range(build.draw(st.integers(2, 3))):
        steps.new_leaf(build)
    for _ in range(build.draw(st.integers(min_steps, max_steps))):
        maker = build.draw(st.sampled_from(steps.WEIGHTED))
        maker(build)
    steps.finish(build)
    build.program.watch = list(build.pool)
    return build.program


@st.composite
def programs(draw, min_steps=8, max_steps=40):
    class Data:
        def draw(self, strategy):
            return draw(strategy)

    return draw_program(Data(), min_steps, max_steps)


__all__ = ["Builder", "draw_program", "programs", "literal", "leaf_source", "snapshot"]
