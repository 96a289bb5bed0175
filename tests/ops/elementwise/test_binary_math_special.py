"""Two-input elementwise math and special functions against PyTorch: values, dtypes, grad_fn
names, first and second-order gradients, edge values (nan, inf, ties, poles) and errors."""

import numpy as np
import pytest
import torch

import glassgrad as gg
from op_compare import check, r, same_error

RNG = np.random.default_rng(11)


def pos(*shape):
    return RNG.uniform(0.3, 3.0, shape)


CASES = {
    "logaddexp": (lambda t, a, b: t.logaddexp(a, b), r(2, 3), r(3)),
    "logaddexp_method": (lambda t, a, b: a.logaddexp(b), r(4), r(4) * 30),
    "logaddexp2": (lambda t, a, b: t.logaddexp2(a, b), r(2, 3), r(2, 3)),
    "hypot": (lambda t, a, b: t.hypot(a, b), r(2, 3), r(2, 1)),
    "xlogy": (lambda t, a, b: t.xlogy(a, b), r(2, 3), pos(2, 3)),
    "xlogy_zero_x": (lambda t, a, b: t.xlogy(a * 0, b), r(3), pos(3)),
    "xlogy_scalar_other": (lambda t, a: t.xlogy(a, 2.5), r(2, 3)),
    "xlogy_scalar_self": (lambda t, b: t.xlogy(3.0, b), pos(2, 3)),
    "copysign": (lambda t, a, b: t.copysign(a, b), r(2, 3), r(2, 3)),
    "copysign_scalar": (lambda t, a: a.copysign(-1.0), r(2, 3)),
    "fmax": (lambda t, a, b: t.fmax(a, b), r(2, 3), r(3)),
    "fmin": (lambda t, a, b: a.fmin(b), r(2, 3), r(2, 3)),
    "fmax_ties": (lambda t, a: t.fmax(a, a.detach() * 1), r(4)),
    "lgamma": (lambda t, a: t.lgamma(a), pos(2, 3)),
    "lgamma_negative": (lambda t, a: (a - 3.5).lgamma(), RNG.uniform(-0.4, 0.4, (5,))),
    "digamma": (lambda t, a: t.digamma(a), pos(2, 3)),
    "digamma_negative": (lambda t, a: (a - 2.5).digamma(), RNG.uniform(-0.4, 0.4, (5,))),
    "polygamma1": (lambda t, a: t.polygamma(1, a), pos(4)),
    "polygamma2_method": (lambda t, a: a.polygamma(2), pos(4)),
    "erfinv": (lambda t, a: t.erfinv(a), RNG.uniform(-0.95, 0.95, (2, 3))),
    "sinc": (lambda t, a: t.sinc(a), r(2, 3)),
    "sinc_zero": (lambda t, a: t.sinc(a * 0), r(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays)


def _both(fn, *arrays, dtype=None):
    out = []
    for lib in (torch, gg):
        tensors = [lib.tensor(a) if dtype is None else lib.tensor(a, dtype=dtype) for a in arrays]
        got = fn(lib, *tensors)
        out.append(got)
    return out


NAN, INF = float("nan"), float("inf")
EDGES = {
    "logaddexp": (
        lambda t, a, b: t.logaddexp(a, b),
        [-INF, INF, NAN, 3e38, -INF],
        [-INF, INF, 1.0, 3e38, 2.0],
    ),
    "logaddexp2": (
        lambda t, a, b: t.logaddexp2(a, b),
        [-INF, INF, NAN, 1.0],
        [-INF, 2.0, 1.0, 1.0],
    ),
    "hypot": (lambda t, a, b: t.hypot(a, b), [INF, NAN, 3e38, 0.0], [NAN, INF, 3e38, -0.0]),
    "xlogy": (lambda t, a, b: t.xlogy(a, b), [0.0, 0.0, 1.0, 2.0, 0.0], [NAN, 0.0, 0.0, -1.0, INF]),
    "copysign": (lambda t, a, b: t.copysign(a, b), [1.0, -2.0, 0.0, NAN], [-0.0, 0.0, -1.0, -1.0]),
    "fmax": (lambda t, a, b: t.fmax(a, b), [NAN, 1.0, NAN, -0.0], [1.0, NAN, NAN, 0.0]),
    "fmin": (lambda t, a, b: t.fmin(a, b), [NAN, 1.0, NAN, -0.0], [1.0, NAN, NAN, 0.0]),
    "heaviside": (lambda t, a, b: t.heaviside(a, b), [-1.0, 0.0, 2.0, NAN], [0.5, 0.5, 0.5, 0.5]),
}


@pytest.mark.parametrize("name", sorted(EDGES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_edge_values(name, dtype):
    fn, a, b = EDGES[name]
    theirs, ours = _both(fn, np.array(a, dtype), np.array(b, dtype))
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    number = ~np.isnan(theirs.numpy())  # the sign bit of a nan is the kernel's accident
    np.testing.assert_array_equal(
        np.signbit(ours.numpy()[number]), np.signbit(theirs.numpy()[number])
    )


def test_edge_gradients():
    a = [NAN, 1.0, NAN, 2.0, 0.0, 0.0, 1.0]
    b = [1.0, NAN, NAN, 2.0, 2.0, 0.0, 0.0]
    for name in ("fmax", "fmin", "xlogy", "copysign", "logaddexp", "hypot"):
        grads = []
        for lib in (torch, gg):
            x, y = (lib.tensor(v, requires_grad=True) for v in (a, b))
            getattr(lib, name)(x, y).sum().backward()
            grads.append((x.grad.numpy(), y.grad.numpy()))
        for ours, theirs in zip(grads[1], grads[0], strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=name)


@pytest.mark.parametrize(
    "case",
    [
        ("int_int", np.array([1, 2]), np.array([3, 4])),
        ("int_float", np.array([1, 2]), np.array([3.0, 4.0])),
        ("float32_float64", np.array([1.0, 2.0], "float32"), np.array([3.0, 4.0])),
        ("bool_bool", np.array([True, False]), np.array([False, False])),
    ],
    ids=lambda c: c[0] if isinstance(c, tuple) else str(c),
)
@pytest.mark.parametrize(
    "name", "logaddexp logaddexp2 hypot xlogy copysign fmax fmin heaviside".split()
)
def test_promotion_and_refusals(name, case):
    _, a, b = case
    outcomes = []
    for lib in (torch, gg):
        try:
            got = getattr(lib, name)(lib.tensor(a), lib.tensor(b))
            outcomes.append((str(got.dtype), got.numpy().tolist()))
        except (RuntimeError, NotImplementedError) as exc:
            outcomes.append((type(exc).__name__, str(exc)))
    assert outcomes[1][0] == outcomes[0][0]
    if outcomes[0][0].startswith("torch."):
        np.testing.assert_allclose(outcomes[1][1], outcomes[0][1], rtol=1e-6)
    else:
        assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize("name", "logaddexp logaddexp2 hypot fmax fmin heaviside".split())
def test_number_operand_is_refused(name):
    same_error(lambda t, a: getattr(t, name)(a, 2.0), r(3))


def test_heaviside_records_no_derivative():
    messages = []
    for lib in (torch, gg):
        x = lib.tensor([1.0, -2.0, 0.0], requires_grad=True)
        out = lib.heaviside(x, lib.tensor(0.5))
        assert type(out.grad_fn).__name__ == "NotImplemented"
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_signbit():
    values = np.array([-1.0, -0.0, 0.0, 2.0, -INF, NAN])
    for dtype in ("float64", "float32"):
        ours = gg.signbit(gg.tensor(values.astype(dtype)))
        theirs = torch.signbit(torch.tensor(values.astype(dtype)))
        assert str(ours.dtype) == str(theirs.dtype) == "torch.bool"
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert gg.tensor([-3, 4]).signbit().tolist() == [True, False]


SPECIAL_POINTS = np.concatenate(
    [
        np.linspace(-30, 30, 6001) + 1e-3,
        np.logspace(-8, 8, 200),
        [0.0, -0.0, -1.0, -2.0, 1.0, 2.0, 0.5, INF, -INF, NAN, 1e-300, 171.5],
    ]
)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "sinc"])
def test_special_functions_to_float64_tolerance(name):
    ours = getattr(gg, name)(gg.tensor(SPECIAL_POINTS)).numpy()
    theirs = getattr(torch, name)(torch.tensor(SPECIAL_POINTS)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_polygamma_to_float64_tolerance(n):
    points = np.concatenate([np.linspace(-9.9, 30, 400) + 1e-3, np.logspace(-4, 6, 50)])
    ours = gg.polygamma(n, gg.tensor(points)).numpy()
    theirs = torch.polygamma(n, torch.tensor(points)).numpy()
    # PyTorch's trigamma kernel is itself accurate to ~1e-9 relative
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_erfinv_to_float64_tolerance():
    tails = 1 - np.logspace(-16, -1, 60)
    points = np.concatenate([np.linspace(-0.999, 0.999, 2001), tails, -tails])
    points = np.concatenate([points, [1.0, -1.0, 1.5, -2.0, 0.0, -0.0, NAN]])
    ours = gg.erfinv(gg.tensor(points)).numpy()
    theirs = torch.erfinv(torch.tensor(points)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_special_dtypes():
    for name in ("lgamma", "digamma", "erfinv", "sinc"):
        for values in (np.array([1, 2]), np.array([0.5, 0.25], "float32")):
            ours = getattr(gg, name)(gg.tensor(values))
            theirs = getattr(torch, name)(torch.tensor(values))
            assert str(ours.dtype) == str(theirs.dtype), name
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert str(gg.polygamma(1, gg.tensor([1, 2])).dtype) == "torch.float32"
    same_error(lambda t, a: t.polygamma(-1, a), r(3))


# -- products and rearrangements --------------------------------------------------------------
MISC = {
    "cross": (lambda t, a, b: t.cross(a, b, dim=1), r(2, 3), r(2, 3)),
    "cross_broadcast": (lambda t, a, b: t.linalg.cross(a, b), r(4, 3), r(1, 3)),
    "cross_method": (lambda t, a, b: a.cross(b, dim=0), r(3, 2), r(3, 2)),
    "tensordot2": (lambda t, a, b: t.tensordot(a, b), r(2, 3, 4), r(3, 4, 2)),
    "tensordot_lists": (
        lambda t, a, b: t.tensordot(a, b, dims=([0, 1], [2, 1])),
        r(2, 3),
        r(4, 3, 2),
    ),
    "tensordot_outer": (lambda t, a, b: t.tensordot(a, b, dims=0), r(2), r(3)),
    "kron": (lambda t, a, b: t.kron(a, b), r(2, 3), r(3, 2)),
    "kron_ranks": (lambda t, a, b: a.kron(b), r(2), r(2, 1, 3)),
    "diff": (lambda t, a: t.diff(a), r(2, 5)),
    "diff_n2_dim0": (lambda t, a: a.diff(n=2, dim=0), r(4, 3)),
    "diff_ends": (lambda t, a, b, c: t.diff(a, prepend=b, append=c), r(2, 3), r(2, 1), r(2, 2)),
    "diff_n0": (lambda t, a: t.diff(a, n=0) * 1, r(3)),
    "meshgrid_ij": (lambda t, a, b: t.meshgrid(a, b, indexing="ij"), r(3), r(2)),
    "meshgrid_xy": (lambda t, a, b, c: t.meshgrid(a, b, c, indexing="xy"), r(3), r(2), r(4)),
    "meshgrid_list": (lambda t, a, b: t.meshgrid([a, b], indexing="xy"), r(3), r(2)),
    "cartesian_prod": (lambda t, a, b: t.cartesian_prod(a, b), r(3), r(2)),
    "cartesian_prod3": (lambda t, a, b, c: t.cartesian_prod(a, b, c), r(2), r(2), r(3)),
    "block_diag": (lambda t, a, b, c: t.block_diag(a, b, c), r(2, 3), r(3), r(1, 2)),
    "block_diag_scalar": (lambda t, a, b: t.block_diag(a.sum(), b), r(2), r(2, 2)),
    "rot90": (lambda t, a: t.rot90(a), r(2, 3)),
    "rot90_k": (lambda t, a: a.rot90(3, [2, 0]), r(2, 3, 4)),
    "rot90_neg": (lambda t, a: a.rot90(-2), r(2, 3)),
    "repeat_interleave": (lambda t, a: t.repeat_interleave(a, 2), r(2, 3)),
    "repeat_interleave_dim": (lambda t, a: a.repeat_interleave(3, dim=1), r(2, 3)),
    "repeat_interleave_tensor": (
        lambda t, a: a.repeat_interleave(t.tensor([1, 0, 2]), dim=0),
        r(3, 2),
    ),
}


@pytest.mark.parametrize("name", sorted(MISC))
def test_misc_matches_torch(name):
    fn, *arrays = MISC[name]
    check(fn, *arrays)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf"), 0.0])
def test_cdist(p):
    # PyTorch has no double backward for cdist (it raises), so only first order is compared
    check(lambda t, a, b: t.cdist(a, b, p=p), r(2, 3, 4), r(2, 5, 4), second=False)


def test_cdist_second_order_against_central_differences():
    a, b = r(3, 2), r(4, 2)
    x = gg.tensor(a, requires_grad=True)
    y = gg.tensor(b)
    (grad,) = gg.autograd.grad(gg.cdist(x, y).sum(), [x], create_graph=True)
    (second,) = gg.autograd.grad((grad * grad).sum(), [x])

    def first(values):
        z = gg.tensor(values, requires_grad=True)
        (g,) = gg.autograd.grad(gg.cdist(z, y).sum(), [z])
        return float((g * g).sum())

    numeric = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[index] += 1e-6
        down[index] -= 1e-6
        numeric[index] = (first(up) - first(down)) / 2e-6
    np.testing.assert_allclose(second.numpy(), numeric, rtol=1e-5, atol=1e-7)


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        grids = gg.meshgrid(gg.tensor([1.0, 2.0]), gg.tensor([3.0, 4.0, 5.0]))
    assert [tuple(g.shape) for g in grids] == [(2, 3), (2, 3)]


def test_cross_without_dim_warns_and_picks_the_first_dim_of_three():
    a, b = r(3, 3), r(3, 3)
    with pytest.warns(UserWarning, match="without specifying the dim arg is deprecated"):
        ours = gg.cross(gg.tensor(a), gg.tensor(b))
    with pytest.warns(UserWarning):
        theirs = torch.cross(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_repeat_interleave_counts_and_isclose():
    counts = np.array([2, 0, 3])
    ours = gg.repeat_interleave(gg.tensor(counts))
    theirs = torch.repeat_interleave(torch.tensor(counts))
    assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype)
    a = np.array([1.0, INF, NAN, -INF, 1e-9, 100.0])
    b = np.array([1.0 + 1e-6, INF, NAN, INF, 0.0, 100.1])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 1e-2, "atol": 0.0}):
        ours = gg.isclose(gg.tensor(a), gg.tensor(b), **kwargs)
        theirs = torch.isclose(torch.tensor(a), torch.tensor(b), **kwargs)
        assert str(ours.dtype) == "torch.bool"
        assert ours.tolist() == theirs.tolist()
        assert gg.tensor(a).isclose(gg.tensor(b), **kwargs).tolist() == theirs.tolist()
    assert gg.isclose(gg.tensor([1, 2]), gg.tensor([1, 3])).tolist() == [True, False]


MISC_ERRORS = [
    (lambda t, a: t.linalg.cross(a, a[:, :2]), r(2, 3)),
    (lambda t, a: t.cross(a, a, dim=0), r(2, 3)),
    (lambda t, a: t.linalg.cross(a, a[0]), r(2, 3)),
    (lambda t, a: t.tensordot(a, a, dims=-1), r(2, 3)),
    (lambda t, a: t.tensordot(a, a, dims=1), r(2, 3)),
    (lambda t, a: t.diff(a, n=-1), r(2, 3)),
    (lambda t, a: t.diff(a.sum()), r(2, 3)),
    (lambda t, a: t.cdist(a, a[:, :2]), r(2, 3)),
    (lambda t, a: t.cdist(a[0], a), r(2, 3)),
    (lambda t, a: t.rot90(a, 1, [0, 0]), r(2, 3)),
    (lambda t, a: t.rot90(a, 1, [0]), r(2, 3)),
    (lambda t, a: t.block_diag(a, a.reshape(1, 2, 3)), r(2, 3)),
    (lambda t, a: t.meshgrid(a, indexing="yx"), r(3)),
    (lambda t, a: t.isclose(a, a.float()), r(2, 3)),
    (lambda t, a: t.repeat_interleave(a, -1), r(2, 3)),
]


@pytest.mark.parametrize("case", range(len(MISC_ERRORS)))
def test_misc_errors_match_torch(case):
    fn, *arrays = MISC_ERRORS[case]
    same_error(fn, *arrays)
