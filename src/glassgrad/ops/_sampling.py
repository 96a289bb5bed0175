"""Sample inputs for the op table's tests, drawn from a NumPy ``Generator``.

The table calls ``info.samples(rng)`` (and, for ops registered with ``any_shape=True``,
``info.samples(rng, shape)`` with shapes that include 0-d and empty ones). ``shaped`` turns a
function of ``(make, shape)`` into such a ``samples``; ``make`` draws one array.
"""

from __future__ import annotations

import numpy as np

DEFAULT_SHAPE = (2, 3)


def maker(rng, domain=(-2.0, 2.0)):
    """``make(shape, dtype="float64", low=None, high=None)``: an array drawn from ``rng``."""

    def make(shape, dtype="float64", low=None, high=None):
        low = domain[0] if low is None else low
        high = domain[1] if high is None else high
        # np.asarray: for shape () the generators return NumPy scalars, not arrays
        if dtype == "bool":
            return np.asarray(rng.random(shape) < 0.5)
        if np.dtype(dtype).kind in "iu":
            drawn = rng.integers(int(np.floor(low)), int(np.ceil(high)) + 1, shape)
            return np.asarray(drawn).astype(dtype)
        return np.asarray(rng.uniform(low, high, shape)).astype(dtype)

    return make


def shaped(fn):
    """A ``samples(rng, shape=(2, 3))`` for the op table, from ``fn(make, shape)``."""

    def samples(rng, shape=DEFAULT_SHAPE):
        return fn(maker(rng), tuple(shape))

    samples.__name__ = getattr(fn, "__name__", "samples")
    return samples


# -- samples for the binary arithmetic ops (ops/elementwise/binary.py) -----------------------------
def binary_samples(make, shape, low=None, high=None):
    """Same shapes, a broadcast operand on either side, and a 0-d operand."""
    x, y = make(shape), make(shape, low=low, high=high)
    samples = [((x, y), {}), ((x, make((), low=low, high=high)), {})]
    if shape:
        samples.append(((x, make(shape[-1:], low=low, high=high)), {}))
        samples.append(((make(shape[-1:]), y), {}))
    return samples


def scalar_samples(make, shape, low=None, high=None):
    """``binary_samples`` plus a Python float and a Python int as the second operand."""
    x = make(shape)
    scalar = 1.5 if low is None else float(low + high) / 2
    return binary_samples(make, shape, low, high) + [((x, scalar), {}), ((x, 2), {})]


def positive_samples(make, shape):
    return scalar_samples(make, shape, 0.5, 2.0)


def add_samples(make, shape):
    return scalar_samples(make, shape) + [((make(shape), make(shape)), {"alpha": 2})]


def where_samples(make, shape):
    cond = make(shape, dtype="bool")
    samples = [((cond, make(shape), make(shape)), {})]
    if shape:
        samples.append(((cond, make(shape[-1:]), make(())), {}))
    return samples


def pow_samples(make, shape):
    base = make(shape, low=0.5, high=2.0)
    return [
        ((base, make(shape)), {}),
        ((base, 2), {}),
        ((base, 0.5), {}),
        ((base, -1), {}),
        ((base, make(shape[-1:])), {}),
        ((base, make(())), {}),
    ]
