"""``assert_close`` as PyTorch's ``torch.testing``: the same pairing of inputs (tensors, NumPy
arrays, numbers, booleans, None, sequences, mappings), the same default tolerances per dtype and
the same messages, word for word."""

from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad.tensor import Tensor

# {dtype name: (rtol, atol)}, PyTorch's table; other dtypes compare exactly
_DTYPE_PRECISIONS = {
    "float16": (0.001, 1e-5),
    "bfloat16": (0.016, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}


class _Failure(Exception):
    """A mismatch found somewhere below the top pair: its exception type, text and item path."""

    def __init__(self, kind: type, msg: str, path=()) -> None:
        super().__init__(msg)
        self.kind, self.msg, self.path = kind, msg, tuple(path)

    def to_error(self, msg) -> Exception:
        if isinstance(msg, str):
            return self.kind(msg)
        text = self.msg
        if self.path:
            text += "\n\nThe failure occurred for item " + "".join(str([i]) for i in self.path)
        return self.kind(msg(text) if callable(msg) else text)


def _tolerances(dtypes, rtol, atol, path):
    if (rtol is None) ^ (atol is None):
        raise _Failure(
            ValueError,
            "Both 'rtol' and 'atol' must be either specified or omitted, "
            f"but got no {'rtol' if rtol is None else 'atol'}.",
            path,
        )
    if rtol is not None:
        return rtol, atol
    pairs = [_DTYPE_PRECISIONS.get(name, (0.0, 0.0)) for name in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _mismatch(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol) -> str:
    equality = rtol == 0 and atol == 0

    def line(kind, diff, idx, tol):
        text = (
            f"{kind.title()} difference: {diff}"
            if idx is None
            else (f"Greatest {kind} difference: {diff} at index {idx}")
        )
        return text + ("" if equality else f" (up to {tol} allowed)") + "\n"

    text = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    text += f"{extra.strip()}\n" if extra else ""
    text += line("absolute", abs_diff, abs_idx, atol) + line("relative", rel_diff, rel_idx, rtol)
    return text.strip()


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, path):
    if check_dtype and type(actual) is not type(expected):
        raise _Failure(
            AssertionError,
            f"The (d)types do not match: {type(actual)} != {type(expected)}.",
            path,
        )
    kinds = [
        "complex128" if isinstance(v, complex) else "float64" if isinstance(v, float) else "int64"
        for v in (actual, expected)
    ]
    rtol, atol = _tolerances(kinds, rtol, atol, path)
    if actual == expected or (equal_nan and actual != actual and expected != expected):
        return
    if abs(actual - expected) <= atol + rtol * abs(expected):
        return
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    extra = f"Expected {expected} but got {actual}."
    text = _mismatch("Scalars", extra, abs_diff, None, atol, rel_diff, None, rtol)
    raise _Failure(AssertionError, text, path)


def _attribute_error(name, actual, expected, path) -> _Failure:
    return _Failure(
        AssertionError,
        f"The values for attribute '{name}' do not match: {actual} != {expected}.",
        path,
    )


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, check_stride, path):
    from glassgrad.creation import as_tensor

    actual = actual if isinstance(actual, Tensor) else as_tensor(actual)
    expected = expected if isinstance(expected, Tensor) else as_tensor(expected)
    if actual.shape != expected.shape:
        raise _attribute_error("shape", actual.shape, expected.shape, path)
    if check_dtype and actual.dtype != expected.dtype:
        raise _attribute_error("dtype", actual.dtype, expected.dtype, path)
    if check_stride and actual.stride() != expected.stride():
        raise _attribute_error("stride()", actual.stride(), expected.stride(), path)
    rtol, atol = _tolerances(
        (str(actual.dtype).split(".")[-1], str(expected.dtype).split(".")[-1]), rtol, atol, path
    )
    a, e = actual._data, expected._data
    if a.dtype != e.dtype:
        common = np.result_type(a, e) if a.dtype.kind == e.dtype.kind else _promoted(a, e)
        a, e = a.astype(common), e.astype(common)
    matches = _isclose(a, e, rtol, atol, equal_nan)
    if matches.all():
        return
    if a.ndim == 0:
        extra = f"Expected {e.item()} but got {a.item()}."
        abs_diff = abs(a.item() - e.item())
        rel_diff = float("inf") if e.item() == 0 else abs_diff / abs(e.item())
        text = _mismatch("Scalars", extra, abs_diff, None, atol, rel_diff, None, rtol)
        raise _Failure(AssertionError, text, path)
    raise _Failure(AssertionError, _tensor_message(a, e, matches, rtol, atol), path)


def _promoted(a, e) -> np.dtype:
    """``torch.promote_types`` of the two arrays' dtypes."""
    return _dt.promote_types(_dt.from_numpy_dtype(a.dtype), _dt.from_numpy_dtype(e.dtype)).np


