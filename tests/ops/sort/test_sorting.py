"""Sorting and selection ops against PyTorch: NaN order, ties, return types, errors, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad

NAN = float("nan")


def both(data, dtype=None, grad=False):
    """The same data as a glassgrad and a torch tensor."""
    ours = glassgrad.tensor(data, dtype=getattr(glassgrad, dtype) if dtype else None)
    theirs = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    if grad:
        ours.requires_grad_()
        theirs.requires_grad_()
    return ours, theirs


def same(ours, theirs):
    """Equal values (NaN where NaN), dtypes, shapes and grad_fn names, also inside tuples."""
    if isinstance(theirs, tuple):
        assert type(ours).__name__ == type(theirs).__name__
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            same(o, t)
        return
    assert str(ours.dtype) == str(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


def call(name, ours, theirs, *args, **kwargs):
    """Run ``name`` as a function and as a method in both libraries; the results must agree."""
    for style in ("function", "method"):
        if style == "function":
            got = getattr(glassgrad, name)(ours, *args, **kwargs)
            want = getattr(torch, name)(theirs, *args, **kwargs)
        else:
            got = getattr(ours, name)(*args, **kwargs)
            want = getattr(theirs, name)(*args, **kwargs)
        same(got, want)
    return got, want


def empty(*shape):
    """An empty tensor of ``shape`` in both libraries."""
    return glassgrad.zeros(shape), torch.zeros(shape)


def raises_alike(fn_ours, fn_theirs):
    with pytest.raises(Exception) as theirs:
        fn_theirs()
    with pytest.raises(type(theirs.value)) as ours:
        fn_ours()
    assert str(ours.value) == str(theirs.value)


TIES = [[3.0, NAN, 1.0, 3.0, -0.0, 0.0], [2.0, 2.0, -1.0, NAN, NAN, 2.0]]


# -- sort / argsort / msort ------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("stable", [None, False, True])
def test_sort_nan_last_and_stable_ties(dim, descending, stable):
    ours, theirs = both(TIES, grad=True)
    kwargs = {} if stable is None else {"stable": stable}
    got, want = call("sort", ours, theirs, dim=dim, descending=descending, **kwargs)
    weights = torch.arange(12.0).reshape(2, 6)
    (got.values * glassgrad.tensor(weights.numpy())).sum().backward()
    (want.values * weights).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    got_index = glassgrad.argsort(ours, dim=dim, descending=descending)
    np.testing.assert_array_equal(got_index.numpy(), want.indices.numpy())


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32", "bool", "uint8"])
def test_sort_integer_and_bool_dtypes(dtype):
    data = [[1, 0, 1, 1], [0, 0, 1, 0]] if dtype == "bool" else [[3, 1, 3, 2], [0, 5, 5, 0]]
    ours, theirs = both(data, dtype)
    call("sort", ours, theirs, descending=True)
    call("sort", ours, theirs, 0)
    call("argsort", ours, theirs, dim=0, descending=True)
    call("msort", ours, theirs)


def test_long_rows_with_ties():
    # stable=True is stable in PyTorch at any length (its default sort is past 16 elements
    # not); the other ops' values agree and their indices point at those values
    data = np.random.default_rng(2).integers(0, 4, (3, 40)).tolist()
    ours, theirs = both(data)
    for descending in (False, True):
        call("sort", ours, theirs, descending=descending, stable=True)
        call("argsort", ours, theirs, descending=descending, stable=True)
    call("cummax", ours, theirs, 1)
    call("cummin", ours, theirs, 1)
    for name, args in (("topk", (7,)), ("kthvalue", (9,)), ("median", (1,)), ("mode", (1,))):
        got, want = getattr(glassgrad, name)(ours, *args), getattr(torch, name)(theirs, *args)
        same(got.values, want.values)
        picked = np.take_along_axis(np.array(data), got.indices.numpy().reshape(3, -1), 1)
        np.testing.assert_array_equal(picked.reshape(tuple(got.values.shape)), want.values.numpy())


def test_sort_return_type_repr_unpack_and_index():
    ours, theirs = both([[2.0, 1.0, 3.0]], grad=True)
    got, want = glassgrad.sort(ours), torch.sort(theirs)
    assert repr(got) == repr(want)
    assert repr(glassgrad.sort(ours.detach())) == repr(torch.sort(theirs.detach()))
    values, indices = got
    assert values is got[0] is got.values and indices is got[1] is got.indices
    assert got[-1] is indices and isinstance(got, tuple) and len(got) == 2
    assert type(got).__module__ == type(want).__module__ == "torch.return_types"


def test_sort_zero_dim_and_empty():
    for data in (3.0, [], [[]]):
        ours, theirs = both(data)
        call("sort", ours, theirs)
        call("argsort", ours, theirs)
        call("msort", ours, theirs)
    for shape in ((0, 3), (3, 0)):
        call("sort", *empty(*shape), 0)
        call("argsort", *empty(*shape), 1)


def test_sort_errors():
    ours, theirs = both([[1.0, 2.0]])
    raises_alike(lambda: ours.sort(2), lambda: theirs.sort(2))
    raises_alike(lambda: glassgrad.argsort(ours, -3), lambda: torch.argsort(theirs, -3))
    raises_alike(lambda: glassgrad.cummax(ours, 2), lambda: torch.cummax(theirs, 2))


def test_sort_double_backward():
    ours, theirs = both([[0.3, -1.2, 2.0], [1.0, 0.5, -0.1]], grad=True)
    grads = []
    for lib, x in ((glassgrad, ours), (torch, theirs)):
        values = lib.sort(x, dim=1, descending=True).values
        (first,) = lib.autograd.grad((values**3).sum(), x, create_graph=True)
        (second,) = lib.autograd.grad((first * lib.arange(6.0).reshape(2, 3)).sum(), x)
        grads.append((first.detach().numpy(), second.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])


# -- topk ------------------------------------------------------------------------------------
def test_topk_nan_is_largest_and_gradient():
    # one NaN per row: among several NaN PyTorch's choice is unspecified (std::nth_element)
    data = [[3.0, NAN, 1.0, 5.0, 0.5], [-1.0, 2.0, 4.0, NAN, 7.0]]
    for largest in (True, False):
        for k in range(6):
            ours, theirs = both(data, grad=True)
            got, want = call("topk", ours, theirs, k, largest=largest)
            if k == 0:
                continue
            got.values.sum().backward()
            want.values.sum().backward()
            np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_topk_dims_keep_shape_and_repr():
    rng = np.random.default_rng(0)
    ours, theirs = both(rng.standard_normal((3, 4, 5)).tolist(), grad=True)
    for dim in (0, 1, 2, -2):
        got, want = call("topk", ours, theirs, 2, dim)
    assert repr(glassgrad.topk(ours, 2)) == repr(torch.topk(theirs, 2)).replace("\n", "\n")


def test_topk_errors():
    ours, theirs = both([[1.0, 2.0]])
    raises_alike(lambda: ours.topk(3), lambda: theirs.topk(3))
    raises_alike(lambda: ours.topk(-1), lambda: theirs.topk(-1))
    raises_alike(lambda: ours.topk(1, 2), lambda: theirs.topk(1, 2))
    ours, theirs = both([True, False])
    raises_alike(lambda: ours.topk(1), lambda: theirs.topk(1))


# -- kthvalue / median / nanmedian -----------------------------------------------------------
def test_kthvalue_all_k_and_nan():
    data = [3.0, NAN, 1.0, 5.0, 0.25, -2.0]
    for k in range(1, 7):
        ours, theirs = both(data, grad=True)
        got, want = call("kthvalue", ours, theirs, k)
        got.values.backward()
        want.values.backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_kthvalue_keepdim_and_errors():
    rng = np.random.default_rng(1)
    ours, theirs = both(rng.standard_normal((3, 4)).tolist())
    call("kthvalue", ours, theirs, 2, 0, True)
    call("kthvalue", ours, theirs, 4, dim=-1, keepdim=False)
    raises_alike(lambda: ours.kthvalue(5), lambda: theirs.kthvalue(5))
    raises_alike(lambda: ours.kthvalue(0, 0), lambda: theirs.kthvalue(0, 0))
    ours, theirs = empty(0, 3)
    raises_alike(lambda: ours.kthvalue(1, 0), lambda: theirs.kthvalue(1, 0))
    ours, theirs = both([True])
    raises_alike(lambda: ours.kthvalue(1), lambda: theirs.kthvalue(1))


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize(
    "data",
    [
        [1.0, 3.0, 3.0, 2.0],
        [4.0, 1.0, 2.0, 3.0, 5.0],
        [1.0, NAN, NAN, 2.0],
        [1.0, NAN, 3.0, 3.0, 3.0, 2.0],
        [NAN, NAN],
        [],
        7.0,
    ],
)
def test_full_median_lower_and_shared_gradient(name, data):
    ours, theirs = both(data, grad=True)
    got, want = call(name, ours, theirs)
    if want.requires_grad:
        got.backward()
        want.backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_dim_nan_rows(name):
    data = [[3.0, NAN, 1.0, 5.0], [NAN, 7.0, NAN, NAN], [4.0, 0.5, 2.0, NAN], [1.0, 2.0, 3.0, 4.0]]
    for dim, keepdim in ((1, False), (-1, True), (0, False)):
        ours, theirs = both(data, grad=True)
        got, want = call(name, ours, theirs, dim, keepdim)
        (
            got.values * glassgrad.arange(1.0, 1.0 + got.values.numel()).reshape(got.values.shape)
        ).sum().backward()
        (
            want.values * torch.arange(1.0, 1.0 + want.values.numel()).reshape(want.values.shape)
        ).sum().backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert repr(getattr(glassgrad, name)(both(data)[0], 1)) == repr(
        getattr(torch, name)(both(data)[1], 1)
    )


def test_median_integer_and_errors():
    ours, theirs = both([[1, 5, 2, 7], [3, 3, 9, 0]])
    call("median", ours, theirs)
    call("nanmedian", ours, theirs)
    ours, theirs = both([True, False])
    raises_alike(lambda: ours.median(), lambda: theirs.median())
    ours, theirs = empty(0, 3)
    raises_alike(lambda: ours.median(0), lambda: theirs.median(0))
    call("median", ours, theirs, 1)
    call("median", *empty(3, 0), 0)
    ours, theirs = both([1.0, 2.0])
    raises_alike(
        lambda: glassgrad.median(ours, keepdim=True), lambda: torch.median(theirs, keepdim=True)
    )


def test_all_nan_rows():
    # all-NaN rows of up to 3 elements: PyTorch's index is then the first (for longer rows it
    # is std::nth_element's choice); the value is NaN either way
    call("nanmedian", *both([[NAN, NAN, NAN], [NAN, 2.0, NAN]]), 1)
    call("median", *both([[NAN, NAN, NAN, NAN], [1.0, NAN, 2.0, NAN]]), 1)
    got = glassgrad.nanmedian(glassgrad.tensor([NAN] * 6), 0)
    assert np.isnan(got.values.item()) and np.isnan(glassgrad.tensor([NAN] * 6)[got.indices].item())


# -- mode ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 2, 3, 2],
        [5, 1, 1, 5, 5, 1],
        [2, 2, 2, 2],
        [0, 1, 0, 1, 0, 1],
        [4, 3, 3, 4, 3, 4, 4, 3],
        [[1, 1, 2], [3, 2, 2]],
        [[7, 1, 7, 1, 2, 2, 9, 1, 7, 3, 3, 3, 0, 7, 3, 1]],
    ],
)
def test_mode_smallest_most_frequent_last_index(data):
    for dtype in ("int64", "float64"):
        ours, theirs = both(data, dtype)
        call("mode", ours, theirs)
        call("mode", ours, theirs, 0, True)


def test_mode_gradient_bool_zero_dim_and_errors():
    ours, theirs = both([[1.0, 2.0, 2.0], [0.5, 0.5, 3.0]], grad=True)
    got, want = call("mode", ours, theirs, 1)
    got.values.sum().backward()
    want.values.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    call("mode", *both([True, False, True]))
    call("mode", *both(2.0))
    ours, theirs = empty(2, 0)
    raises_alike(lambda: ours.mode(), lambda: theirs.mode())


# -- cummax / cummin -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cumulative_ties_nan_and_gradient(name):
    data = [[1.0, 3.0, 3.0, 2.0, 3.0, NAN, 0.0, NAN], [3.0, 1.0, 1.0, 2.0, 1.0, 1.0, -1.0, -1.0]]
    for dim in (0, 1, -1):
        ours, theirs = both(data, grad=True)
        got, want = call(name, ours, theirs, dim)
        weights = np.arange(16.0).reshape(2, 8)
        (got.values * glassgrad.tensor(weights)).sum().backward()
        (want.values * torch.tensor(weights)).sum().backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cumulative_dtypes_and_shapes(name):
    call(name, *both([1, 3, 3, 2, 3]), 0)
    call(name, *both([True, False, True]), 0)
    call(name, *both(3.0), 0)
    call(name, *empty(0, 3), 0)
    ours, theirs = both([1.0])
    raises_alike(lambda: getattr(ours, name)(), lambda: getattr(theirs, name)())


# -- aminmax ---------------------------------------------------------------------------------
def test_aminmax_fields_repr_and_tied_gradients():
    data = [[1.0, 3.0, 1.0, 3.0], [2.0, 2.0, 2.0, 0.0]]
    for kwargs in ({}, {"dim": 1, "keepdim": True}, {"dim": 0}):
        ours, theirs = both(data, grad=True)
        got, want = call("aminmax", ours, theirs, **kwargs)
        assert repr(got) == repr(want)
        assert got.min is got[0] and got.max is got[1]
        low, high = got
        weights = np.arange(1.0, 1.0 + low.numel()).reshape(tuple(low.shape))
        (low * glassgrad.tensor(weights) + high * 100).sum().backward()
        (want.min * torch.tensor(weights) + want.max * 100).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())


def test_aminmax_nan_dtypes_and_errors():
    call("aminmax", *both([[0.0, 1.0, NAN], [0.0, 0.0, 2.0]]), dim=1)
    call("aminmax", *both([[0, 1, 3], [0, 0, 2]]), dim=0)
    call("aminmax", *both([True, False]))
    call("aminmax", *both(3.0), dim=0)
    call("aminmax", *empty(0, 3), dim=1)
    raises_alike(
        lambda: glassgrad.aminmax(glassgrad.zeros(0)), lambda: torch.aminmax(torch.zeros(0))
    )
    ours, theirs = empty(0, 3)
    raises_alike(lambda: ours.aminmax(dim=0), lambda: theirs.aminmax(dim=0))


# -- unique / unique_consecutive -------------------------------------------------------------
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
def test_unique_nan_distinct_inverse_counts(inverse, counts):
    data = [[3.0, 1.0, NAN], [3.0, 2.0, NAN], [1.0, -0.0, 0.0]]
    ours, theirs = both(data, grad=True)
    got, want = call("unique", ours, theirs, return_inverse=inverse, return_counts=counts)
    assert isinstance(got, tuple) == isinstance(want, tuple) == (inverse or counts)
    call("unique", *both([[2, 1], [1, 2]]), sorted=False, return_inverse=inverse)
    call("unique", *both([True, False, True]), return_counts=counts)
    call("unique", *both(5.0), return_inverse=inverse, return_counts=counts)
    call("unique", *empty(0), return_inverse=inverse, return_counts=counts)


def test_unique_dim():
    data = [[1, 2, 1], [1, 2, 1], [0, 5, 0], [1, 2, 1]]
    for dim in (0, 1, -1):
        call("unique", *both(data), dim=dim, return_inverse=True, return_counts=True)
        call("unique_consecutive", *both(data), dim=dim, return_inverse=True, return_counts=True)
    call("unique", *empty(0, 3), dim=0, return_counts=True)
    ours, theirs = empty(3, 0)
    raises_alike(lambda: ours.unique(dim=0), lambda: theirs.unique(dim=0))
    raises_alike(lambda: ours.unique(dim=2), lambda: theirs.unique(dim=2))
    ours, theirs = both(3.0)
    raises_alike(lambda: ours.unique(dim=0), lambda: theirs.unique(dim=0))


def test_unique_consecutive_runs():
    data = [1, 1, 2, 2, 3, 1, 1, 2]
    call("unique_consecutive", *both(data), return_inverse=True, return_counts=True)
    call("unique_consecutive", *both([[1, 1], [2, 1]]), return_inverse=True)
    call("unique_consecutive", *both([NAN, NAN, 1.0, 1.0]), return_counts=True)
    call("unique_consecutive", *both(3.0), return_inverse=True)
    call("unique_consecutive", *empty(3, 0), return_counts=True)


@pytest.mark.parametrize(
    ("name", "kwargs", "op"),
    [
        ("unique", {}, "_unique2"),
        ("unique", {"dim": 0}, "unique_dim"),
        ("unique_consecutive", {}, "unique_consecutive"),
    ],
)
def test_unique_is_not_differentiable(name, kwargs, op):
    ours, theirs = both([[3.0, 1.0], [3.0, 1.0]], grad=True)
    got, want = call(name, ours, theirs, **kwargs)
    with pytest.raises(NotImplementedError) as their_error:
        want.sum().backward()
    with pytest.raises(NotImplementedError) as our_error:
        got.sum().backward()
    assert (
        str(our_error.value)
        == str(their_error.value)
        == (f"the derivative for '{op}' is not implemented.")
    )


# -- searchsorted / bucketize / isin / count_nonzero -----------------------------------------
def test_searchsorted_sides_nan_and_dtypes():
    bounds = [1.0, 3.0, 3.0, 5.0, 7.0]
    values = [[0.0, 3.0, 6.0, NAN], [3.0, 5.0, 1.0, 9.0]]
    for kwargs in ({}, {"right": True}, {"side": "right"}, {"side": "left"}, {"out_int32": True}):
        got = glassgrad.searchsorted(glassgrad.tensor(bounds), glassgrad.tensor(values), **kwargs)
        same(got, torch.searchsorted(torch.tensor(bounds), torch.tensor(values), **kwargs))
        got = glassgrad.bucketize(
            glassgrad.tensor(values),
            glassgrad.tensor(bounds),
            **{k: v for k, v in kwargs.items() if k != "side"},
        )
        want = torch.bucketize(
            torch.tensor(values),
            torch.tensor(bounds),
            **{k: v for k, v in kwargs.items() if k != "side"},
        )
        same(got, want)
    same(
        glassgrad.searchsorted(glassgrad.tensor(bounds), 3.0),
        torch.searchsorted(torch.tensor(bounds), 3.0),
    )
    same(
        glassgrad.bucketize(3.0, glassgrad.tensor(bounds)),
        torch.bucketize(3.0, torch.tensor(bounds)),
    )
    same(
        glassgrad.searchsorted(glassgrad.tensor([1, 2, 3]), glassgrad.tensor([2.5])),
        torch.searchsorted(torch.tensor([1, 2, 3]), torch.tensor([2.5])),
    )


def test_searchsorted_rows_sorter_and_errors():
    rows = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]
    probe = [[[2.5, 0.0], [4.0, 7.0]]]
    same(
        glassgrad.searchsorted(glassgrad.tensor(rows), glassgrad.tensor(probe), right=True),
        torch.searchsorted(torch.tensor(rows), torch.tensor(probe), right=True),
    )
    sorter = [1, 2, 0]
    same(
        glassgrad.searchsorted(
            glassgrad.tensor([3.0, 1.0, 2.0]),
            glassgrad.tensor([2.5]),
            sorter=glassgrad.tensor(sorter),
        ),
        torch.searchsorted(
            torch.tensor([3.0, 1.0, 2.0]), torch.tensor([2.5]), sorter=torch.tensor(sorter)
        ),
    )
    b, v = both([1.0, 2.0])
    raises_alike(
        lambda: glassgrad.searchsorted(b, b, side="middle"),
        lambda: torch.searchsorted(v, v, side="middle"),
    )
    raises_alike(
        lambda: glassgrad.searchsorted(b, b, side="left", right=True),
        lambda: torch.searchsorted(v, v, side="left", right=True),
    )
    r, t = both(rows[0])
    raises_alike(lambda: glassgrad.searchsorted(r, b), lambda: torch.searchsorted(t, v))
    raises_alike(lambda: glassgrad.bucketize(b, r), lambda: torch.bucketize(v, t))


def test_isin_forms():
    cases = [
        (([1, 2, 3, 4], [2, 4]), {}),
        (([1.0, NAN], [NAN, 1.0]), {}),
        (([[1, 2], [3, 4]], [[4]]), {"assume_unique": True}),
        (([1, 2], [1.5, 2.0]), {"invert": True}),
    ]
    for (elements, tests), kwargs in cases:
        same(
            glassgrad.isin(glassgrad.tensor(elements), glassgrad.tensor(tests), **kwargs),
            torch.isin(torch.tensor(elements), torch.tensor(tests), **kwargs),
        )
    same(
        glassgrad.isin(glassgrad.tensor([1, 2, 3]), 2, invert=True),
        torch.isin(torch.tensor([1, 2, 3]), 2, invert=True),
    )
    same(glassgrad.isin(2, glassgrad.tensor([1, 2, 3])), torch.isin(2, torch.tensor([1, 2, 3])))
    assert not hasattr(glassgrad.Tensor, "isin") and not hasattr(torch.Tensor, "isin")


def test_count_nonzero():
    data = [[0.0, 1.0, NAN], [0.0, 0.0, 2.0]]
    for args in ((), (0,), ((0, 1),), (-1,), ([],)):
        call("count_nonzero", *both(data), *args)
    call("count_nonzero", *both([True, False, True]))
    ours, theirs = both(data)
    raises_alike(lambda: ours.count_nonzero([0, 0]), lambda: theirs.count_nonzero([0, 0]))
    raises_alike(lambda: ours.count_nonzero(2), lambda: theirs.count_nonzero(2))


@pytest.mark.parametrize("seed", range(6))
def test_mode_reports_pytorchs_index_with_ties_and_nan(seed):
    """Above 16 elements PyTorch's sort is unstable, and NaN stays where it lands: the index
    mode reports (and where its gradient goes) follows std::sort's exact steps."""
    rng = np.random.default_rng(seed)
    for _ in range(60):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 70)))
        x = rng.integers(0, 6, shape).astype(np.float64)
        if rng.random() < 0.5:
            x[rng.random(shape) < 0.25] = np.nan
        dim = int(rng.integers(0, 2))
        a, b = glassgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours, theirs = glassgrad.mode(a, dim), torch.mode(b, dim)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        np.testing.assert_array_equal(ours.values.detach().numpy(), theirs.values.detach().numpy())
        ours.values.sum().backward()
        theirs.values.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
