"""``where`` with Python-scalar branches promotes as PyTorch does."""

import pytest
import torch

import glassgrad


def _both(fn):
    """``fn(lib)`` under PyTorch and glassgrad; results compared as nested lists."""
    return [fn(lib) for lib in (torch, glassgrad)]


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: (1, 0),
        lambda lib: (1, 0.5),
        lambda lib: (True, 2),
        lambda lib: (lib.tensor([1, 2]), 2.5),
        lambda lib: (lib.tensor([1, 2], dtype=lib.int32), 7),
        lambda lib: (lib.tensor([1.0, 2.0], dtype=lib.float64), 0.1),
        lambda lib: (0.1, lib.tensor([1.0, 2.0], dtype=lib.float64)),
        lambda lib: (lib.tensor([1.0, 2.0], dtype=lib.float16), 3),
        lambda lib: (lib.tensor([True, True]), 0),
    ],
)
def test_where_scalar_branches_promote(make):
    def run(lib):
        out = lib.where(lib.tensor([True, False]), *make(lib))
        return str(out.dtype), out.tolist()

    expected, actual = _both(run)
    assert actual == expected
