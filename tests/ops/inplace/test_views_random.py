"""Random chains of view ops, then in-place writes through views and bases, against PyTorch.

Each program is drawn from a seed as a list of steps: a base tensor (a leaf, a non-leaf in the
graph, a plain tensor), a chain of views of it (some taken under ``no_grad``), in-place writes
through a view or the base (with values that may require grad), then backward. The same steps
run on PyTorch 2.13 and on glassgrad; values, gradients, versions, grad_fn names and the first
exception (type and message) must agree. ``VIEWS_N=<count>`` runs more seeds.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from views_outcome import check

SEEDS = range(int(os.environ.get("VIEWS_N", 150)))

# view steps: name -> whether it applies to a shape
VIEWS = {
    "select": lambda shape: len(shape) > 0,
    "slice": lambda shape: len(shape) > 0 and shape[0] > 1,
    "transpose": lambda shape: len(shape) > 1,
    "t": lambda shape: len(shape) <= 2,
    "unsqueeze": lambda shape: True,
    "squeeze": lambda shape: True,
    "flatten": lambda shape: True,
    "view": lambda shape: True,
    "none": lambda shape: True,
    "split": lambda shape: len(shape) > 0 and shape[0] > 1,
    "chunk": lambda shape: len(shape) > 0 and shape[0] > 1,
    "unbind": lambda shape: len(shape) > 0,
    "diagonal": lambda shape: len(shape) > 1,
    "permute": lambda shape: len(shape) > 1,
}


def _view_args(name, shape, rng):
    """The arguments of view step ``name`` on a tensor of ``shape``, drawn from ``rng``."""
    if name == "select":
        dim = rng.integers(len(shape))
        return dim, rng.integers(shape[dim])
    if name == "slice":
        return rng.integers(1, shape[0])
    if name in ("transpose", "permute"):
        order = tuple(rng.permutation(len(shape)))
        return order[:2] if name == "transpose" else order
    if name == "unsqueeze":
        return rng.integers(len(shape) + 1)
    if name in ("split", "chunk"):
        return rng.integers(2)
    if name == "unbind":
        return rng.integers(shape[0])
    return ()


WRITES = ("mul_", "add_grad", "fill_", "zero_", "relu_", "copy_grad", "setitem", "div_")


def _apply_view(t, x, name, args):
    if name == "select":
        dim, index = args
        return x.select(int(dim), int(index))
    if name == "slice":
        return x[: int(args)]
    if name == "transpose":
        return x.transpose(int(args[0]), int(args[1]))
    if name == "t":
        return x.t()
    if name == "unsqueeze":
        return x.unsqueeze(int(args))
    if name == "squeeze":
        return x.squeeze()
    if name == "flatten":
        return x.flatten()
    if name == "view":
        return x.view(-1) if x.is_contiguous() else x.reshape(-1)
    if name == "none":
        return x[None]
    if name == "split":
        return x.split(1)[int(args)]
    if name == "chunk":
        return x.chunk(2)[int(args)]
    if name == "unbind":
        return x.unbind()[int(args)]
    if name == "diagonal":
        return x.diagonal()
    return x.permute(*[int(d) for d in args])


def _write(t, x, name, value_grad):
    if name == "mul_":
        return x.mul_(2)
    if name == "div_":
        return x.div_(4)
    if name == "fill_":
        return x.fill_(3)
    if name == "zero_":
        return x.zero_()
    if name == "relu_":
        return x.relu_()
    other = t.full(tuple(x.shape), 0.5, dtype=t.float64, requires_grad=value_grad)
    if name == "add_grad":
        return x.add_(other * 1 if value_grad else other)
    if name == "copy_grad":
        return x.copy_(other * 1 if value_grad else other)
    x[...] = other * 1 if value_grad else other
    return x


def _draw(seed):
    """The steps of one program, drawn from ``seed`` (library-independent)."""
    rng = np.random.default_rng(seed)
    shape = [(), (4,), (3, 4), (2, 3, 2)][rng.integers(4)]
    kind = ("leaf", "nonleaf", "plain")[rng.integers(3)]
    chain = []
    current = tuple(shape)
    for _ in range(rng.integers(1, 4)):
        fits = [name for name, applies in VIEWS.items() if applies(current)]
        name = fits[rng.integers(len(fits))]
        args = _view_args(name, current, rng)
        chain.append((name, args, rng.random() < 0.15))
        current = _shape_after(current, name, args)
    writes = []
    for _ in range(rng.integers(1, 3)):
        target = ("view", "base", "first")[rng.integers(3)]
        writes.append((target, WRITES[rng.integers(len(WRITES))], rng.random() < 0.4))
    return shape, kind, chain, writes, rng.random() < 0.3


def _shape_after(shape, name, args):
    probe = np.zeros(shape)
    import torch

    return tuple(_apply_view(torch, torch.from_numpy(probe), name, args).shape)


def _program(seed):
    shape, kind, chain, writes, write_under_no_grad = _draw(seed)

    def program(t):
        leaf = t.arange(1.0, 1.0 + int(np.prod(shape)), dtype=t.float64).reshape(shape)
        leaf = leaf - 2.5
        leaf.requires_grad_(kind != "plain")
        base = leaf * 1 if kind == "nonleaf" else leaf
        views = [base]
        for name, args, no_grad in chain:
            with t.set_grad_enabled(not no_grad):
                views.append(_apply_view(t, views[-1], name, args))
        events = []
        for target, write, value_grad in writes:
            x = {"view": views[-1], "base": base, "first": views[1]}[target]
            with t.set_grad_enabled(not write_under_no_grad):
                _write(t, x, write, value_grad)
            node = x.grad_fn
            events.append((x._version, None if node is None else type(node).__name__))
        grads = None
        if base.requires_grad:
            weights = t.arange(float(base.numel()), dtype=t.float64).reshape(base.shape)
            (base * weights).sum().backward()
            grads = leaf.grad
        return events, views, grads

    return program


@pytest.mark.parametrize("seed", SEEDS)
def test_random_view_programs_match_torch(seed):
    check(_program(seed))
