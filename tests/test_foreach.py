"""``torch._foreach_*`` against PyTorch 2.13: every overload, in and out of place, errors and
gradients, and a timm-style optimizer written with them."""

import numpy as np
import pytest
import torch

import glassgrad

SHAPES = [(3,), (2, 3), ()]


def _lists(lib, dtype=np.float32, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    return [lib.tensor(a) for a in arrays]


def _numpy(result):
    if isinstance(result, (list, tuple)):
        return [_numpy(r) for r in result]
    return result.detach().numpy()


def _compare(want, got):
    assert type(got) is type(want)
    assert len(got) == len(want)
    for w, g in zip(want, got, strict=True):
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(_numpy(g), _numpy(w), rtol=1e-6, atol=1e-7)


def _both(call, dtype=np.float32, positive=False):
    """``call(lib, a, b, c)`` for both libraries on the same three tensor lists."""
    out = []
    for lib in (torch, glassgrad):
        a, b, c = (_lists(lib, dtype, seed, positive) for seed in range(3))
        out.append((call(lib, a, b, c), a))
    return out


UNARY = (
    "abs acos asin atan ceil cos cosh erf erfc exp expm1 floor frac lgamma log log10 log1p log2"
    " neg reciprocal round rsqrt sigmoid sign sin sinh sqrt tan tanh trunc"
).split()
DOMAIN_LIMITED = {"acos", "asin", "log", "log10", "log2", "rsqrt", "sqrt", "log1p", "lgamma"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_in_and_out_of_place(name, dtype):
    positive = name in DOMAIN_LIMITED
    if name in ("acos", "asin"):
        scale = lambda t: t * 0.3  # noqa: E731 - keep |x| < 1
    else:
        scale = lambda t: t  # noqa: E731
    (want, _), (got, _) = _both(
        lambda lib, a, b, c: getattr(lib, f"_foreach_{name}")([scale(t) for t in a]),
        dtype,
        positive,
    )
    _compare(want, got)
    results = []
    for lib in (torch, glassgrad):
        tensors = [scale(t) for t in _lists(lib, dtype, 0, positive)]
        assert getattr(lib, f"_foreach_{name}_")(tensors) is tensors
        results.append(tuple(tensors))
    _compare(*results)


BINARY = [
    ("add", lambda lib, a, b: 2.5),
    ("add", lambda lib, a, b: [1, 2.0, -3.5]),
    ("add", lambda lib, a, b: b),
    ("add", lambda lib, a, b: lib.tensor(1.5)),
    ("sub", lambda lib, a, b: 0.5),
    ("sub", lambda lib, a, b: [0.5, 1.0, 2.0]),
    ("sub", lambda lib, a, b: b),
    ("mul", lambda lib, a, b: 3.0),
    ("mul", lambda lib, a, b: [3.0, -1, 0.5]),
    ("mul", lambda lib, a, b: b),
    ("mul", lambda lib, a, b: lib.tensor(-2.0)),
    ("div", lambda lib, a, b: 4.0),
    ("div", lambda lib, a, b: [4.0, 2.0, -1.0]),
    ("div", lambda lib, a, b: b),
    ("div", lambda lib, a, b: lib.tensor(8.0)),
    ("maximum", lambda lib, a, b: 0.1),
    ("maximum", lambda lib, a, b: [0.1, 0.2, -0.3]),
    ("maximum", lambda lib, a, b: b),
    ("minimum", lambda lib, a, b: 0.1),
    ("minimum", lambda lib, a, b: b),
    ("clamp_min", lambda lib, a, b: 0.0),
    ("clamp_min", lambda lib, a, b: [0.0, -0.5, 0.5]),
    ("clamp_min", lambda lib, a, b: b),
    ("clamp_max", lambda lib, a, b: 0.0),
    ("clamp_max", lambda lib, a, b: b),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "case", range(len(BINARY)), ids=[f"{n}-{i}" for i, (n, _) in enumerate(BINARY)]
)
def test_binary_overloads(case, dtype):
    name, other = BINARY[case]
    (want, _), (got, _) = _both(
        lambda lib, a, b, c: getattr(lib, f"_foreach_{name}")(a, other(lib, a, b)), dtype
    )
    _compare(want, got)
    (_, want_a), (_, got_a) = _both(
        lambda lib, a, b, c: getattr(lib, f"_foreach_{name}_")(a, other(lib, a, b)), dtype
    )
    _compare(tuple(want_a), tuple(got_a))


@pytest.mark.parametrize("name", ["add", "sub"])
def test_alpha_on_tensor_lists(name):
    (want, _), (got, _) = _both(
        lambda lib, a, b, c: getattr(lib, f"_foreach_{name}")(a, b, alpha=-2.5)
    )
    _compare(want, got)
    (_, want_a), (_, got_a) = _both(
        lambda lib, a, b, c: getattr(lib, f"_foreach_{name}_")(a, b, alpha=0.5)
    )
    _compare(tuple(want_a), tuple(got_a))


VALUES = [
    lambda lib: 1,
    lambda lib: -0.5,
    lambda lib: [0.5, 2.0, -1.0],
    lambda lib: lib.tensor([0.5, 2.0, -1.0]),
]


@pytest.mark.parametrize("value", range(len(VALUES)))
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_pointwise_overloads(name, value):
    make = VALUES[value]
    (want, _), (got, _) = _both(
        lambda lib, a, b, c: getattr(lib, f"_foreach_{name}")(a, b, c, make(lib)), positive=True
    )
    _compare(want, got)
    (_, want_a), (_, got_a) = _both(
        lambda lib, a, b, c: getattr(lib, f"_foreach_{name}_")(a, b, c, make(lib)), positive=True
    )
    _compare(tuple(want_a), tuple(got_a))


WEIGHTS = [lambda lib, c: 0.25, lambda lib, c: [0.1, 0.7, 0.5], lambda lib, c: c]


@pytest.mark.parametrize("weight", range(len(WEIGHTS)))
def test_lerp_overloads(weight):
    make = WEIGHTS[weight]
    (want, _), (got, _) = _both(lambda lib, a, b, c: lib._foreach_lerp(a, b, make(lib, c)))
    _compare(want, got)
    (_, want_a), (_, got_a) = _both(lambda lib, a, b, c: lib._foreach_lerp_(a, b, make(lib, c)))
    _compare(tuple(want_a), tuple(got_a))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, a, b, c: lib._foreach_pow(a, 2),
        lambda lib, a, b, c: lib._foreach_pow(a, [2, 0.5, 3.0]),
        lambda lib, a, b, c: lib._foreach_pow(a, b),
        lambda lib, a, b, c: lib._foreach_pow(2.0, b),
        lambda lib, a, b, c: lib._foreach_norm(a),
        lambda lib, a, b, c: lib._foreach_norm(a, 1),
        lambda lib, a, b, c: lib._foreach_norm(a, float("inf")),
        lambda lib, a, b, c: lib._foreach_norm(a, 3, dtype=lib.float64),
        lambda lib, a, b, c: lib._foreach_powsum(a, 2),
        lambda lib, a, b, c: lib._foreach_powsum(a, 0.5),
        lambda lib, a, b, c: lib._foreach_max(a),
        lambda lib, a, b, c: lib._foreach_clone(a),
        lambda lib, a, b, c: lib._foreach_mm(
            [t.reshape(1, -1) for t in a], [t.reshape(-1, 1) for t in b]
        ),
    ],
)
def test_other_functions(call):
    (want, _), (got, _) = _both(call, positive=True)
    _compare(want, got)


