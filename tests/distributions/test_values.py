"""Every distribution's statistics, densities and their gradients against PyTorch's, on the same
float64 parameters: values to 1e-10, gradients to 1e-8, exceptions by type and text."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.distributions.cases import CASES, build, value

import glassgrad as gg

PROPERTIES = ["mean", "mode", "variance", "stddev", "batch_shape", "event_shape", "has_rsample"]
PROPERTIES += ["has_enumerate_support", "support"]


def _quantiles(lib, dist):
    return lib.full((2,) + tuple(dist.batch_shape), 0.3, dtype=lib.float64)


METHODS = {
    "entropy": lambda lib, dist, name: dist.entropy(),
    "log_prob": lambda lib, dist, name: dist.log_prob(value(lib, name)),
    "cdf": lambda lib, dist, name: dist.cdf(value(lib, name)),
    "icdf": lambda lib, dist, name: dist.icdf(_quantiles(lib, dist)),
    "perplexity": lambda lib, dist, name: dist.perplexity(),
    "enumerate_support": lambda lib, dist, name: dist.enumerate_support(),
    "enumerate_support-unexpanded": lambda lib, dist, name: dist.enumerate_support(False),
    "expand": lambda lib, dist, name: dist.expand((5,) + tuple(dist.batch_shape)).mean,
    "sample": lambda lib, dist, name: _shape_dtype(dist.sample((2, 3))),
    "rsample": lambda lib, dist, name: _shape_dtype(dist.rsample((2,))),
    "repr": lambda lib, dist, name: repr(dist),
}


def _shape_dtype(sample):
    return tuple(sample.shape), str(sample.dtype).split(".")[-1], sample.requires_grad


def _outcome(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc).replace("glassgrad", "torch")


def _assert_same(ours, theirs):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gg.Tensor), ours
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(
            ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-10
        )
    elif isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs) and isinstance(ours, gg.Size)
    elif type(theirs).__module__.startswith("torch.distributions.constraints"):
        assert repr(ours).replace("glassgrad", "torch") == repr(theirs)
    else:
        assert ours == theirs


def _grads(lib, result, leaves):
    if not isinstance(result, lib.Tensor) or result.grad_fn is None:
        return None
    weights = lib.tensor(np.linspace(0.5, 1.5, result.numel()).reshape(tuple(result.shape)))
    return lib.autograd.grad((result * weights).sum(), leaves, allow_unused=True)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("what", PROPERTIES + sorted(METHODS))
def test_against_torch(name, what):
    theirs_dist, theirs_leaves = build(torch, name)
    ours_dist, ours_leaves = build(gg, name)
    if what in METHODS:
        theirs = _outcome(lambda: METHODS[what](torch, theirs_dist, name))
        ours = _outcome(lambda: METHODS[what](gg, ours_dist, name))
    else:
        theirs = _outcome(lambda: getattr(theirs_dist, what))
        ours = _outcome(lambda: getattr(ours_dist, what))
    _assert_same(ours, theirs)
    if what in ("sample", "rsample"):
        return
    theirs_grads = _outcome(lambda: _grads(torch, theirs, theirs_leaves))
    ours_grads = _outcome(lambda: _grads(gg, ours, ours_leaves))
    if theirs_grads is None or isinstance(theirs_grads[0], str):  # none, or PyTorch's error
        assert ours_grads == theirs_grads
        return
    for mine, other in zip(ours_grads, theirs_grads, strict=True):
        assert (mine is None) == (other is None)
        if other is not None:
            np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=1e-8, atol=1e-8)
