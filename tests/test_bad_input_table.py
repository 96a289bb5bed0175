"""The bad-input table: each row runs the same lines on PyTorch 2.13 and on glassgrad, which must
raise the same exception type with the same message (``str(exc)``), word for word.

The rows live in ``bad_input_rows_tensor`` (creation, dtypes, indexing, shape ops, reductions,
linalg, huge sizes) and ``bad_input_rows_nn`` (layers, losses, optimizers, backward misuse).
``DEPARTURES`` lists the rows where glassgrad knowingly differs, each with the reason; at most 2%
of the table may be there.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import glassgrad
from bad_input_rows_nn import ROWS as NN_ROWS
from bad_input_rows_tensor import ROWS as TENSOR_ROWS

ROWS = dict(TENSOR_ROWS + NN_ROWS)

DEPARTURES = {
    # PyTorch's C++ argument parser lists every overload it tried; glassgrad's functions have one
    # signature and Python's own TypeError for a missing argument.
    "linspace no steps": "overload listing of PyTorch's argument parser",
    "randint no size": "overload listing of PyTorch's argument parser",
    "sum dtype bad": "overload listing of PyTorch's argument parser",
    "view no args": "overload listing of PyTorch's argument parser",
    "full no value": "PyTorch's parser words a missing argument its own way",
    "cumsum no dim": "PyTorch's parser words a missing argument its own way",
    "reshape no args": "PyTorch's parser words a missing argument its own way",
    "permute no args": "PyTorch's parser words a missing argument its own way",
}

# Rows still wrong in glassgrad, to be fixed (not deliberate): each must keep failing until it is
# fixed and taken off this list.
PENDING = {
    "zeros tuple float": "pos numbering of PyTorch's unpack error",
    "copy_ from list": "copy_ accepts a list",
    "lerp mixed dtypes": "lerp promotes instead of refusing mixed dtypes",
    "lerp weight dtype": "lerp promotes instead of refusing mixed dtypes",
    "where mixed cond": "dtype named Float32 instead of Float",
    "where shape mismatch": "NumPy's broadcast error",
    "clamp_ int tensor bound": "NumPy's broadcast error",
    "norm bad p": "NumPy's conversion error",
    "full_like str": "NumPy's conversion error",
    "linalg norm bad ord": "string ord of vector norms",
    "linear float features": "pos numbering of PyTorch's unpack error",
    "bilinear wrong": "bilinear's own shape checks",
    "from_numpy object": "list of dtypes in the message",
    "conv2d double input": "conv's dtype check",
    "F.conv2d weight 3d": "conv's weight rank check",
    "embedding list input": "embedding's argument type check",
    "lstm hidden not tuple": "LSTM's hidden state check",
    "lstm double input": "RNN's dtype check",
    "empty strided": "empty's second positional argument",
    "masked_fill float mask": "dtype named float32 instead of float",
    "masked_fill shape": "operands swapped in the broadcast message",
    "index_add out of range": "index_add's bound check",
    "reshape negative": "reshape's negative size check",
}


def _outcome(lib, code):
    """``(type name, message)`` of what ``code`` raises under ``lib``, or None."""
    namespace = {"torch": lib, "nn": lib.nn, "F": lib.nn.functional, "optim": lib.optim, "np": np}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(code, namespace)
        except Exception as exc:  # noqa: BLE001 - any exception is an outcome to compare
            # PyTorch appends its C++ stack to a few messages; the message is what precedes it
            return type(exc).__name__, re.split(r"\nException raised from ", str(exc))[0]
    return None


@pytest.mark.parametrize("name", list(ROWS))
def test_row_raises_as_torch(name):
    code = ROWS[name]
    theirs = _outcome(torch, code)
    assert theirs is not None, f"not a bad input for PyTorch: {code}"
    ours = _outcome(glassgrad, code)
    if name in DEPARTURES or name in PENDING:
        assert ours != theirs, f"{name} matches now: take it off DEPARTURES or PENDING"
        return
    assert ours == theirs


def test_table_size_and_departures():
    assert len(TENSOR_ROWS) + len(NN_ROWS) == len(ROWS), "row names must be unique"
    assert len(ROWS) >= 250
    assert set(DEPARTURES) | set(PENDING) <= set(ROWS)
    assert len(DEPARTURES) <= 0.02 * len(ROWS)
