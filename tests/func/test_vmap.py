"""vmap, functional_call and stack_module_state against PyTorch 2.13: in_dims/out_dims as
pytrees, chunk_size, randomness, per-sample gradients of an MLP, nesting, and vmap's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tests.func.compare import both
from tests.func.compare import close as _close

import glassgrad

RNG = np.random.default_rng(1)
X = RNG.standard_normal((2, 3, 4))
IDX = np.array([1, 2])


def close(want, got, tol=1e-6):
    _close(want, got, tol, dtype=False)


CASES = {
    "in_dims_1": lambda L: L.vmap(lambda t: t * 2, in_dims=(1,))(L.tensor(X)),
    "in_dims_neg": lambda L: L.vmap(lambda t: t.sum(0), in_dims=-1)(L.tensor(X)),
    "in_dims_none": lambda L: L.vmap(lambda a, b: a @ b[0].T, in_dims=(0, None))(
        L.tensor(X), L.tensor(X)
    ),
    "in_dims_dict": lambda L: L.vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": 1},))(
        {"a": L.tensor(X), "b": L.tensor(X).transpose(0, 1)}
    ),
    "out_dims_tuple": lambda L: L.vmap(lambda a: (a, a.sum()), out_dims=(1, 0))(L.tensor(X)),
    "out_dims_unbatched": lambda L: L.vmap(lambda a: L.tensor(X[0]) * 2)(L.tensor(X)),
    "chunk": lambda L: L.vmap(lambda a: a.softmax(-1), chunk_size=1)(L.tensor(X)),
    "chunk_in_dim": lambda L: L.vmap(lambda a: a.sum(0), chunk_size=2, in_dims=1)(L.tensor(X)),
    "index_shared": lambda L: L.vmap(lambda a: a[L.tensor([0, 0])])(L.tensor(X)),
    "index_batched": lambda L: L.vmap(lambda a, i: a[i])(L.tensor(X), L.tensor(IDX)),
    "cat": lambda L: L.vmap(lambda a: L.cat([a, a * 2], 0))(L.tensor(X)),
    "stack_shared": lambda L: L.vmap(lambda a: L.stack([a, L.tensor(X[0])], 1))(L.tensor(X)),
    "matmul_vec": lambda L: L.vmap(lambda a: a @ L.tensor(X[0, 0]))(L.tensor(X)),
    "reductions": lambda L: L.vmap(lambda a: (a.max(1).values, a.mean(0), a.std(), a.norm()))(
        L.tensor(X)
    ),
    "shapes": lambda L: L.vmap(lambda a: a.reshape(4, 3).t().unsqueeze(0).flip(-1))(L.tensor(X)),
    "nested": lambda L: L.vmap(L.vmap(lambda a: a.sin() * a.sum()))(L.tensor(X)),
    "nested_dims": lambda L: L.vmap(L.vmap(lambda a: a.cumsum(0), in_dims=1), in_dims=2)(
        L.tensor(X)
    ),
    "setitem_batched": lambda L: L.vmap(lambda a: _setitem(a))(L.tensor(X)),
    "linear_softmax": lambda L: L.vmap(
        lambda a: L.nn.functional.log_softmax(L.nn.functional.linear(a, L.tensor(X[0])), -1)
    )(L.tensor(X)),
}


def _setitem(a):
    b = a.clone()
    b[0] = a[1] * 3
    return b


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # batched code, no per-sample fallback
        got = CASES[name](glassgrad)
    close(CASES[name](torch), got)


def _mlp(lib):
    rng = np.random.default_rng(0)
    params = {
        "0.weight": rng.standard_normal((8, 5)),
        "0.bias": rng.standard_normal(8),
        "2.weight": rng.standard_normal((3, 8)),
        "2.bias": rng.standard_normal(3),
    }
    model = lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3)).double()
    return model, {k: lib.tensor(v) for k, v in params.items()}


def test_per_sample_gradients_of_an_mlp():
    x = RNG.standard_normal((6, 5))
    y = RNG.integers(0, 3, 6)

    def run(lib):
        model, params = _mlp(lib)

        def loss(p, xi, yi):
            out = lib.func.functional_call(model, p, (xi.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, yi.unsqueeze(0))

        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(
            params, lib.tensor(x), lib.tensor(y)
        )

    want, got = both(run)
    close(want, got, 1e-10)


def test_functional_call_and_ensembles():
    x = RNG.standard_normal((4, 5))

    def run(lib):
        model, params = _mlp(lib)
        swapped = lib.func.functional_call(model, params, lib.tensor(x))
        models = [_mlp(lib)[0] for _ in range(3)]
        for i, m in enumerate(models):
            m.load_state_dict({k: v * (i + 1) for k, v in params.items()})
        stacked, buffers = lib.func.stack_module_state(models)
        ensemble = lib.vmap(
            lambda p, b, xb: lib.func.functional_call(models[0], (p, b), (xb,)),
            in_dims=(0, 0, None),
        )(stacked, buffers, lib.tensor(x))
        leaves = [stacked[k].is_leaf and stacked[k].requires_grad for k in stacked]
        return swapped, ensemble, leaves

    want, got = both(run)
    close(want[:2], got[:2])
    assert want[2] == got[2]


def test_functional_call_restores_the_module_even_when_the_call_raises():
    model, params = _mlp(glassgrad)
    before = {k: v for k, v in model.named_parameters()}
    with pytest.raises(RuntimeError):
        glassgrad.func.functional_call(
            model, params, glassgrad.zeros(2, 7, dtype=glassgrad.float64)
        )
    assert {k: v for k, v in model.named_parameters()} == before


def test_randomness_modes():
    x = glassgrad.ones(3, 4)
    with pytest.raises(RuntimeError) as error:
        glassgrad.vmap(lambda t: glassgrad.randn(4) + t)(x)
    with pytest.raises(RuntimeError) as want:
        torch.vmap(lambda t: torch.randn(4) + t)(torch.ones(3, 4))
    assert str(error.value) == str(want.value)
    same = glassgrad.vmap(lambda t: glassgrad.rand(4) + t, randomness="same")(x)
    assert (same == same[0]).all()
    different = glassgrad.vmap(lambda t: glassgrad.rand(4) + t, randomness="different")(x)
    assert not (different == different[0]).all()
    drop = glassgrad.vmap(
        lambda t: glassgrad.nn.functional.dropout(t, 0.5), randomness="different"
    )(glassgrad.ones(8, 64))
    assert not (drop == drop[0]).all()


def _setitem_unbatched(lib, t):
    y = lib.zeros(4, dtype=t.dtype)
    y[0] = t[0]
    return y


ERRORS = {
    "item": lambda L: L.vmap(lambda t: t.sum().item())(L.tensor(X)),
    "float": lambda L: L.vmap(lambda t: float(t.sum()))(L.tensor(X)),
    "tolist": lambda L: L.vmap(lambda t: t.tolist())(L.tensor(X)),
    "control_flow": lambda L: L.vmap(lambda t: t if t.sum() > 0 else -t)(L.tensor(X)),
    "sizes": lambda L: L.vmap(lambda a, b: a + b)(L.tensor(X), L.tensor(X[:, :1, :1].T)),
    "in_dim_range": lambda L: L.vmap(lambda t: t, in_dims=3)(L.tensor(X)),
    "in_dims_structure": lambda L: L.vmap(lambda t: t, in_dims=(0, 0))(L.tensor(X)),
    "in_dims_type": lambda L: L.vmap(lambda t: t, in_dims=None)(L.tensor(X)),
    "in_dim_value": lambda L: L.vmap(lambda t: t, in_dims=("a",))(L.tensor(X)),
    "all_none": lambda L: L.vmap(lambda t: t, in_dims=(None,))(L.tensor(X)),
    "no_inputs": lambda L: L.vmap(lambda: 1)(),
    "non_tensor": lambda L: L.vmap(lambda t: t)(3.0),
    "returns_int": lambda L: L.vmap(lambda t: 3)(L.tensor(X)),
    "out_dim_range": lambda L: L.vmap(lambda t: t, out_dims=4)(L.tensor(X)),
    "out_dims_none": lambda L: L.vmap(lambda t: t, out_dims=None)(L.tensor(X)),
    "out_dims_structure": lambda L: L.vmap(lambda t: (t, t), out_dims=(0, 0, 0))(L.tensor(X)),
    "randomness_value": lambda L: L.vmap(lambda t: t, randomness="x")(L.tensor(X)),
    "chunk_size": lambda L: L.vmap(lambda t: t, chunk_size=0)(L.tensor(X)),
    "nonzero": lambda L: L.vmap(lambda t: t.nonzero())(L.tensor(X)),
    "mask": lambda L: L.vmap(lambda t: t[t > 0])(L.tensor(X)),
    "inplace_unbatched": lambda L: L.vmap(lambda t: L.zeros(4, dtype=t.dtype).mul_(t[0]))(
        L.tensor(X)
    ),
    "copy_unbatched": lambda L: L.vmap(lambda t: L.zeros(4, dtype=t.dtype).copy_(t[0]))(
        L.tensor(X)
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_vmap_errors_match_torch(name):
    with pytest.raises(Exception) as want:
        ERRORS[name](torch)
    with pytest.raises(Exception) as got:
        ERRORS[name](glassgrad)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)
