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

DEPARTURES: dict[str, str] = {}


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
    if name in DEPARTURES:
        assert ours != theirs, f"{name} matches now: take it off DEPARTURES"
        return
    assert ours == theirs


def test_table_size_and_departures():
    assert len(TENSOR_ROWS) + len(NN_ROWS) == len(ROWS), "row names must be unique"
    assert len(ROWS) >= 250
    assert set(DEPARTURES) <= set(ROWS)
    assert len(DEPARTURES) <= 0.02 * len(ROWS)
