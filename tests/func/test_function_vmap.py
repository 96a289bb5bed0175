"""``autograd.Function`` under torch.func against PyTorch 2.13: the ``vmap`` staticmethod (its
info, in_dims, out_dims, nesting, gradients through it), ``generate_vmap_rule=True``, and
PyTorch's errors (no setup_context, neither or both ways to batch, bad returns)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tests.func.compare import close

import glassgrad

X = np.arange(1.0, 7.0).reshape(3, 2)


def _classes(L):
    """The Functions each case uses, defined against library ``L``."""
    seen = []

    class Exp(L.autograd.Function):
        @staticmethod
        def forward(a):
            return a.exp()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return grad * out

    class Generated(Exp):
        generate_vmap_rule = True

    class Scale(L.autograd.Function):
        @staticmethod
        def forward(a, k):
            return a * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = inputs[1]

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.k, None

        @staticmethod
        def vmap(info, in_dims, a, k):
            seen.append((info.batch_size, info.randomness, in_dims))
            return a * k + 100, in_dims[0]

    class Summed(Scale):
        @staticmethod
        def vmap(info, in_dims, a, k):
            return a.sum(0) * k, None

    class Moved(Scale):
        @staticmethod
        def vmap(info, in_dims, a, k):
            return (a * k).movedim(0, 1), 1

    class Pair(Scale):
        @staticmethod
        def forward(a, k):
            return a * k, a + k

        @staticmethod
        def backward(ctx, grad, other):
            return grad * ctx.k + other, None

        @staticmethod
        def vmap(info, in_dims, a, k):
            return (a * k, (a + k).sum(0)), (0, None)

    class Old(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class Both(Generated):
        @staticmethod
        def vmap(info, in_dims, a):
            return a, 0

    def returning(value):
        class Bad(Exp):
            @staticmethod
            def vmap(info, in_dims, a):
                return value(a)

        return Bad

    return {
        "Exp": Exp,
        "Generated": Generated,
        "Scale": Scale,
        "Summed": Summed,
        "Moved": Moved,
        "Pair": Pair,
        "Old": Old,
        "Both": Both,
        "single": returning(lambda a: a),
        "three": returning(lambda a: (a, 0, 0)),
        "list": returning(lambda a: [a, 0]),
        "structure": returning(lambda a: (a, (0,))),
        "seen": seen,
    }


def _x(L, requires_grad=False):
    return L.tensor(X, requires_grad=requires_grad)


CASES = {
    "generated": lambda L, F: L.func.vmap(F["Generated"].apply)(_x(L)),
    "generated_nested": lambda L, F: L.func.vmap(L.func.vmap(F["Generated"].apply))(_x(L)),
    "generated_per_sample_grad": lambda L, F: L.func.vmap(
        L.func.grad(lambda a: F["Generated"].apply(a).sum())
    )(_x(L)),
    "rule": lambda L, F: L.func.vmap(F["Scale"].apply, in_dims=(0, None))(_x(L), 3.0),
    "rule_same": lambda L, F: L.func.vmap(F["Scale"].apply, in_dims=(0, None), randomness="same")(
        _x(L), 3.0
    ),
    "rule_out_dims": lambda L, F: L.func.vmap(F["Scale"].apply, in_dims=(0, None), out_dims=1)(
        _x(L), 3.0
    ),
    "rule_out_none": lambda L, F: L.func.vmap(F["Summed"].apply, in_dims=(0, None))(_x(L), 3.0),
    "rule_moved": lambda L, F: L.func.vmap(F["Moved"].apply, in_dims=(0, None))(_x(L), 3.0),
    "rule_pair": lambda L, F: L.func.vmap(F["Pair"].apply, in_dims=(0, None))(_x(L), 3.0),
    "rule_nested": lambda L, F: L.func.vmap(
        L.func.vmap(F["Scale"].apply, in_dims=(0, None)), in_dims=(0, None)
    )(_x(L).reshape(3, 2, 1), 3.0),
    "rule_unbatched_input": lambda L, F: L.func.vmap(
        lambda a: F["Scale"].apply(L.ones(2, dtype=a.dtype), 2.0) + a
    )(_x(L)),
    "rule_per_sample_grad": lambda L, F: L.func.vmap(
        L.func.grad(lambda a: (F["Scale"].apply(a, 3.0) * a).sum())
    )(_x(L)),
    "rule_grad_of_vmap": lambda L, F: L.func.grad(
        lambda a: L.func.vmap(F["Scale"].apply, in_dims=(0, None))(a, 3.0).pow(2).sum()
    )(_x(L)),
    "rule_backward": lambda L, F: _backward(L, F),
    "outside_vmap": lambda L, F: F["Scale"].apply(_x(L), 3.0),
}


def _backward(L, F):
    x = _x(L, requires_grad=True)
    L.func.vmap(F["Pair"].apply, in_dims=(0, None))(x, 3.0)[0].sum().backward()
    return x.grad


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_under_vmap_matches_torch(name):
    want_classes, got_classes = _classes(torch), _classes(glassgrad)
    want = CASES[name](torch, want_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # batched code, no per-sample fallback
        got = CASES[name](glassgrad, got_classes)
    close(want, got, dtype=False)
    # the staticmethod ran as often, told the same batch size and randomness
    assert [s[:2] for s in got_classes["seen"]] == [s[:2] for s in want_classes["seen"]]
    assert [len(s[2]) for s in got_classes["seen"]] == [len(s[2]) for s in want_classes["seen"]]


ERRORS = {
    "no_setup_context": lambda L, F: L.func.vmap(F["Old"].apply)(_x(L)),
    "no_setup_context_in_grad": lambda L, F: L.func.grad(lambda a: F["Old"].apply(a).sum())(_x(L)),
    "no_setup_context_unbatched": lambda L, F: L.func.vmap(
        lambda a: F["Old"].apply(L.ones(2, dtype=a.dtype)) + a
    )(_x(L)),
    "no_vmap_support": lambda L, F: L.func.vmap(F["Exp"].apply)(_x(L)),
    "no_vmap_support_unbatched": lambda L, F: L.func.vmap(
        lambda a: F["Exp"].apply(L.ones(2, dtype=a.dtype)) + a
    )(_x(L)),
    "both": lambda L, F: L.func.vmap(F["Both"].apply)(_x(L)),
    "one_return": lambda L, F: L.func.vmap(F["single"].apply)(_x(L)),
    "three_returns": lambda L, F: L.func.vmap(F["three"].apply)(_x(L)),
    "list_return": lambda L, F: L.func.vmap(F["list"].apply)(_x(L)),
    "out_dims_structure": lambda L, F: L.func.vmap(F["structure"].apply)(_x(L)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_function_errors_under_transforms_match_torch(name):
    with pytest.raises(Exception) as want:
        ERRORS[name](torch, _classes(torch))
    with pytest.raises(Exception) as got:
        ERRORS[name](glassgrad, _classes(glassgrad))
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)


def test_old_style_function_still_works_outside_transforms():
    classes = _classes(glassgrad)
    x = _x(glassgrad, requires_grad=True)
    classes["Old"].apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 2), 2.0))
