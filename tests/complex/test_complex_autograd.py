"""Gradients through complex numbers against PyTorch (conjugate Wirtinger derivatives): first
and second order, grad_fn names, real inputs of complex results, and the ops that refuse."""

import numpy as np
import pytest
import torch

import glassgrad as gg

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))
W = RNG.standard_normal((4, 2)) + 1j * RNG.standard_normal((4, 2))
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4, 2))


def _loss(L, out):
    """A real loss that depends on every real and imaginary part of ``out``."""
    parts = L.view_as_real(out) if out.is_complex() else out
    weights = L.arange(parts.numel(), dtype=parts.dtype).reshape(parts.shape) / 7 + 0.3
    return (parts * weights).sum() + (parts * parts).sum() * 0.1


CASES = {
    "mul": (lambda L, z, w, x, y: z * z.exp(), "z"),
    "mul_real": (lambda L, z, w, x, y: z * x, "zx"),
    "mul_scalar": (lambda L, z, w, x, y: x * (2 - 3j), "x"),
    "add_alpha": (lambda L, z, w, x, y: L.add(z, z * 2, alpha=1 - 2j), "z"),
    "sub_real": (lambda L, z, w, x, y: z - x, "zx"),
    "div": (lambda L, z, w, x, y: z / (z + 3), "z"),
    "div_real": (lambda L, z, w, x, y: x / (z + 3), "zx"),
    "rdiv": (lambda L, z, w, x, y: 2 / (z + 3), "z"),
    "exp": (lambda L, z, w, x, y: z.exp(), "z"),
    "log": (lambda L, z, w, x, y: z.log(), "z"),
    "sqrt": (lambda L, z, w, x, y: z.sqrt(), "z"),
    "tanh": (lambda L, z, w, x, y: z.tanh(), "z"),
    "sigmoid": (lambda L, z, w, x, y: z.sigmoid(), "z"),
    "sin_cos": (lambda L, z, w, x, y: z.sin() + z.cos(), "z"),
    "pow": (lambda L, z, w, x, y: z**3, "z"),
    "pow_tensor": (lambda L, z, w, x, y: z ** (z * 0.1), "z"),
    "reciprocal": (lambda L, z, w, x, y: z.reciprocal(), "z"),
    "sum": (lambda L, z, w, x, y: z.sum(0) * z.sum(), "z"),
    "mean": (lambda L, z, w, x, y: z.mean(1), "z"),
    "prod": (lambda L, z, w, x, y: z.prod(1), "z"),
    "cumsum": (lambda L, z, w, x, y: z.cumsum(1), "z"),
    "var": (lambda L, z, w, x, y: z.var(1), "z"),
    "std": (lambda L, z, w, x, y: z.std(0, correction=0), "z"),
    "var_mean": (lambda L, z, w, x, y: L.var_mean(z, 1)[0] + L.var_mean(z, 1)[1] * 1j, "z"),
    "std_mean": (lambda L, z, w, x, y: L.std_mean(z, 0)[0] * L.std_mean(z, 0)[1], "z"),
    "logsumexp": (lambda L, z, w, x, y: L.logsumexp(z, 1), "z"),
    "matmul": (lambda L, z, w, x, y: z @ w, "zw"),
    "bmm": (lambda L, z, w, x, y: L.bmm(z[None], w[None]), "zw"),
    "einsum": (lambda L, z, w, x, y: L.einsum("ij,jk->ik", z, w), "zw"),
    "linear": (lambda L, z, w, x, y: L.nn.functional.linear(z, w.t()), "zw"),
    "abs": (lambda L, z, w, x, y: z.abs(), "z"),
    "sgn": (lambda L, z, w, x, y: z.sgn() * z, "z"),
    "angle": (lambda L, z, w, x, y: z.angle(), "z"),
    "angle_real": (lambda L, z, w, x, y: x.angle(), "x"),
    "real": (lambda L, z, w, x, y: z.real * 2, "z"),
    "imag": (lambda L, z, w, x, y: z.imag * 3, "z"),
    "real_imag_fns": (lambda L, z, w, x, y: L.real(z) + L.imag(z) ** 2, "z"),
    "view_as_real": (lambda L, z, w, x, y: L.view_as_real(z), "z"),
    "view_as_complex": (lambda L, z, w, x, y: L.view_as_complex(y), "y"),
    "complex": (lambda L, z, w, x, y: L.complex(x, x * x), "x"),
    "polar": (lambda L, z, w, x, y: L.polar(x.abs() + 0.5, x), "x"),
    "conj": (lambda L, z, w, x, y: z.conj() * z, "z"),
    "conj_physical": (lambda L, z, w, x, y: z.conj_physical() * 2j, "z"),
    "to_complex": (lambda L, z, w, x, y: x.to(x.dtype.to_complex()) * (1 + 1j), "x"),
    "to_real": (lambda L, z, w, x, y: z.real.double() + 0, "z"),
    "reshape_t": (lambda L, z, w, x, y: z.reshape(4, 3).t()[1:] * 1j, "z"),
    "index": (lambda L, z, w, x, y: z[[0, 2], 1:3] * z[1, 0], "z"),
    "cat": (lambda L, z, w, x, y: L.cat([z, z * 1j], 0), "z"),
    "where": (lambda L, z, w, x, y: L.where(x > 0, z, z * z), "z"),
    "expand": (lambda L, z, w, x, y: z[:, None, :].expand(3, 2, 4) * 1, "z"),
    "abs2": (lambda L, z, w, x, y: (z * z.conj()).real, "z"),
    # llama's rotary embeddings: pairs as complex numbers, rotated, read back as pairs
    "rotary": (lambda L, z, w, x, y: L.view_as_real(L.view_as_complex(y) * z).flatten(1), "zy"),
}


