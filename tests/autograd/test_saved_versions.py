"""What backward saves, checked the way PyTorch checks it (issue 11).

For each op, inputs are made (some requiring grad, some float32 beside float64), one input is
changed in place after the op, and backward runs: PyTorch raises "modified by an inplace
operation" exactly when it saved that input (or raises nothing), and glassgrad must agree, with
the same message. A check that fires where PyTorch saves nothing refuses valid programs; one
that is missing lets backward use the new values silently.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from views_outcome import check

# op name -> number of tensor inputs
OPS = {
    "mul": 2,
    "div": 2,
    "outer": 2,
    "hypot": 2,
    "copysign": 2,
    "fmod": 2,
    "remainder": 2,
    "atan2": 2,
    "maximum": 2,
    "pow": 2,
    "addcmul": 3,
    "addcdiv": 3,
    "lerp": 3,
    "max": 1,
    "min": 1,
    "amax": 1,
    "amin": 1,
    "aminmax": 1,
    "median": 1,
    "nanmedian": 1,
    "nan_to_num": 1,
    "erfinv": 1,
    "sgn": 1,
    "exp": 1,
    "sigmoid": 1,
    "relu": 1,
}


def _variants(nin):
    for grads in itertools.product((True, False), repeat=nin):
        if any(grads):
            yield ("float64",) * nin, grads
    if nin == 2:
        yield ("float32", "float64"), (True, True)
        yield ("float64", "float32"), (True, True)
        yield ("float32", "float64"), (False, True)
    if nin == 1:
        yield ("float32",), (True,)


CASES = [
    (name, dtypes, grads, changed)
    for name, nin in OPS.items()
    for dtypes, grads in _variants(nin)
    for changed in range(nin)
]


def _program(name, dtypes, grads, changed):
    def program(t):
        rng = np.random.default_rng(0)
        inputs = []
        for dtype, grad in zip(dtypes, grads, strict=True):
            x = t.tensor(rng.uniform(0.5, 1.5, 3), dtype=getattr(t, dtype), requires_grad=grad)
            inputs.append(x * 1 if grad else x)
        out = getattr(t, name)(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        inputs[changed].detach().mul_(2)
        out.sum().backward()
        return out

    return program


@pytest.mark.parametrize(("name", "dtypes", "grads", "changed"), CASES)
def test_saved_inputs_as_torch(name, dtypes, grads, changed):
    check(_program(name, dtypes, grads, changed))


OUTPUT_SAVERS = (
    "amax amin aminmax max min median nanmedian erfinv sgn sign exp tanh sigmoid sqrt relu "
    "abs sin log cumsum softmax special.i1 special.i0e special.i1e special.erfcx special.log_ndtr"
).split()


def _function(t, name):
    """``t.name``, or ``t.special.name`` for ``special.name``."""
    space, _, short = name.rpartition(".")
    return getattr(getattr(t, space) if space else t, short)


def _output_changed(name):
    def program(t):
        x = t.tensor(np.linspace(0.2, 0.7, 3), dtype=t.float64, requires_grad=True)
        function = _function(t, name)
        out = function(x * 1, 0) if name in ("cumsum", "softmax") else function(x * 1)
        out = out[0] if isinstance(out, tuple) else out
        out.mul_(2)
        out.sum().backward()
        return x.grad

    return program


@pytest.mark.parametrize("name", OUTPUT_SAVERS)
def test_saved_outputs_as_torch(name):
    check(_output_changed(name))


def _saved_output_changed(t):
    x = t.tensor([0.5, 1.5], requires_grad=True)
    y = t.hypot(x, t.tensor([1.0, 2.0]))
    y.mul_(2)
    y.sum().backward()


def _view_input_changed(t):
    x = t.tensor([0.5, 1.5], requires_grad=True) * 1
    v = x[None]
    y = v * t.tensor([[1.0, 2.0]], requires_grad=True)
    x.detach().add_(1)
    y.sum().backward()


@pytest.mark.parametrize("program", [_saved_output_changed, _view_input_changed])
def test_version_messages_as_torch(program):
    check(program)
