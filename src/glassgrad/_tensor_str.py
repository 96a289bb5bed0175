"""Tensor printing: PyTorch 2.13's ``repr(tensor)`` on NumPy arrays, character for character.

A port of ``torch/_tensor_str.py`` without the parts glassgrad has no use for (sparse,
quantized, meta, devices, named and nested tensors). Ported scripts compare printed output, so
every quirk of the original is kept on purpose, including the odd ones (noted where they appear).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import numpy as np

from .dtypes import bool_, default_complex, get_default_dtype, int64

__all__ = ["tensor_repr", "set_printoptions", "get_printoptions", "printoptions"]

_PREFIX = "tensor("


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

_PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set options for printing tensors, as ``torch.set_printoptions`` does.

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which output is summarised (default 1000).
        edgeitems: items shown at each end of a summarised dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'``; explicit arguments override it.
        sci_mode: force scientific notation on (True) or off (False); None decides per tensor.
    """
    if profile in _PROFILES:  # PyTorch silently ignores an unknown profile
        (
            PRINT_OPTS.precision,
            PRINT_OPTS.threshold,
            PRINT_OPTS.edgeitems,
            PRINT_OPTS.linewidth,
        ) = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    # Unlike the others, sci_mode is always assigned: any call without it resets it to None.
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dict that ``set_printoptions(**d)`` accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Context manager that sets print options and restores the previous ones on exit."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses one notation and one width for every element of a tensor, as PyTorch does."""

    def __init__(self, data: np.ndarray, floating: bool):
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = data.reshape(-1)
        if not floating:
            self.max_width = max([1, *map(len, map(str, flat.tolist()))])
            return
        values = flat[np.isfinite(flat) & (flat != 0)]
        if values.size == 0:
            # PyTorch stops here: no padding, and a forced sci_mode is ignored.
            return
        # The thresholds compare the values as the dtype rounds them, widened to float64 so that
        # float16 cannot overflow (float32(1e-4) is just below 1e-4 and so goes scientific).
        magnitudes = np.abs(values).astype(np.float64)
        smallest, largest = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(values == np.ceil(values)))
        if PRINT_OPTS.sci_mode is None:
            with np.errstate(over="ignore"):  # a ratio past float64's range is just "> 1000"
                ratio = largest / smallest
            self.sci_mode = bool(ratio > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        self.max_width = max(map(len, map(self._plain, values.tolist())))

    def _plain(self, value: float) -> str:
        """Format one finite value without padding, as the width scan sees it."""
        precision = PRINT_OPTS.precision
        if self.sci_mode:
            return f"{value:.{precision}e}"
        if self.int_mode:
            return f"{value:.0f}."  # the dot says "floating", so it counts toward the width
        return f"{value:.{precision}f}"

    def width(self) -> int:
        """Width every formatted element is padded to."""
        return self.max_width

    def format_complex(self, value: complex, imag: _Formatter) -> str:
        """Format a complex element: the real part by this formatter, the imaginary by
        ``imag`` (PyTorch sizes the parts apart), joined by its sign."""
        real_text = self.format(value.real)
        imag_text = (imag.format(value.imag) + "j").lstrip()
        if imag_text[0] in "+-":  # handles negative numbers, and -0.0
            return real_text + imag_text
        return real_text + "+" + imag_text

    def format(self, value) -> str:
        """Format one Python scalar, right-aligned to the common width."""
        if self.floating_dtype:
            precision = PRINT_OPTS.precision
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _vector_str(data: np.ndarray, indent: int, summarize: bool, formatter) -> str:
    """Format a 1-D array, wrapping so each line fits the line width."""
    element_length = formatter.width() + 2  # the element plus ", "
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        items = ["..."]
    elif summarize and data.shape[0] > 2 * edge:
        items = (
            [formatter.format(value) for value in data[:edge].tolist()]
            + [" ..."]
            + [formatter.format(value) for value in data[-edge:].tolist()]
        )
    else:
        items = [formatter.format(value) for value in data.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


class _ComplexFormatter:
    """A formatter for complex elements made of one for the real parts and one for the
    imaginary parts, as PyTorch's pair of formatters."""

    def __init__(self, data: np.ndarray):
        self.real = _Formatter(data.real, True)
        self.imag = _Formatter(data.imag, True)

    def width(self) -> int:
        return self.real.width() + self.imag.width() + 1  # an extra j

    def format(self, value) -> str:
        return self.real.format_complex(value, self.imag)


def _tensor_str_with_formatter(data: np.ndarray, indent: int, summarize: bool, formatter) -> str:
    """Format an array of any rank; rows of rank-k slices are separated by k-1 blank lines."""
    if data.ndim == 0:
        return formatter.format(data.item())
    if data.ndim == 1:
        return _vector_str(data, indent, summarize, formatter)
    edge = PRINT_OPTS.edgeitems
    size = data.shape[0]
    if summarize and size > 2 * edge:
        rows = [*range(edge), None, *range(size - edge, size)]
    else:
        rows = list(range(size))
    slices = [
        "..."
        if i is None
        else _tensor_str_with_formatter(data[i], indent + 1, summarize, formatter)
        for i in rows
    ]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(data: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows, so that only they decide notation and width."""
    edge = PRINT_OPTS.edgeitems
    if data.ndim == 0:
        return data
    if data.ndim == 1:
        if data.shape[0] > 2 * edge:
            # With edgeitems=0, data[-0:] is the whole array; PyTorch has the same quirk.
            return np.concatenate((data[:edge], data[-edge:]))
        return data
    if not edge:
        return np.empty([0] * data.ndim, dtype=data.dtype)
    size = data.shape[0]
    rows = [*range(edge), *range(size - edge, size)] if size > 2 * edge else range(size)
    return np.stack([_summarized_data(data[i]) for i in rows])


def _tensor_str(data: np.ndarray, floating: bool, indent: int) -> str:
    """Format a non-empty array's values (without prefix or suffixes)."""
    summarize = data.size > PRINT_OPTS.threshold
    shown = _summarized_data(data) if summarize else data
    if data.dtype.kind == "c":
        return _tensor_str_with_formatter(data, indent, summarize, _ComplexFormatter(shown))
    formatter = _Formatter(shown, floating)
    return _tensor_str_with_formatter(data, indent, summarize, formatter)


def _add_suffixes(
    tensor_str: str, suffixes: list[str], indent: int, force_newline: bool = False
) -> str:
    """Append ``, key=value`` items, moving one to a new line when it would pass the line width
    (the first one always, with ``force_newline``: a COO tensor's)."""
    parts = [tensor_str]
    # PyTorch's measure is two more than the last line's length (rfind gives -1 without a
    # newline); kept as is because it decides where suffixes wrap.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if force_newline or last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
            force_newline = False
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(data: np.ndarray, dtype, suffixes: list[str]) -> str:
    """Return what PyTorch's ``repr(tensor)`` prints for these values, dtype and extra suffixes.

    Args:
        data: the values, any shape (0-d included).
        dtype: a ``glassgrad.dtypes.dtype``.
        suffixes: items to print after the dtype, already formatted, e.g.
            ``['grad_fn=<MulBackward0>']`` or ``['requires_grad=True']``.

    >>> from glassgrad import dtypes
    >>> tensor_repr(np.array([1.0, 2.5]), dtypes.float64, ["requires_grad=True"])
    'tensor([1.0000, 2.5000], dtype=torch.float64, requires_grad=True)'
    """
    data = np.asarray(data, dtype=dtype.np)  # no copy when it already matches
    indent = len(_PREFIX)
    head: list[str] = []
    if data.size == 0:
        if data.ndim != 1:
            head.append(f"size={tuple(data.shape)}")
        # With no elements to show, even int64 and bool need their dtype spelled out.
        if dtype is not get_default_dtype():
            head.append(f"dtype={dtype!r}")
        tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            head.append(f"size={tuple(data.shape)}")
        if dtype not in (get_default_dtype(), default_complex(), int64, bool_):
            head.append(f"dtype={dtype!r}")
        tensor_str = _tensor_str(data, dtype.is_floating_point, indent)
    return _add_suffixes(_PREFIX + tensor_str, head + list(suffixes), indent)


def _part(name: str, data: np.ndarray, floating: bool, indent: int) -> str:
    """``name=tensor(...)`` for one array of a sparse tensor, as PyTorch prints it inside."""
    prefix = f"{name}=tensor("
    if data.size == 0:
        return f"{prefix}[], size={tuple(data.shape)})"
    return prefix + _tensor_str(data, floating, indent + len(prefix)) + ")"


def sparse_repr(tensor) -> str:
    """PyTorch's ``repr`` of a sparse tensor: its indices, values, size, nnz and layout."""
    sparse = tensor._data
    dtype = tensor.dtype
    indent = len(_PREFIX)
    suffixes = [f"size={tuple(sparse.shape)}", f"nnz={sparse.nnz}"]
    if dtype not in (get_default_dtype(), int64, bool_):
        suffixes.append(f"dtype={dtype!r}")
    floating = dtype.is_floating_point
    if sparse.indices is not None:
        arrays = [("indices", sparse.indices, False)]
    else:
        compressed, plain = (
            ("crow", "col") if sparse.layout._kind == "SparseCsr" else ("ccol", "row")
        )
        arrays = [(f"{compressed}_indices", sparse.compressed, False)]
        arrays.append((f"{plain}_indices", sparse.plain, False))
    arrays.append(("values", sparse.values, floating))
    body = (",\n" + " " * indent).join(_part(n, d, f, indent) for n, d, f in arrays)
    suffixes.append(f"layout={sparse.layout!r}")
    if tensor._grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(tensor._grad_fn).__name__}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    coo = sparse.indices is not None
    return _add_suffixes(_PREFIX + body, suffixes, indent, force_newline=coo)
