"""Run one line of PyTorch code on a library and describe what happened, to compare two of them."""

from __future__ import annotations

import warnings

import numpy as np


def outcome(lib, source: str, *, prefix: int | None = None):
    """``(kind, text, warnings)``: the result's repr (kind 'ok') or the exception's type and text.

    ``prefix`` keeps only the first characters of an exception's text (for PyTorch messages that
    end in its dispatcher's kernel table).
    """
    scope = {"torch": lib, "np": np}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exec(f"__result = {source}", scope)
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            text = str(exc).replace("glassgrad", "torch")  # module names in AttributeErrors
            text = text if prefix is None else text[:prefix]
            kind = type(exc).__name__
        else:
            kind, text = "ok", _describe(scope["__result"])
    notes = [_note(w) for w in caught]
    return kind, text, notes


def _describe(value) -> str:
    text = repr(value)
    if " object at 0x" in text:  # an object without a repr of its own: its type is the answer
        return type(value).__name__
    return text.replace("glassgrad", "torch")


def _note(caught) -> tuple:
    return caught.category.__name__, str(caught.message).split(" (Triggered internally")[0]
