"""torch.func against PyTorch 2.13: grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian,
linearize and their compositions (values, gradients through them, error types and texts)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.func.compare import both, close

import glassgrad

RNG = np.random.default_rng(0)
X = RNG.standard_normal(4)
Y = RNG.standard_normal(4)
M = RNG.standard_normal((3, 4))
Z = RNG.standard_normal((2, 3, 4))


def f_scalar(lib):
    m = lib.tensor(M)
    return lambda x: (m @ x).tanh().pow(2).sum() * x.sin().prod()


def f_vector(lib):
    m = lib.tensor(M)
    return lambda x: (m @ x).tanh() * x[:3].exp()


def f_two(lib):
    return lambda x, y: (x * y.cos()).sum() + (x**2).mean() * y.sum()


CASES = {
    "grad": lambda L: L.func.grad(f_scalar(L))(L.tensor(X)),
    "grad_argnums": lambda L: L.func.grad(f_two(L), argnums=(0, 1))(L.tensor(X), L.tensor(Y)),
    "grad_argnum1": lambda L: L.func.grad(f_two(L), argnums=1)(L.tensor(X), L.tensor(Y)),
    "grad_and_value": lambda L: L.func.grad_and_value(f_scalar(L))(L.tensor(X)),
    "grad_aux": lambda L: L.func.grad(lambda x: (f_scalar(L)(x), x.cos()), has_aux=True)(
        L.tensor(X)
    ),
    "grad_dict": lambda L: L.func.grad(lambda d: (d["a"] * d["b"]).sum())(
        {"a": L.tensor(X), "b": L.tensor(Y)}
    ),
    "grad_grad": lambda L: L.func.grad(lambda x: L.func.grad(lambda y: (y**3).sum())(x).sum())(
        L.tensor(X)
    ),
    "grad_unused": lambda L: L.func.grad(lambda x, y: (x**2).sum(), argnums=1)(
        L.tensor(X), L.tensor(Y)
    ),
    "vjp": lambda L: (lambda o: (o[0], o[1](L.tensor(Y[:3]))))(
        L.func.vjp(f_vector(L), L.tensor(X))
    ),
    "jvp": lambda L: L.func.jvp(f_vector(L), (L.tensor(X),), (L.tensor(Y),)),
    "jacrev": lambda L: L.func.jacrev(f_vector(L))(L.tensor(X)),
    "jacfwd": lambda L: L.func.jacfwd(f_vector(L))(L.tensor(X)),
    "jacrev_argnums": lambda L: L.func.jacrev(f_two(L), argnums=(0, 1))(L.tensor(X), L.tensor(Y)),
    "jacfwd_argnums": lambda L: L.func.jacfwd(f_two(L), argnums=(0, 1))(L.tensor(X), L.tensor(Y)),
    "jacrev_chunk": lambda L: L.func.jacrev(f_vector(L), chunk_size=2)(L.tensor(X)),
    "jacrev_aux": lambda L: L.func.jacrev(lambda x: (x.sin(), x.cos()), has_aux=True)(L.tensor(X)),
    "jacrev_tuple_out": lambda L: L.func.jacrev(lambda x: (x.sin(), x.sum()))(L.tensor(X)),
    "hessian": lambda L: L.func.hessian(f_scalar(L))(L.tensor(X)),
    "hessian_argnums": lambda L: L.func.hessian(f_two(L), argnums=(0, 1))(L.tensor(X), L.tensor(Y)),
    "jacfwd_jacrev": lambda L: L.func.jacfwd(L.func.jacrev(f_scalar(L)))(L.tensor(X)),
    "jacfwd_jacfwd": lambda L: L.func.jacfwd(L.func.jacfwd(f_vector(L)))(L.tensor(X)),
    "jacrev_jacrev": lambda L: L.func.jacrev(L.func.jacrev(f_scalar(L)))(L.tensor(X)),
    "vmap_jacrev": lambda L: L.func.vmap(L.func.jacrev(f_vector(L)))(L.tensor(np.stack([X, Y]))),
    "vmap_grad": lambda L: L.func.vmap(L.func.grad(f_scalar(L)))(L.tensor(np.stack([X, Y]))),
    "vmap_vmap": lambda L: L.func.vmap(L.func.vmap(lambda a: a.sin() * a.sum()))(L.tensor(Z)),
    "vmap_hessian": lambda L: L.func.vmap(L.func.hessian(f_scalar(L)))(L.tensor(np.stack([X, Y]))),
    "grad_vmap": lambda L: L.func.grad(lambda x: L.func.vmap(f_scalar(L))(x).sum())(
        L.tensor(np.stack([X, Y]))
    ),
    "linearize": lambda L: L.func.linearize(f_vector(L), L.tensor(X))[1](L.tensor(Y)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_torch(name):
    want, got = both(CASES[name])
    close(want, got)


def test_gradients_flow_through_transforms_to_outer_autograd():
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        w = lib.tensor(Y, requires_grad=True)
        g = lib.func.grad(lambda a: (a.sin() * w).sum())(x)
        (g * lib.tensor(M[0])).sum().backward()
        return x.grad, w.grad

    want, got = both(run)
    close(want, got)


def test_grad_of_a_pure_input_function_is_detached():
    def run(lib):
        return lib.func.grad(lambda a: (a**2).sum())(lib.tensor(X))

    want, got = both(run)
    assert got.requires_grad is want.requires_grad is False
    assert got.grad_fn is None


ERRORS = {
    "nonscalar": lambda L: L.func.grad(lambda a: a)(L.tensor(X)),
    "not_tensor_out": lambda L: L.func.grad(lambda a: 3.0)(L.tensor(X)),
    "argnum_range": lambda L: L.func.grad(lambda a: a.sum(), argnums=2)(L.tensor(X)),
    "argnums_list": lambda L: L.func.grad(lambda a: a.sum(), argnums=[0])(L.tensor(X)),
    "argnums_dup": lambda L: L.func.grad(lambda a, b: a.sum(), argnums=(0, 0))(
        L.tensor(X), L.tensor(X)
    ),
    "argnums_empty": lambda L: L.func.grad(lambda a: a.sum(), argnums=())(L.tensor(X)),
    "argnum_type": lambda L: L.func.grad(lambda a: a.sum(), argnums=("a",))(L.tensor(X)),
    "input_not_tensor": lambda L: L.func.grad(lambda a: a.sum())(3.0),
    "no_input": lambda L: L.func.grad(lambda: 1)(),
    "aux_not_tuple": lambda L: L.func.grad(lambda a: a.sum(), has_aux=True)(L.tensor(X)),
    "vjp_not_tensor_out": lambda L: L.func.vjp(lambda a: 3.0, L.tensor(X)),
    "vjp_int_out": lambda L: L.func.vjp(lambda a: a.long(), L.tensor(X)),
    "vjp_structure": lambda L: L.func.vjp(lambda a: a, L.tensor(X))[1]((L.tensor(X),) * 2),
    "vjp_shape": lambda L: L.func.vjp(lambda a: a, L.tensor(X))[1](L.tensor(Y[:3])),
    "jvp_primals_tuple": lambda L: L.func.jvp(lambda a: a, L.tensor(X), (L.tensor(X),)),
    "jvp_tangents_tuple": lambda L: L.func.jvp(lambda a: a, (L.tensor(X),), L.tensor(X)),
    "jvp_shape": lambda L: L.func.jvp(lambda a: a, (L.tensor(X),), (L.tensor(Y[:3]),)),
    "jacrev_chunk_zero": lambda L: L.func.jacrev(lambda a: a, chunk_size=0)(L.tensor(X)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    with pytest.raises(Exception) as want:
        ERRORS[name](torch)
    with pytest.raises(Exception) as got:
        ERRORS[name](glassgrad)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)
