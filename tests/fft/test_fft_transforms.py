"""torch.fft against PyTorch: every transform with n/s, dim and norm, on real and complex
inputs in float32 and float64: values, dtypes, grad_fn names and gradients (irfft's Hermitian
half included), then the frequencies, the shifts and the errors."""

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg

RNG = np.random.default_rng(1)
X = RNG.standard_normal((4, 6))
Z = RNG.standard_normal((4, 6)) + 1j * RNG.standard_normal((4, 6))


def _loss(L, out):
    parts = L.view_as_real(out.resolve_conj()) if out.is_complex() else out
    weights = L.arange(parts.numel(), dtype=parts.dtype).reshape(parts.shape) / 7 + 0.3
    return (parts * weights).sum() + (parts * parts).sum() * 0.1


def _one_dim(name, n, norm, src):
    def run(L, x, z):
        return getattr(L.fft, name)(x if src == "x" else z, n=n, dim=0 if n == 3 else -1, norm=norm)

    return run, src


def _n_dims(name, s, norm, src):
    def run(L, x, z):
        return getattr(L.fft, name)(x if src == "x" else z, s=s, norm=norm)

    return run, src


CASES = {}
for _norm in (None, "ortho", "forward"):
    for _name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
        for _n in (None, 3, 5, 8):
            for _src in "xz":
                if _name in ("rfft", "ihfft") and _src == "z":
                    continue
                CASES[f"{_name}-{_norm}-{_n}-{_src}"] = _one_dim(_name, _n, _norm, _src)
    for _name in ("fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn"):
        for _s in (None, (3, 8), (5, 5), (-1, 4)):
            for _src in "xz":
                if _name.startswith("rfft") and _src == "z":
                    continue
                CASES[f"{_name}-{_norm}-{_s}-{_src}"] = _n_dims(_name, _s, _norm, _src)
CASES.update(
    {
        "fftn_int_dim": (lambda L, x, z: L.fft.fftn(z, dim=1), "z"),
        "rfftn_dims_reversed": (lambda L, x, z: L.fft.rfftn(x, dim=(1, 0)), "x"),
        "irfftn_dims_reversed": (lambda L, x, z: L.fft.irfftn(z, dim=(1, 0), s=(4, 7)), "z"),
        "shifts": (lambda L, x, z: L.fft.fftshift(z) * L.fft.ifftshift(z, dim=0), "z"),
        # FourierCorrelation's pattern: rfft, mix the lowest modes, back with irfft
        "fourier_mix": (
            lambda L, x, z: L.fft.irfft(L.fft.rfft(x, dim=-1) * z[:, :4], n=6, dim=-1),
            "xz",
        ),
        "backward_default_norm": (lambda L, x, z: L.fft.fft(x, norm="backward"), "x"),
    }
)


def _run(L, name, dtype):
    fn, which = CASES[name]
    real = getattr(L, dtype)
    x = L.tensor(X, dtype=real, requires_grad="x" in which)
    z = L.tensor(Z, dtype=real.to_complex(), requires_grad="z" in which)
    out = fn(L, x, z)
    _loss(L, out).backward()
    grads = [t.grad.resolve_conj() for t in (x, z) if t.requires_grad]
    return out.resolve_conj(), type(out.grad_fn).__name__, grads


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_and_gradient_match_torch(name, dtype):
    ours, theirs = _run(gg, name, dtype), _run(torch, name, dtype)
    tol = 1e-9 if dtype == "float64" else 1e-4
    assert str(ours[0].dtype) == str(theirs[0].dtype)
    assert tuple(ours[0].shape) == tuple(theirs[0].shape)
    np.testing.assert_allclose(ours[0].detach().numpy(), theirs[0].detach().numpy(), tol, tol)
    assert ours[1] == theirs[1]
    for mine, expected in zip(ours[2], theirs[2], strict=True):
        assert str(mine.dtype) == str(expected.dtype)
        np.testing.assert_allclose(mine.numpy(), expected.numpy(), tol * 10, tol * 10)