def test_in_place_helpers_return_their_list():
    for lib in (torch, glassgrad):
        a, b = _lists(lib), _lists(lib, seed=1)
        assert lib._foreach_copy_(a, b) is a
        np.testing.assert_array_equal(_numpy(a[1]), _numpy(b[1]))
        assert lib._foreach_pow_(a, 2) is a
        assert lib._foreach_zero_(a) is a
        assert all(float(t.abs().sum()) == 0.0 for t in a)
        pair = tuple(_lists(lib))
        assert lib._foreach_mul_(pair, 2.0) is pair


def test_out_of_place_results_carry_gradients():
    grads = []
    for lib in (torch, glassgrad):
        # (PyTorch's foreach backward fails on 0-d tensors: select() of a 0-dim tensor)
        a = [t.requires_grad_() for t in _lists(lib, np.float64, positive=True)[:2]]
        b = _lists(lib, np.float64, 1)[:2]
        out = lib._foreach_addcdiv(lib._foreach_mul(a, b), a, lib._foreach_sqrt(a), 0.5)
        total = sum((o * o).sum() for o in lib._foreach_exp(lib._foreach_neg(out)))
        total.backward()
        grads.append([_numpy(t.grad) for t in a])
    for w, g in zip(*grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def _error(lib, action):
    with pytest.raises(Exception) as info:
        action(lib)
    return type(info.value).__name__, str(info.value).split("\n")[0]


ERRORS = {
    "empty": lambda lib: lib._foreach_add([], 1),
    "lengths": lambda lib: lib._foreach_add(_lists(lib), _lists(lib)[:1]),
    "scalars": lambda lib: lib._foreach_mul(_lists(lib), [1.0]),
    "shapes": lambda lib: lib._foreach_add([lib.ones(2)], [lib.ones(3)]),
    "not_a_list": lambda lib: lib._foreach_sqrt(lib.ones(2)),
    "invalid": lambda lib: lib._foreach_add(1, 1),
    "invalid_other": lambda lib: lib._foreach_add(_lists(lib), "x"),
    "element": lambda lib: lib._foreach_add(_lists(lib), [lib.ones(1), 2.0, 3.0]),
    "scalar_tensor": lambda lib: lib._foreach_mul(_lists(lib), lib.ones(2)),
    "packed_dim": lambda lib: lib._foreach_addcmul(
        _lists(lib), _lists(lib), _lists(lib), lib.tensor(1.0)
    ),
    "packed_len": lambda lib: lib._foreach_addcdiv(
        _lists(lib), _lists(lib), _lists(lib), lib.ones(2)
    ),
    "cast": lambda lib: lib._foreach_mul_([lib.ones(2, dtype=lib.int64)], 1.5),
    "leaf": lambda lib: lib._foreach_add_([lib.ones(2, requires_grad=True)], 1),
    "bool_neg": lambda lib: lib._foreach_neg([lib.tensor([True])]),
    "max_empty": lambda lib: lib._foreach_max([lib.ones(0)]),
    "norm_int": lambda lib: lib._foreach_norm([lib.tensor([1, 2])]),
    "copy_lengths": lambda lib: lib._foreach_copy_(_lists(lib), _lists(lib)[:2]),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    assert _error(glassgrad, ERRORS[case]) == _error(torch, ERRORS[case])


def _lion_like_step(lib, params, grads, exp_avgs, lr=1e-2, beta1=0.9, beta2=0.99, wd=0.1):
    """A multi-tensor Lion step written as timm writes its foreach optimizers."""
    lib._foreach_mul_(params, 1 - lr * wd)
    updates = lib._foreach_mul(exp_avgs, beta1)
    lib._foreach_add_(updates, grads, alpha=1 - beta1)
    updates = [u.sign() for u in updates]
    lib._foreach_add_(params, updates, alpha=-lr)
    lib._foreach_mul_(exp_avgs, beta2)
    lib._foreach_add_(exp_avgs, grads, alpha=1 - beta2)


def test_timm_style_foreach_optimizer_matches_torch():
    results = []
    for lib in (torch, glassgrad):
        params = _lists(lib, np.float64)
        exp_avgs = [lib.zeros_like(p) for p in params]
        for step in range(10):
            grads = lib._foreach_add(lib._foreach_sin(params), float(step) / 10)
            _lion_like_step(lib, params, grads, exp_avgs)
        norms = lib._foreach_norm(params)
        results.append(_numpy(params) + _numpy(list(norms)))
    for w, g in zip(*results, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)