def _isclose(a, e, rtol, atol, equal_nan) -> np.ndarray:
    """``torch.isclose``: equal values (infinities too) match; NaN only with ``equal_nan``."""
    if a.dtype.kind in "biu":
        if rtol == 0 and atol == 0:
            return a == e
        a, e = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(a - e)
        close = (a == e) | (np.isfinite(error) & (error <= atol + np.abs(rtol * e)))
    if equal_nan:
        close = close | (np.isnan(a) & np.isnan(e))
    return close


def _tensor_message(a, e, matches, rtol, atol) -> str:
    count = matches.size
    mismatches = count - int(matches.sum())
    extra = f"Mismatched elements: {mismatches} / {count} ({mismatches / count:.1%})"
    flat_a, flat_e, flat_m = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if flat_a.dtype.kind in "biu":  # PyTorch upcasts integers to int64 and divides in float32
        flat_a, flat_e = flat_a.astype(np.int64), flat_e.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(flat_a - flat_e)
        abs_diff[flat_m] = 0
        divisor = np.abs(flat_e)
        if abs_diff.dtype.kind in "iu":
            rel_diff = abs_diff.astype(np.float32) / divisor.astype(np.float32)
        else:
            rel_diff = abs_diff / divisor
        rel_diff[flat_m] = 0
    abs_idx, rel_idx = _argmax(abs_diff), _argmax(rel_diff)
    return _mismatch(
        "Tensor-likes",
        extra,
        abs_diff[abs_idx].item(),
        tuple(int(i) for i in np.unravel_index(abs_idx, a.shape)),
        atol,
        rel_diff[rel_idx].item(),
        tuple(int(i) for i in np.unravel_index(rel_idx, a.shape)),
        rtol,
    )


def _argmax(values) -> int:
    """``torch.max(values, 0)``'s index: the first NaN if any, else the first maximum."""
    if values.dtype.kind in "fc":
        nans = np.flatnonzero(np.isnan(values))
        if nans.size:
            return int(nans[0])
    return int(np.argmax(values))


def _compare(actual, expected, options, path=()):
    """Pair ``actual`` with ``expected`` as PyTorch's ``originate_pairs`` does, and compare."""
    if actual is None or expected is None:
        if actual is not expected:
            raise _Failure(AssertionError, f"None mismatch: {actual} is not {expected}", path)
        return
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Failure(
                AssertionError,
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                path,
            )
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _compare(a, e, options, (*path, index))
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(
        expected, collections.abc.Mapping
    ):
        _compare_mappings(actual, expected, options, path)
        return
    if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
        if bool(actual) is not bool(expected):
            raise _Failure(AssertionError, f"Booleans mismatch: {actual} is not {expected}", path)
        return
    rtol, atol, equal_nan, check_dtype, check_stride = options
    if _is_number(actual) and _is_number(expected):
        _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, path)
        return
    if _same_tensor_kind(actual, expected):
        _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, check_stride, path)
        return
    raise _Failure(
        TypeError,
        f"No comparison pair was able to handle inputs of type {type(actual)} and "
        f"{type(expected)}.",
        path,
    )


def _compare_mappings(actual, expected, options, path):
    keys_a, keys_e = set(actual.keys()), set(expected.keys())
    if keys_a != keys_e:
        missing, extra = sorted(keys_e - keys_a), sorted(keys_a - keys_e)
        raise _Failure(
            AssertionError,
            "The keys of the mappings do not match:\n"
            f"Missing keys in the actual mapping: {missing}\n"
            f"Additional keys in the actual mapping: {extra}",
            path,
        )
    keys: Any = actual.keys()
    try:
        keys = sorted(keys)
    except Exception:  # noqa: BLE001 - PyTorch keeps the order of keys that do not sort
        keys = list(keys)
    for key in keys:
        _compare(actual[key], expected[key], options, (*path, key))


def _is_sequence(value) -> bool:
    return isinstance(value, collections.abc.Sequence) and not isinstance(value, str)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, complex)) and not isinstance(value, bool)


def _same_tensor_kind(actual, expected) -> bool:
    return (isinstance(actual, Tensor) and isinstance(expected, Tensor)) or (
        isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)
    )


def assert_close(
    actual,
    expected,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg=None,
) -> None:
    """Assert that ``actual`` and ``expected`` are close (``|a - e| <= atol + rtol * |e|``),
    with PyTorch's default tolerances per dtype and its mismatch messages."""
    __tracebackhide__ = True
    try:
        _compare(actual, expected, (rtol, atol, equal_nan, check_dtype, check_stride))
    except _Failure as failure:
        raise failure.to_error(msg) from None