def test_second_order_through_transforms():
    results = []
    for L in (gg, torch):
        x = L.tensor(X, dtype=L.float64, requires_grad=True)
        spectrum = L.fft.rfft(x * x)
        loss = (L.fft.irfft(spectrum * spectrum, n=6) ** 2).sum() + L.fft.fft2(x).abs().sum()
        (grad,) = L.autograd.grad(loss, x, create_graph=True)
        (second,) = L.autograd.grad((grad * grad).sum(), x)
        results.append((grad.detach().numpy(), second.numpy()))
    for mine, expected in zip(*results, strict=True):
        np.testing.assert_allclose(mine, expected, 1e-8, 1e-8)


def outcome(fn, lib):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return ("error", type(exc).__name__, str(exc))
    if isinstance(value, (gg.Tensor, torch.Tensor)):
        # (+ 0: the signs of zero imaginary parts differ between FFT kernels)
        return ("value", repr(value.resolve_conj() + 0), value.is_conj())
    return ("value", repr(value))


OTHER = {
    "fftfreq": lambda L: L.fft.fftfreq(5),
    "fftfreq_even_d": lambda L: L.fft.fftfreq(4, d=0.3, dtype=L.float64),
    "fftfreq_empty": lambda L: L.fft.fftfreq(0),
    "fftfreq_grad": lambda L: L.fft.fftfreq(4, requires_grad=True),
    "rfftfreq": lambda L: L.fft.rfftfreq(6, d=0.5),
    "rfftfreq_odd": lambda L: L.fft.rfftfreq(7),
    "fftshift": lambda L: L.fft.fftshift(L.arange(6)),
    "ifftshift_2d": lambda L: L.fft.ifftshift(L.arange(6).reshape(2, 3)),
    "fftshift_dim": lambda L: L.fft.fftshift(L.arange(6).reshape(2, 3), dim=1),
    "fftshift_dims": lambda L: L.fft.fftshift(L.arange(15).reshape(3, 5), dim=(0, 1)),
    "int_input": lambda L: L.fft.fft(L.arange(4)),
    "double_input": lambda L: L.fft.rfft(L.ones(3, dtype=L.float64)),
    "ifft_of_real_is_conj": lambda L: L.fft.ifft(L.arange(4.0)),
    "ihfft_is_conj": lambda L: L.fft.ihfft(L.arange(4.0)),
    "fftn_no_dims": lambda L: L.fft.fftn(L.ones(2, 2), dim=[]),
    "hfft_real": lambda L: L.fft.hfft(L.ones(3)),
    "n_zero": lambda L: L.fft.fft(L.ones(3), n=0),
    "n_float": lambda L: L.fft.fft(L.ones(3), n=3.5),
    "dim_range": lambda L: L.fft.fft(L.ones(3), dim=3),
    "rfft_complex": lambda L: L.fft.rfft(L.ones(3) * 1j),
    "ihfft_complex": lambda L: L.fft.ihfft(L.ones(3) * 1j),
    "bad_norm": lambda L: L.fft.fft(L.ones(3), norm="bad"),
    "irfft_n_zero": lambda L: L.fft.irfft(L.ones(3) * 1j, n=0),
    "irfft_single": lambda L: L.fft.irfft(L.ones(1) * 1j),
    "s_dim_lengths": lambda L: L.fft.fftn(L.ones(2, 2), s=(2,), dim=(0, 1)),
    "dims_unique": lambda L: L.fft.fftn(L.ones(2, 2), dim=(0, 0)),
    "s_too_long": lambda L: L.fft.fftn(L.ones(2), s=(2, 2)),
    "rfftn_no_dims": lambda L: L.fft.rfftn(L.ones(2, 2), dim=[]),
    "scalar": lambda L: L.fft.fft(L.tensor(1.0)),
    "half": lambda L: L.fft.fft(L.ones(3, dtype=L.float16)),
    "fft2_1d": lambda L: L.fft.fft2(L.ones(3)),
}


@pytest.mark.parametrize("name", sorted(OTHER))
def test_matches_torch(name):
    assert outcome(OTHER[name], gg) == outcome(OTHER[name], torch)
