"""``torch.fft``: discrete Fourier transforms, built as PyTorch builds them.

Every transform is one of three primitives (``ops.fft.transforms``: complex to complex, real to
complex, Hermitian complex to real) after PyTorch's own steps: integer inputs become the
default float dtype, ``n``/``s`` cut the input (a slice) or pad it with zeros, a real input of
a complex transform is cast to complex, and the inverse real transforms conjugate. So results,
dtypes (float32 in, complex64 out) and ``grad_fn`` chains are PyTorch's.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad.ops.fft.transforms import _fft_c2c, _fft_c2r, _fft_r2c
from glassgrad.ops.nn.pad import pad as _pad
from glassgrad.ops.shape.join import roll as _roll
from glassgrad.tensor import Tensor, _wrap_dim

__all__ = [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "hfft",
    "ihfft",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "fftn",
    "ifftn",
    "rfftn",
    "irfftn",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]

_NORMS = {None: 0, "backward": 0, "ortho": 1, "forward": 2}


def _normalization(norm, forward: bool) -> int:
    """PyTorch's scaling for ``norm`` in this direction: 0 none, 1 by sqrt(n), 2 by n."""
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    mode = _NORMS[norm]
    return mode if forward or mode == 1 else 2 - mode


def _promote(input, function: str, require_complex=False):
    """Integers to the default float; complex where the transform needs it (a recorded cast)."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"fft_{function}(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    kind = input._data.dtype
    if kind.kind in "iub":
        input = input.to(_dt.get_default_dtype())
    elif kind not in (np.float32, np.float64, np.complex64, np.complex128):
        raise RuntimeError(f"Unsupported dtype {input.dtype._legacy[:-6]}")
    if require_complex and not input.is_complex():
        input = input.to(input.dtype.to_complex())
    return input


def _require_real(input, function: str) -> None:
    if input.is_complex():
        raise RuntimeError(
            f"{function} expects a real input tensor, but got {input.dtype._legacy[:-6]}"
        )


def _count(n, function: str, name: str = "n"):
    if n is not None and (not isinstance(n, (int, np.integer)) or isinstance(n, bool)):
        raise TypeError(f"fft_{function}(): argument '{name}' must be int, not {type(n).__name__}")
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def _resize(input, dims, sizes):
    """``input`` cut (slices) or zero-padded (one pad) to ``sizes`` along ``dims``."""
    widths = [0] * (2 * input.ndim)
    for dim, size in zip(dims, sizes, strict=True):
        have = input.shape[dim]
        if size == -1 or size == have:
            continue
        if have > size:
            input = input.narrow(dim, 0, size)
        else:
            widths[2 * (input.ndim - 1 - dim) + 1] = size - have
    return _pad(input, widths) if any(widths) else input


def _shape_and_dims(input, s, dim, function):
    """PyTorch's ``canonicalize_fft_shape_and_dim_args``: the dims and the sizes along them."""
    ndim = input.ndim
    if isinstance(dim, int):
        dim = (dim,)
    if s is not None:
        s = [_count(n, function, "s") if n != -1 else -1 for n in s]
    if dim is not None:
        dims = [_wrap_dim(d, ndim, scalar_ok=False) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
        if s is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
    elif s is not None:
        if len(s) > ndim:
            raise RuntimeError(
                f"Got shape with {len(s)} values but input tensor only has {ndim} dimensions."
            )
        dims = list(range(ndim - len(s), ndim))
    else:
        dims = list(range(ndim))
    sizes = list(s) if s is not None else [input.shape[d] for d in dims]
    sizes = [input.shape[d] if n == -1 else n for d, n in zip(dims, sizes, strict=True)]
    return dims, sizes


# -- one dimension -----------------------------------------------------------------------------
def _c2c(function, input, n, dim, norm, forward):
    dim = _wrap_dim(dim, input.ndim, scalar_ok=False)
    if _count(n, function) is not None:
        input = _resize(input, [dim], [n])
    return _fft_c2c(input, (dim,), _normalization(norm, forward), forward)


def _r2c(function, input, n, dim, norm, forward, onesided):
    _require_real(input, function)
    input = _promote(input, function)
    dim = _wrap_dim(dim, input.ndim, scalar_ok=False)
    if _count(n, function) is not None:
        input = _resize(input, [dim], [n])
    out = _fft_r2c(input, (dim,), _normalization(norm, forward), onesided)
    return out if forward else out.conj()


def _c2r(function, input, n, dim, norm, forward):
    input = _promote(input, function, require_complex=True)
    dim = _wrap_dim(dim, input.ndim, scalar_ok=False)
    n = _count(n, function)
    size = n if n is not None else 2 * (input.shape[dim] - 1)
    if size < 1:
        raise RuntimeError(f"Invalid number of data points ({size}) specified")
    if n is not None:
        input = _resize(input, [dim], [n // 2 + 1])
    if forward:
        input = input.conj()
    return _fft_c2r(input, (dim,), _normalization(norm, forward), size)


def fft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The one-dimensional discrete Fourier transform of ``input`` along ``dim``."""
    input = _promote(input, "fft")
    if input.is_complex():
        return _c2c("fft", input, n, dim, norm, True)
    return _r2c("fft", input, n, dim, norm, True, False)


def ifft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The one-dimensional inverse discrete Fourier transform along ``dim``."""
    input = _promote(input, "ifft")
    if input.is_complex():
        return _c2c("ifft", input, n, dim, norm, False)
    return _r2c("ifft", input, n, dim, norm, False, False)


def rfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The one-sided transform of a real ``input`` (``n // 2 + 1`` frequencies)."""
    return _r2c("rfft", input, n, dim, norm, True, True)


def irfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The inverse of ``rfft``: a real signal of length ``n`` (default ``2 * (m - 1)``)."""
    return _c2r("irfft", input, n, dim, norm, False)


def hfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The transform of a Hermitian-symmetric signal given by its one-sided half (real)."""
    return _c2r("hfft", input, n, dim, norm, True)


def ihfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The inverse of ``hfft``: the one-sided inverse transform of a real ``input``."""
    return _r2c("ihfft", input, n, dim, norm, False, True)


# -- several dimensions ------------------------------------------------------------------------
def _c2c_n(function, input, s, dim, norm, forward):
    input = _promote(input, function, require_complex=True)
    dims, sizes = _shape_and_dims(input, s, dim, function)
    input = _resize(input, dims, sizes)
    if not dims:
        return input.clone()
    return _fft_c2c(input, tuple(dims), _normalization(norm, forward), forward)


def fftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The N-dimensional transform over ``dim`` (all dims by default; the last ``len(s)``)."""
    return _c2c_n("fftn", input, s, dim, norm, True)


def ifftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The N-dimensional inverse transform."""
    return _c2c_n("ifftn", input, s, dim, norm, False)


def fft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """The two-dimensional transform (over the last two dims by default)."""
    return _c2c_n("fft2", input, s, dim, norm, True)


def ifft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """The two-dimensional inverse transform."""
    return _c2c_n("ifft2", input, s, dim, norm, False)


def _rfftn(function, input, s, dim, norm):
    _require_real(input, function)
    input = _promote(input, function)
    dims, sizes = _shape_and_dims(input, s, dim, function)
    if not dims:
        raise RuntimeError(f"{function} must transform at least one axis")
    input = _resize(input, dims, sizes)
    return _fft_r2c(input, tuple(dims), _normalization(norm, True), True)


def _irfftn(function, input, s, dim, norm):
    input = _promote(input, function, require_complex=True)
    dims, sizes = _shape_and_dims(input, s, dim, function)
    if not dims:
        raise RuntimeError(f"{function} must transform at least one axis")
    given = s is not None and s[-1] != -1
    last = sizes[-1] if given else 2 * (input.shape[dims[-1]] - 1)
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified")
    input = _resize(input, dims, sizes[:-1] + [last // 2 + 1])
    return _fft_c2r(input, tuple(dims), _normalization(norm, False), last)


def rfftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The N-dimensional transform of a real input, one-sided along the last of ``dim``."""
    return _rfftn("rfftn", input, s, dim, norm)


def irfftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The inverse of ``rfftn``: a real result."""
    return _irfftn("irfftn", input, s, dim, norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """The two-dimensional one-sided transform of a real input."""
    return _rfftn("rfft2", input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """The inverse of ``rfft2``."""
    return _irfftn("irfft2", input, s, dim, norm)


# -- frequencies and shifts --------------------------------------------------------------------
def _frequencies(values, n, d, dtype, requires_grad):
    from glassgrad.creation import tensor

    target = _dt.dtype_arg(dtype, "fftfreq") or _dt.get_default_dtype()
    data = values.astype(target.np)
    if n:  # (PyTorch multiplies by 1 / (n * d), in the result's dtype)
        data = data * target.np.type(1.0 / (n * float(d)))
    return tensor(data, dtype=target, requires_grad=requires_grad)


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``."""
    values = np.concatenate([np.arange((n + 1) // 2), np.arange(-(n // 2), 0)])
    return _frequencies(values, n, d, dtype, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """The sample frequencies of ``rfft`` of an ``n``-point signal (``n // 2 + 1`` of them)."""
    return _frequencies(np.arange(n // 2 + 1), n, d, dtype, requires_grad)


def _shift(input, dim, inverse):
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
    shifts = [(input.shape[d] + inverse) // 2 for d in dims]
    return _roll(input, shifts, dims)


def fftshift(input, dim=None) -> Tensor:
    """Move the zero frequency to the middle of ``dim`` (all dims by default)."""
    return _shift(input, dim, 0)


def ifftshift(input, dim=None) -> Tensor:
    """The inverse of ``fftshift``."""
    return _shift(input, dim, 1)