def _run(L, name, dtype):
    fn, which = CASES[name]
    real = getattr(L, dtype)
    z = L.tensor(Z, dtype=real.to_complex(), requires_grad="z" in which)
    w = L.tensor(W, dtype=real.to_complex(), requires_grad="w" in which)
    x = L.tensor(X, dtype=real, requires_grad="x" in which)
    y = L.tensor(Y, dtype=real, requires_grad="y" in which)
    out = fn(L, z, w, x, y)
    _loss(L, out).backward()
    return out, type(out.grad_fn).__name__, [t.grad for t in (z, w, x, y) if t.requires_grad]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_torch(name, dtype):
    ours, theirs = _run(gg, name, dtype), _run(torch, name, dtype)
    tol = 1e-9 if dtype == "float64" else 2e-4
    assert str(ours[0].dtype) == str(theirs[0].dtype)
    np.testing.assert_allclose(ours[0].detach().numpy(), theirs[0].detach().numpy(), tol, tol)
    assert ours[1] == theirs[1]
    assert len(ours[2]) == len(theirs[2])
    for mine, expected in zip(ours[2], theirs[2], strict=True):
        assert str(mine.dtype) == str(expected.dtype)
        np.testing.assert_allclose(mine.numpy(), expected.numpy(), tol * 10, tol * 10)


SECOND = {
    "abs_of_cube": lambda L, z: (z * z * z).abs().sum(),
    "exp_parts": lambda L, z: L.view_as_real(z.exp() * z).pow(2).sum(),
    "angle_sgn": lambda L, z: (z.angle() * 2 + (z.sgn() * z).real).sum(),
    "matmul": lambda L, z: (z @ z.mT).abs().sum(),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_order_matches_torch(name):
    results = []
    for L in (gg, torch):
        z = L.tensor(Z[:3, :3], dtype=L.complex128, requires_grad=True)
        (grad,) = L.autograd.grad(SECOND[name](L, z), z, create_graph=True)
        (second,) = L.autograd.grad((grad.real * grad.imag).sum(), z)
        results.append((grad.detach().numpy(), second.numpy()))
    for mine, expected in zip(*results, strict=True):
        np.testing.assert_allclose(mine, expected, 1e-9, 1e-9)


REFUSED = {
    "backward_of_complex": lambda L, z: z.sum().backward(),
    "relu": lambda L, z: L.relu(z),
    "max": lambda L, z: z.max(),
    "softmax": lambda L, z: L.softmax(z, 0),
    "erf": lambda L, z: L.erf(z),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusals_are_errors_not_wrong_gradients(name):
    z = gg.tensor(Z[0], requires_grad=True)
    with pytest.raises((RuntimeError, NotImplementedError)):
        REFUSED[name](gg, z)
    with pytest.raises((RuntimeError, NotImplementedError)):
        REFUSED[name](torch, torch.tensor(Z[0], requires_grad=True))


def test_backward_of_complex_error_is_torchs():
    z = gg.tensor([1 + 2j], requires_grad=True)
    with pytest.raises(RuntimeError) as ours:
        z.sum().backward()
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor([1 + 2j], requires_grad=True).sum().backward()
    assert str(ours.value) == str(theirs.value)


def test_a_rule_without_complex_support_refuses():
    """Every node class that is not marked refuses complex inputs in PyTorch's words."""
    z = gg.tensor(Z[0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not support automatic differentiation for out"):
        gg.cumprod(z, 0)
