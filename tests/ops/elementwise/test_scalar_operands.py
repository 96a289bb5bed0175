"""Python numbers beyond a float tensor's range: PyTorch rounds them to infinity silently."""

from __future__ import annotations

import warnings

import pytest
import torch

import glassgrad as gg

CASES = {
    "add": lambda t, x: x + 1e300,
    "mul": lambda t, x: x * 1e300,
    "sub": lambda t, x: x - 1e300,
    "rsub": lambda t, x: 1e300 - x,
    "rdiv": lambda t, x: 1e300 / x,
    "div": lambda t, x: x.div(1e300),
    "method add": lambda t, x: x.add(1e300),
    "alpha": lambda t, x: x.sub(-1e300, alpha=2),
    "half mul": lambda t, x: x.half() * 1e5,
    "half add": lambda t, x: x.half() + 70000.0,
    "int promoted": lambda t, x: t.tensor([1, 2]) + 1e300,
    "compare": lambda t, x: x < 1e300,
    "pow": lambda t, x: x**1e300,
    "nan": lambda t, x: x * float("nan"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_out_of_range_numbers_round_silently_as_in_pytorch(case):
    expected = CASES[case](torch, torch.tensor([1.0, 2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = CASES[case](gg, gg.tensor([1.0, 2.0]))
    assert repr(got) == repr(expected)


def test_gradient_through_an_out_of_range_factor():
    grads = []
    for lib in (torch, gg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (x * 1e300).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1]


NUMPY_BOOL = {
    "int add": lambda t, np: t.tensor([1, 2]) + np.bool_(True),
    "int mul": lambda t, np: t.tensor([1, 2]) * np.bool_(True),
    "bool add": lambda t, np: t.tensor([True]) + np.bool_(True),
    "int sub": lambda t, np: t.tensor([1, 2]) - np.bool_(True),
    "reflected": lambda t, np: np.bool_(True) + t.tensor([1, 2]),
    "int64 scalar": lambda t, np: t.tensor([1, 2]) + np.int64(1),
    "float32 scalar": lambda t, np: t.tensor([1, 2]) + np.float32(1.5),
}


@pytest.mark.parametrize("case", sorted(NUMPY_BOOL))
def test_numpy_scalars_promote_as_in_pytorch(case):
    import numpy as np

    expected = NUMPY_BOOL[case](torch, np)
    got = NUMPY_BOOL[case](gg, np)
    assert (got.tolist(), str(got.dtype)) == (expected.tolist(), str(expected.dtype))


def test_float_overflow_inside_glassgrad_is_silent_and_the_users_numpy_is_untouched():
    """PyTorch computes inf and nan without a word; NumPy warns. glassgrad hides NumPy's
    floating-point warnings raised in its own code only (checked in a fresh interpreter, where
    the import-time filter is as a user gets it)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import warnings
        import numpy as np
        import glassgrad as torch
        with warnings.catch_warnings(record=True) as caught:
            x = torch.tensor([3e38], requires_grad=True)
            y = (x * 10.0 + x * x).exp() / torch.tensor([0.0])
            y.sum().backward()
            print(y.tolist(), x.grad.tolist(), len(caught))
            np.array([3e38], np.float32) * np.float32(10)
            print(len(caught), np.geterr()["over"])
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # PyTorch: the same values, and no warning
    assert run.stdout.split("\n")[:2] == ["[inf] [inf] 0", "1 warn"]
