"""Integer overflow wraps, and ``Tensor.new_*`` factories keep dtype and flags, as in PyTorch."""

import torch

import glassgrad


def _both(fn):
    """``fn(lib)`` under PyTorch and glassgrad; results compared as nested lists."""
    return [fn(lib) for lib in (torch, glassgrad)]


def test_integer_overflow_wraps_and_new_factories():
    def run(lib):
        t = lib.tensor([1, 2], dtype=lib.int8)
        made = (t.new_zeros(2, 3), t.new_ones((2,)), t.new_full((2,), 7), t.new_empty(3))
        floats = lib.ones(2, dtype=lib.float64)
        return (
            (t + 1000).tolist(),
            (t * 300).tolist(),
            [(str(m.dtype), tuple(m.shape)) for m in made],
            str(floats.new_tensor([1, 2]).dtype),
            floats.new_zeros(2, requires_grad=True).requires_grad,
        )

    expected, actual = _both(run)
    assert actual == expected
