"""Anomaly mode against PyTorch: NaN errors, the forward traceback warning, flags, metadata."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest


def _trim(message):
    """Keep the frames of this file only (the callers above differ between the two runs)."""
    if "Traceback of forward call" not in message:
        return message
    head, _, rest = message.partition("error:\n")
    frames = re.findall(r'  File "[^"]*", line \d+, in \w+\n    [^\n]*\n', rest)
    tail = rest[rest.rindex(" (Triggered") :]
    kept = [f for f in frames if __file__ in f]
    return head + "error:\n" + "".join(kept) + tail


def _outcome(case, lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = case(lib)
        except Exception as error:  # noqa: BLE001
            found = ("raised", type(error).__name__, str(error))
        flags = (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled())
    return found, flags, [(w.category.__name__, _trim(str(w.message))) for w in caught]


def _sqrt_graph(lib):
    x = lib.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    return x, (x.sqrt() * 0).sum()


def nan_in_backward(lib):
    with lib.autograd.detect_anomaly():
        x, y = _sqrt_graph(lib)
        y.backward()


def nan_unchecked(lib):
    with lib.autograd.detect_anomaly(check_nan=False):
        x, y = _sqrt_graph(lib)
        y.backward()
    return np.isnan(x.grad.numpy()).tolist()


def nan_graph_made_before(lib):
    x, y = _sqrt_graph(lib)
    with lib.autograd.set_detect_anomaly(True):
        y.backward()


def inplace_error(lib):
    with lib.autograd.detect_anomaly(check_nan=False):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        z = y.sum() * y
        y.add_(1)
        z.sum().backward()


def set_detect_anomaly_call(lib):
    lib.autograd.set_detect_anomaly(True, check_nan=False)
    try:
        flags = (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled())
    finally:
        lib.autograd.set_detect_anomaly(False)
    return flags


def flags_inside(lib):
    with lib.autograd.detect_anomaly(check_nan=False):
        return lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()


def decorator(lib):
    @lib.autograd.detect_anomaly()
    def run():
        x, y = _sqrt_graph(lib)
        y.backward()

    run()


def custom_function_nan(lib):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    with lib.autograd.detect_anomaly():
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        Bad.apply(a).sum().backward()


def double_backward_nan(lib):
    with lib.autograd.detect_anomaly():
        x = lib.tensor([0.0, 4.0], requires_grad=True)
        (g,) = lib.autograd.grad(x.sqrt().sum(), x, create_graph=True)
        lib.autograd.grad(g.sum(), x)


def autograd_grad_nan(lib):
    with lib.autograd.detect_anomaly():
        x, y = _sqrt_graph(lib)
        lib.autograd.grad(y, x)


def no_anomaly_nan_passes(lib):
    x, y = _sqrt_graph(lib)
    y.backward()
    return np.isnan(x.grad.numpy()).tolist()


def metadata_traceback(lib):
    with lib.autograd.detect_anomaly():
        x, y = _sqrt_graph(lib)
    frames = y.grad_fn.metadata["traceback_"]
    return [f for f in frames if __file__ in f]


CASES = [
    nan_in_backward,
    nan_unchecked,
    nan_graph_made_before,
    inplace_error,
    set_detect_anomaly_call,
    flags_inside,
    decorator,
    custom_function_nan,
    double_backward_nan,
    autograd_grad_nan,
    no_anomaly_nan_passes,
    metadata_traceback,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_anomaly_matches_torch(case):
    import torch

    import glassgrad

    assert _outcome(case, glassgrad) == _outcome(case, torch)


def test_note_names_the_source_line():
    import glassgrad

    with pytest.raises(RuntimeError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nan_in_backward(glassgrad)
    (note,) = info.value.__notes__
    assert note.startswith(f"glassgrad: SqrtBackward0 was recorded at {__file__}:")
    assert note.endswith("in _sqrt_graph: return x, (x.sqrt() * 0).sum()")


def test_mode_off_leaves_the_engine_as_it_was():
    import glassgrad
    from glassgrad.autograd import node, record

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with glassgrad.autograd.detect_anomaly():
            assert record._next_seq is not node.next_seq
    assert record._next_seq is node.next_seq
    x = glassgrad.tensor([1.0], requires_grad=True)
    assert "traceback_" not in (x * 2).grad_fn.metadata
