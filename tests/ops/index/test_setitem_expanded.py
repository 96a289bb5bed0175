"""Writes into ``expand()``ed tensors: PyTorch refuses a write only where the written-to part has
two elements on one memory location; other writes reach every row (vs PyTorch 2.13)."""

from __future__ import annotations

import warnings

import pytest
import torch

import glassgrad as gg

CASES = {
    "row": "b[0] = t.tensor([5., 6.])",
    "element": "b[0, 1] = 9.",
    "one-row slice": "b[0:1] = 9.",
    "chained": "b[0][1] = 9.",
    "view add_": "b[0].add_(1)",
    "fill_": "b.fill_(2)",
    "column": "b[:, 0] = 7",
    "ellipsis column": "b[..., 1] = 9.",
    "whole add_": "b.add_(1)",
    "copy_": "b.copy_(t.ones(3, 2))",
    "out of bounds": "b[5] = 1.",
    "index list": "b[[0]] = t.tensor([5., 6.])",
    "mask": "b[b > 1] = 9.",
}


def _run(lib, code):
    namespace = {"t": lib, "b": lib.tensor([1.0, 2.0]).expand(3, 2)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exec(code, namespace)
        except Exception as error:  # noqa: BLE001 - the error is what is compared
            return type(error).__name__, str(error).split("\n")[0], []
    messages = [str(w.message).split(" (Triggered")[0] for w in caught]
    return "ok", namespace["b"].tolist(), messages


@pytest.mark.parametrize("case", list(CASES))
def test_write_into_expanded_tensor_like_pytorch(case):
    assert _run(gg, CASES[case]) == _run(torch, CASES[case])


def _graph_write(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    b = y.expand(3, 2)
    b[0, 1] = 7.0
    (y * lib.tensor([1.0, 3.0])).sum().backward()
    return b.tolist(), y.tolist(), x.grad.tolist(), type(y.grad_fn).__name__


def test_write_through_an_expanded_view_in_the_graph():
    assert _graph_write(gg) == _graph_write(torch)


MORE = {
    "mask, 0-d tensor": "b[b > 1] = t.tensor(9.)",
    "mask, tensor": "b[b > 1] = t.tensor([9., 9., 9.])",
    "row mask": "b[t.tensor([True, False, True])] = t.tensor([9., 8.])",
    "basic then mask": "b[0, t.tensor([True, False])] = 5.",
}


@pytest.mark.parametrize("case", list(MORE))
def test_advanced_writes_into_expanded_tensors_warn_like_pytorch(case):
    assert _run(gg, MORE[case]) == _run(torch, MORE[case])
