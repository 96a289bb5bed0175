"""``torch.stft`` and ``torch.istft``: short-time Fourier transforms, composed of the ops as
PyTorch composes them (pad, frames, window, one transform per frame; overlap-add back)."""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad import _bfloat16
from glassgrad.ops.fft.transforms import _fft_c2c, _fft_c2r, _fft_r2c
from glassgrad.tensor import Tensor, tensor_method

_NEED_RETURN_COMPLEX = (
    "stft requires the return_complex parameter be given for real inputs, and will further "
    "require that return_complex=True in a future PyTorch release."
)
_RECTANGULAR = (
    "A window was not provided. A rectangular window will be applied,which is known to cause "
    "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
    "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
    "window, explicitly set `window=torch.ones(n_fft, device=<device>)`."
)
_REAL_DEPRECATED = (
    "stft with return_complex=False is deprecated. In a future pytorch release, stft will "
    "return complex tensors for all inputs, and return_complex=False will raise an error.\n"
    "Note: you can still call torch.view_as_real on the complex output to recover the old "
    "return format."
)
_WARNED: set = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:  # (PyTorch's TORCH_WARN_ONCE)
        _WARNED.add(message)
        warnings.warn(message, UserWarning, stacklevel=3)


def _full_window(window, n_fft, win_length, like):
    """The window centred in ``n_fft`` samples (zeros around a shorter one), or None."""
    if win_length == n_fft:
        return window
    from glassgrad.creation import ones, zeros

    dtype = window.dtype if window is not None else like.dtype.to_real()
    full = zeros(n_fft, dtype=dtype)
    left = (n_fft - win_length) // 2
    full[left : left + win_length] = window if window is not None else ones(win_length)
    return full


