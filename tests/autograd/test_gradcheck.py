"""``torch.autograd.gradcheck`` / ``gradgradcheck`` against PyTorch: verdicts and error texts."""

from __future__ import annotations

import re

import numpy as np
import pytest

from autograd_compare import assert_same, outcome


def _x(lib, dtype="float64"):
    return lib.tensor(
        np.arange(6.0).reshape(2, 3) / 7 - 0.3, dtype=getattr(lib, dtype), requires_grad=True
    )


def _half_square(lib):
    class HalfSquare(lib.autograd.Function):  # backward off by a factor of 2
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x

    return HalfSquare.apply


def _unused_grad(lib):
    class Leaky(lib.autograd.Function):  # backward ignores the incoming gradient
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return lib.ones_like(grad) * 0 + 2

    return Leaky.apply


CASES = {
    "wrong_backward": lambda lib, **kw: lib.autograd.gradcheck(_half_square(lib), (_x(lib),), **kw),
    "wrong_backward_no_raise": lambda lib, **kw: lib.autograd.gradcheck(
        _half_square(lib), (_x(lib),), raise_exception=False, **kw
    ),
    "good_sum": lambda lib, **kw: lib.autograd.gradcheck(lambda t: (t * t).sum(), (_x(lib),), **kw),
    "good_tuple_out": lambda lib, **kw: lib.autograd.gradcheck(
        lambda t: (t.sin(), t.exp() * 2), _x(lib), **kw
    ),
    "two_inputs_second_wrong": lambda lib, **kw: lib.autograd.gradcheck(
        lambda a, b: a * b.detach() + b, (_x(lib), _x(lib)), **kw
    ),
    "non_tensor_arg": lambda lib, **kw: lib.autograd.gradcheck(
        lambda a, k: a * k, (_x(lib), 3.0), **kw
    ),
    "float32_warns": lambda lib, **kw: lib.autograd.gradcheck(
        lambda t: t * 2, (_x(lib, "float32"),), **kw
    ),
    "none_requires_grad": lambda lib, **kw: lib.autograd.gradcheck(
        lambda t: t * 2, (lib.ones(2, dtype=lib.float64),), **kw
    ),
    "no_differentiable_output": lambda lib, **kw: lib.autograd.gradcheck(
        lambda t: (t * 2).detach(), (_x(lib),), **kw
    ),
    "not_multiplied_by_grad_output": lambda lib, **kw: lib.autograd.gradcheck(
        _unused_grad(lib), (_x(lib),), **kw
    ),
    "stride_zero": lambda lib, **kw: lib.autograd.gradcheck(
        lambda t: t * 2,
        (lib.ones(3, dtype=lib.float64).requires_grad_().expand(2, 3),),
        **kw,
    ),
    "gradgradcheck_good": lambda lib, **kw: lib.autograd.gradgradcheck(
        lambda t: (t**3).sum(), (_x(lib),), **kw
    ),
    "gradgradcheck_given_grad_outputs": lambda lib, **kw: lib.autograd.gradgradcheck(
        lambda t: t.sin() * t, (_x(lib),), (lib.ones(2, 3, dtype=lib.float64),), **kw
    ),
    "gradgradcheck_once_differentiable": lambda lib, **kw: lib.autograd.gradgradcheck(
        lambda t: _once(lib)(t), (_x(lib),), (lib.ones(2, 3, dtype=lib.float64),), **kw
    ),
}


def _once(lib):
    class Once(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    return Once.apply


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_matches_torch(name):
    assert_same(lambda lib: CASES[name](lib))


# fast mode: PyTorch's random vectors are reproduced exactly; its float64 sums and dot products
# run in a CPU-dependent SIMD order, so the two projected scalars may differ in the last bits
_NUMBER = re.compile(r"-?\d+\.\d{10,}(e-?\d+)?")


def _rounded(found):
    (value, warns) = found
    if isinstance(value, tuple) and value and value[0] == "raised":
        return (value[0], value[1], _NUMBER.sub(lambda m: f"{float(m.group()):.12g}", value[2]))
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_fast_mode_matches_torch(name):
    import torch

    import glassgrad

    want = outcome(lambda: CASES[name](torch, fast_mode=True))
    got = outcome(lambda: CASES[name](glassgrad, fast_mode=True))
    assert _rounded(got) == _rounded(want)


def test_gradcheck_error_class_and_module():
    import glassgrad
    from glassgrad.autograd.gradcheck import GradcheckError

    assert issubclass(GradcheckError, RuntimeError)
    assert glassgrad.autograd.gradcheck.GradcheckError is GradcheckError
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to"):
        glassgrad.autograd.gradcheck(_half_square(glassgrad), (_x(glassgrad),))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"check_forward_ad": False, "check_backward_ad": False},
        {"check_batched_grad": True, "check_backward_ad": False, "check_forward_ad": True},
        {"check_batched_forward_grad": True},
    ],
)
def test_gradcheck_option_assertions_match_torch(kwargs):
    assert_same(lambda lib: lib.autograd.gradcheck(lambda t: t * 2, (_x(lib),), **kwargs))


def test_gradgradcheck_option_assertions_match_torch():
    assert_same(
        lambda lib: lib.autograd.gradgradcheck(
            lambda t: t * 2, (_x(lib),), check_rev_over_rev=False, check_fwd_over_rev=True
        )
    )


def test_batched_grad_check_says_what_it_needs():
    import glassgrad

    with pytest.raises(RuntimeError, match="check_batched_grad=True needs vmap"):
        glassgrad.autograd.gradcheck(lambda t: t * 2, (_x(glassgrad),), check_batched_grad=True)
