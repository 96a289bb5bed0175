"""torch.stft and torch.istft against PyTorch: values, dtypes and gradients, and their errors."""

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg

RNG = np.random.default_rng(2)
X = RNG.standard_normal((2, 40))
W = np.hanning(16) + 0.1


def _transform(L, kind, x, real):
    window = L.tensor(W, dtype=real)
    short = L.tensor(W[:12], dtype=real)
    if kind == "window":
        return L.stft(x, 16, hop_length=4, window=window, return_complex=True)
    if kind == "one_signal":
        return L.stft(x[0], 16, return_complex=True)
    if kind == "short_window_uncentred":
        return L.stft(x, 16, 5, 12, short, center=False, normalized=True, return_complex=True)
    if kind == "twosided_constant_pad":
        return L.stft(x, 16, 4, onesided=False, pad_mode="constant", return_complex=True)
    if kind == "real_pairs":
        return L.view_as_complex(L.stft(x, 16, return_complex=False))
    if kind == "round_trip":
        spectrum = L.stft(x, 16, hop_length=4, window=window, return_complex=True)
        return L.istft(spectrum, 16, hop_length=4, window=window)
    if kind == "round_trip_short_window":
        spectrum = L.stft(x, 16, hop_length=5, win_length=12, window=short, return_complex=True)
        return L.istft(spectrum, 16, hop_length=5, win_length=12, window=short, length=38)
    spectrum = L.stft(x, 16, hop_length=4, return_complex=True, onesided=False, normalized=True)
    return L.istft(spectrum, 16, hop_length=4, onesided=False, normalized=True, length=45)


KINDS = [
    "window",
    "one_signal",
    "short_window_uncentred",
    "twosided_constant_pad",
    "real_pairs",
    "round_trip",
    "round_trip_short_window",
    "round_trip_twosided_longer",
]


def _run(L, kind, dtype):
    real = getattr(L, dtype)
    x = L.tensor(X, dtype=real, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _transform(L, kind, x, real)
    parts = L.view_as_real(out) if out.is_complex() else out
    weights = L.arange(parts.numel(), dtype=parts.dtype).reshape(parts.shape) / 11 + 0.2
    ((parts * weights).sum() + (parts * parts).sum()).backward()
    return out, x.grad


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", KINDS)
def test_matches_torch(kind, dtype):
    ours, theirs = _run(gg, kind, dtype), _run(torch, kind, dtype)
    tol = 1e-8 if dtype == "float64" else 1e-3
    assert tuple(ours[0].shape) == tuple(theirs[0].shape)
    assert str(ours[0].dtype) == str(theirs[0].dtype)
    np.testing.assert_allclose(ours[0].detach().numpy(), theirs[0].detach().numpy(), tol, tol)
    np.testing.assert_allclose(ours[1].numpy(), theirs[1].numpy(), tol, tol)


ERRORS = {
    "no_return_complex": lambda L: L.stft(L.ones(2, 20), 8),
    "hop_zero": lambda L: L.stft(L.ones(2, 20), 8, hop_length=0, return_complex=True),
    "window_size": lambda L: L.stft(L.ones(2, 20), 8, window=L.ones(5), return_complex=True),
    "istft_real": lambda L: L.istft(L.ones(5, 3), 8),
    "istft_frequencies": lambda L: L.istft(L.ones(4, 3) * 1j, 8),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    found = []
    for L in (gg, torch):
        with pytest.raises(RuntimeError) as caught, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ERRORS[name](L)
        found.append(str(caught.value).split("\nException raised from")[0])
    assert found[0] == found[1]


def test_rectangular_window_warns_as_torch():
    with pytest.warns(UserWarning, match="A window was not provided") as record:
        gg.ops.fft.stft._WARNED.clear()
        gg.stft(gg.ones(20), 8, return_complex=True)
    assert record