def stft(
    input,
    n_fft,
    hop_length=None,
    win_length=None,
    window=None,
    center=True,
    pad_mode="reflect",
    normalized=False,
    onesided=None,
    return_complex=None,
) -> Tensor:
    """The short-time Fourier transform: ``(n_fft // 2 + 1 or n_fft, frames)`` per signal."""
    if return_complex is None and not (
        input.is_complex() or (window is not None and window.is_complex())
    ):
        raise RuntimeError(_NEED_RETURN_COMPLEX)
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if center:
        from glassgrad.ops.nn.pad import pad

        dims = input.ndim
        padded = pad(input.view([1] * (3 - dims) + list(input.shape)), [n_fft // 2] * 2, pad_mode)
        input = padded.view(list(padded.shape[-dims:]))
    return _stft(input, n_fft, hop_length, win_length, window, normalized, onesided, return_complex)


def _stft(input, n_fft, hop_length, win_length, window, normalized, onesided, return_complex):
    return_complex = (
        return_complex
        if return_complex is not None
        else input.is_complex() or (window is not None and window.is_complex())
    )
    if not return_complex:
        _warn_once(_REAL_DEPRECATED)
    if window is None:
        _warn_once(_RECTANGULAR)
    call = _call(input, n_fft, hop_length, win_length, window, normalized, onesided, return_complex)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{call} : expected a 1D or 2D tensor")
    frames = input if input.ndim == 2 else input.unsqueeze(0)
    length = frames.shape[1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"{call} : expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"{call} : expected hop_length > 0, but got hop_length={hop_length}")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(
            f"{call} : expected 0 < win_length <= n_fft, but got win_length={win_length}"
        )
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        raise RuntimeError(
            f"{call} : expected a 1D window tensor of size equal to win_length={win_length}, "
            f"but got window with size {list(window.shape)}"
        )
    window = _full_window(window, n_fft, win_length, frames)
    frames = frames.unfold(-1, n_fft, hop_length)
    if window is not None:
        frames = frames * window
    if _bfloat16.is_bfloat16(frames._data):  # (a float32 window promotes bfloat16 frames)
        raise RuntimeError("MKL FFT doesn't support tensors of type: BFloat16")
    complex_input = frames.is_complex()
    onesided = not complex_input if onesided is None else onesided
    normalization = 1 if normalized else 0
    if complex_input:
        if onesided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = _fft_c2c(frames, (2,), normalization, True)
    else:
        out = _fft_r2c(frames, (2,), normalization, onesided)
    out = out.transpose_(1, 2)
    if input.ndim == 1:
        out = out.squeeze_(0)
    if return_complex:
        return out
    from glassgrad.ops.elementwise.complex import view_as_real

    return view_as_real(out)


def _call(input, n_fft, hop, win, window, normalized=False, onesided=None, complex_=None):
    """PyTorch's description of an stft call, which its errors start with."""
    shape = ", ".join(str(n) for n in input.shape)
    window_text = "None"
    if window is not None:
        window_text = f"torch.{window.dtype._legacy}{{[{', '.join(map(str, window.shape))}]}}"
    onesided_text = "None" if onesided is None else int(bool(onesided))
    return (
        f"stft(torch.{input.dtype._legacy}[{shape}], n_fft={n_fft}, hop_length={hop}, "
        f"win_length={win}, window={window_text}, normalized={int(bool(normalized))}, "
        f"onesided={onesided_text}, return_complex={int(bool(complex_))}, "
        "align_to_window=None)"
    )


def istft(
    input,
    n_fft,
    hop_length=None,
    win_length=None,
    window=None,
    center=True,
    normalized=False,
    onesided=None,
    length=None,
    return_complex=False,
) -> Tensor:
    """The inverse of ``stft``: overlap-add of the frames' inverse transforms, divided by the
    summed squared window (PyTorch's least-squares inverse)."""
    from glassgrad.creation import ones

    if not input.is_complex():
        raise RuntimeError(
            "istft requires a complex-valued input tensor matching the output from stft with "
            "return_complex=True."
        )
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    batched = input.ndim == 3
    spec = input if batched else input.unsqueeze(0)
    n_frames = spec.shape[-1]
    fft_size = spec.shape[-2]
    kind = "ComplexFloat" if input.dtype.name == "complex64" else "ComplexDouble"
    window_text = (
        "None" if window is None else f"torch.{window.dtype._legacy}{{[{window.numel()}]}}"
    )
    call = (
        f"istft(CPU{kind}Type[{', '.join(map(str, input.shape))}], n_fft={n_fft}, "
        f"hop_length={hop_length}, win_length={win_length}, window={window_text}, "
        f"center={int(center)}, normalized={int(normalized)}, onesided="
        f"{'None' if onesided is None else int(onesided)}, length="
        f"{'None' if length is None else length}, return_complex={int(return_complex)}) : "
    )
    onesided = fft_size != n_fft if onesided is None else onesided
    expected = "n_fft / 2 + 1 when onesided=True" if onesided else "n_fft when onesided=False"
    if fft_size != (n_fft // 2 + 1 if onesided else n_fft):
        raise RuntimeError(
            f"{call}expected the frequency dimension (3rd to the last) of the input tensor to "
            f"match {expected}, but got {fft_size}"
        )
    window = _full_window(window, n_fft, win_length, spec)
    if window is None:
        window = ones(n_fft, dtype=spec.dtype.to_real())
    normalization = 1 if normalized else 2
    frames = spec.transpose(1, 2)  # (batch, frames, frequencies)
    if return_complex:
        if onesided:
            raise RuntimeError("cannot have onesided output if window or input is complex")
        frames = _fft_c2c(frames, (2,), normalization, False)
    else:
        if not onesided:
            frames = frames.narrow(-1, 0, n_fft // 2 + 1)
        frames = _fft_c2r(frames, (2,), normalization, n_fft)
    frames = frames * window
    expected = n_fft + hop_length * (n_frames - 1)
    signal = _overlap_add(frames, hop_length, expected)
    envelope = _overlap_add((window * window).expand(1, n_frames, n_fft), hop_length, expected)
    start = n_fft // 2 if center else 0
    end = expected - n_fft // 2 if center else expected
    if length is not None:
        end = start + length
    signal = signal[:, start:end]
    envelope = envelope[:, start:end]
    if bool(envelope.abs().min()._data < 1e-11):
        raise RuntimeError("window overlap add min: 1")
    signal = signal / envelope
    if end > expected:
        _warn_once(
            "The length of signal is shorter than the length parameter. Result is being padded "
            "with zeros in the tail. Please check your center and hop_length settings."
        )
        from glassgrad.ops.nn.pad import pad

        signal = pad(signal, [0, end - expected])
    return signal if batched else signal.squeeze(0)


def _overlap_add(frames, hop, total):
    """Sum the frames ``(batch, n, size)`` into signals of ``total`` samples, ``hop`` apart
    (the adjoint of ``unfold``, as PyTorch's ``unfold_backward``)."""
    from glassgrad.creation import tensor, zeros

    batch, count, size = frames.shape
    where = np.arange(count)[:, None] * hop + np.arange(size)[None, :]
    signal = zeros(batch, total, dtype=frames.dtype)
    return signal.index_add(1, tensor(where.reshape(-1)), frames.reshape(batch, -1))


def _stft_method(self, *args, **kwargs):
    return stft(self, *args, **kwargs)


def _istft_method(self, *args, **kwargs):
    return istft(self, *args, **kwargs)


tensor_method(_stft_method, "stft")
tensor_method(_istft_method, "istft")
