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
