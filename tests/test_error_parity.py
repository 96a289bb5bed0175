"""Error parity outside the bad-input table: warnings PyTorch gives (or does not), and the
allocator's RuntimeError that ``except RuntimeError`` out-of-memory handlers rely on."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch

import glassgrad


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.zeros(10**12),
        lambda lib: lib.randn(10**6, 10**6),
        lambda lib: lib.ones(3).repeat(10**12),
        lambda lib: lib.zeros(10**6, 1) + lib.zeros(1, 10**6),
        lambda lib: lib.ones(1).expand(10**12).contiguous(),
        lambda lib: lib.zeros(2**62),
    ],
)
def test_huge_allocations_raise_runtime_error(make):
    with pytest.raises(RuntimeError) as theirs:
        make(torch)
    with pytest.raises(RuntimeError) as ours:
        make(glassgrad)
    assert str(ours.value) == str(theirs.value).split("\nException raised from")[0]


_FLOAT_SCRIPT = """
import warnings, {lib} as torch
x = torch.tensor(2.0, requires_grad=True)
with warnings.catch_warnings(record=True) as caught:  # the default filters: once per process
    with torch.no_grad():
        float(x)
    with torch.inference_mode():
        float(x)
    silent = len(caught)
    float(x * 2)
    float(x)
    complex(x)
print(silent, len(caught), str(caught[-1].message).split(" (Triggered")[0] if caught else "")
"""


def _float_warnings(lib):
    done = subprocess.run(
        [sys.executable, "-c", _FLOAT_SCRIPT.format(lib=lib)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_float_of_requires_grad_warns_once_and_never_under_no_grad():
    assert _float_warnings("glassgrad") == _float_warnings("torch")


def test_overflow_in_numpy_reductions_is_silent():
    x = glassgrad.tensor([3e38, 3e38, -3e38])
    y = glassgrad.tensor([[3e38, 3e38], [3e38, 1.0]])
    calls = [
        lambda: x.sum(),
        lambda: x.mean(),
        lambda: x.var(),
        lambda: x.std(),
        lambda: x.prod(),
        lambda: x.cumsum(0),
        lambda: x.cumprod(0),
        lambda: glassgrad.var_mean(y, 0),
        lambda: glassgrad.std_mean(y, 0),
        lambda: glassgrad.nn.functional.layer_norm(y, (2,)),
        lambda: glassgrad.nn.functional.batch_norm(y, None, None, training=True),
        lambda: glassgrad.nn.functional.group_norm(y.reshape(1, 2, 2), 1),
        lambda: glassgrad.linalg.det(y),
    ]
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            call()


def test_where_method_takes_self_as_the_true_branch():
    def run(lib):
        x, t = lib.tensor([1.0, 2.0, 3.0]), lib.tensor([0.0, 5.0, 0.0])
        return x.where(t > 0, t).tolist(), x.where(t > 0, -1.0).tolist()

    assert run(glassgrad) == run(torch) == ([0.0, 2.0, 0.0], [-1.0, 2.0, -1.0])
