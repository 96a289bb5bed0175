"""Corner cases of nn ops against PyTorch: convolution double backward and argument errors,
tiled max pooling ties, zero vectors in cosine_similarity/normalize, arguments PyTorch cannot
differentiate (BCE weights, batch_norm running stats), scatter's src shape, products at zeros,
and the ``grad_fn`` names of einsum and linear."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import glassgrad


def _both(arrays, grad=True):
    """The same float64 arrays as torch and glassgrad tensors."""
    return [
        [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        for lib in (torch, glassgrad)
    ]


def _second_order(lib, fn, inputs, seed=0):
    """The gradient of ``sum(grad * v)`` where ``grad`` is ``fn``'s first-order gradient."""
    rng = np.random.default_rng(seed)
    out = fn(lib, *inputs)
    weight = lib.tensor(rng.uniform(0.5, 1.5, tuple(out.shape)))
    grads = lib.autograd.grad((out * weight).sum(), inputs, create_graph=True)
    probe = sum((g * lib.tensor(rng.uniform(0.5, 1.5, tuple(g.shape)))).sum() for g in grads)
    first = [g.detach().numpy() for g in grads]
    if not probe.requires_grad:  # a linear map: the second order is zero
        return first, [np.zeros(tuple(x.shape)) for x in inputs]
    second = lib.autograd.grad(probe, inputs, allow_unused=True)
    return first, [
        np.zeros(tuple(x.shape)) if g is None else g.numpy()
        for g, x in zip(second, inputs, strict=True)
    ]


def _assert_same_second_order(fn, arrays):
    theirs, ours = _both(arrays)
    want = _second_order(torch, fn, theirs)
    got = _second_order(glassgrad, fn, ours)
    for w, g in zip(want[0] + want[1], got[0] + got[1], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9)


RNG = np.random.default_rng(0)
CONVS = {
    "conv1d grouped dilated strided": (
        lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, 2, 1, 2, 2),
        [RNG.standard_normal((2, 4, 9)), RNG.standard_normal((4, 2, 3)), RNG.standard_normal(4)],
    ),
    "conv2d grouped": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, 1, 1, 1, 3),
        [
            RNG.standard_normal((2, 6, 5, 5)),
            RNG.standard_normal((3, 2, 3, 3)),
            RNG.standard_normal(3),
        ],
    ),
    "conv2d dilated strided": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, (2, 1), (0, 2), (2, 3)),
        [
            RNG.standard_normal((2, 3, 7, 6)),
            RNG.standard_normal((2, 3, 2, 2)),
            RNG.standard_normal(2),
        ],
    ),
    "conv_transpose2d grouped dilated": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, 2, 1, 1, 2, 2),
        [
            RNG.standard_normal((2, 4, 3, 3)),
            RNG.standard_normal((4, 1, 3, 3)),
            RNG.standard_normal(2),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CONVS))
def test_convolution_double_backward_matches_torch(name):
    fn, arrays = CONVS[name]
    _assert_same_second_order(fn, arrays)


def test_convolution_third_order_runs_through_convolutions():
    x = glassgrad.randn(1, 2, 5, 5, dtype=glassgrad.float64, requires_grad=True)
    w = glassgrad.randn(2, 1, 3, 3, dtype=glassgrad.float64, requires_grad=True)
    out = glassgrad.nn.functional.conv2d(x, w, groups=2, dilation=2)
    (g,) = glassgrad.autograd.grad((out * out).sum(), w, create_graph=True)
    (h,) = glassgrad.autograd.grad((g * g).sum(), x, create_graph=True)
    assert h.requires_grad
    tx, tw = torch.tensor(x.detach().numpy(), requires_grad=True), torch.tensor(w.detach().numpy())
    tw.requires_grad_()
    tout = torch.nn.functional.conv2d(tx, tw, groups=2, dilation=2)
    (tg,) = torch.autograd.grad((tout * tout).sum(), tw, create_graph=True)
    (th,) = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(h.detach().numpy(), th.numpy(), rtol=1e-7, atol=1e-9)


CONV_ERRORS = [
    ("conv2d", (2, 4, 6, 6), (4, 4, 3, 3), (4,), "float32", "float32", "float64", {}),
    ("conv2d", (2, 4, 6, 6), (4, 4, 3, 3), None, "float32", "float64", None, {}),
    ("conv2d", (2, 4, 6, 6), (4, 4, 3, 3), None, "float64", "float32", None, {}),
    ("conv2d", (2, 4, 6, 6), (4, 4, 3, 3), (3,), "float32", "float32", "float32", {}),
    ("conv2d", (2, 4, 6, 6), (3, 2, 3, 3), None, "float32", "float32", None, {"groups": 2}),
    ("conv2d", (2, 4, 6, 6), (4, 3, 3, 3), None, "float32", "float32", None, {"groups": 2}),
    ("conv2d", (2, 4, 6, 6), (4, 4, 7, 7), None, "float32", "float32", None, {}),
    ("conv2d", (2, 4, 6, 6), (4, 4, 3, 3), None, "float32", "float32", None, {"stride": 0}),
    ("conv2d", (2, 4, 6, 6), (4, 4, 3, 3), None, "float32", "float32", None, {"padding": -1}),
    ("conv1d", (2, 4, 5), (3, 4, 3), (3,), "float32", "float32", "float64", {}),
    ("conv1d", (2, 4, 5), (3, 4, 9), None, "float32", "float32", None, {}),
    ("conv_transpose2d", (2, 4, 3, 3), (4, 2, 3, 3), (2,), "float32", "float32", "float64", {}),
]


@pytest.mark.parametrize("case", CONV_ERRORS, ids=lambda c: f"{c[0]}-{c[1:]}")
def test_convolution_errors_match_torch(case):
    name, x_shape, w_shape, b_shape, x_dtype, w_dtype, b_dtype, kwargs = case
    found = []
    for lib in (torch, glassgrad):
        x = lib.zeros(x_shape, dtype=getattr(lib, x_dtype))
        w = lib.zeros(w_shape, dtype=getattr(lib, w_dtype))
        b = None if b_shape is None else lib.zeros(b_shape, dtype=getattr(lib, b_dtype))
        with pytest.raises(RuntimeError) as info:
            getattr(lib.nn.functional, name)(x, w, b, **kwargs)
        found.append(str(info.value))
    assert found[1] == found[0]


# -- max pooling over tiles ---------------------------------------------------------------------
POOLS = {
    "relu ties": (lambda a: np.maximum(a, 0), 2),
    "integer ties 3x3": (np.round, 3),
    "rectangular tiles": (np.round, (2, 3)),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_tiled_max_pool_ties_match_torch(name):
    transform, kernel = POOLS[name]
    array = transform(np.random.default_rng(1).standard_normal((2, 3, 6, 6)) * 1.5)
    results = []
    for lib in (torch, glassgrad):
        x = lib.tensor(array, requires_grad=True)
        out, index = lib.nn.functional.max_pool2d(x, kernel, return_indices=True)
        weight = lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)))
        (grad,) = lib.autograd.grad((out * weight).sum(), x)
        assert type(out.grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
        results.append((out.detach().numpy(), index.numpy(), grad.numpy()))
    for ours, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_tiled_max_pool_double_backward_and_unbatched_match_torch():
    array = np.maximum(np.random.default_rng(2).standard_normal((3, 4, 4)), 0)
    _assert_same_second_order(lambda lib, x: lib.nn.functional.max_pool2d(x * x, 2), [array])


def test_max_pool_with_nan_takes_the_general_path_and_propagates_nan():
    array = np.random.default_rng(3).standard_normal((1, 1, 4, 4))
    array[0, 0, 1, 1] = np.nan
    ours = glassgrad.nn.functional.max_pool2d(glassgrad.tensor(array), 2).numpy()
    theirs = torch.nn.functional.max_pool2d(torch.tensor(array), 2).numpy()
    np.testing.assert_array_equal(ours, theirs)


# -- zero vectors -------------------------------------------------------------------------------
ZERO_ROWS = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0]])
NORMALISING = {
    "cosine_similarity": lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y),
    "cosine_similarity broadcast": lambda lib, x, y: lib.nn.functional.cosine_similarity(
        x, y[1], dim=-1
    ),
    "normalize": lambda lib, x, y: lib.nn.functional.normalize(x) * y,
    "normalize p=1 dim=0": lambda lib, x, y: lib.nn.functional.normalize(x, p=1, dim=0) * y,
}


@pytest.mark.parametrize("name", sorted(NORMALISING))
def test_zero_vectors_get_torchs_finite_gradients(name):
    fn = NORMALISING[name]
    arrays = [ZERO_ROWS, ZERO_ROWS[::-1].copy()]
    (tx, ty), (gx, gy) = _both(arrays)
    theirs, ours = fn(torch, tx, ty), fn(glassgrad, gx, gy)
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__
    want = torch.autograd.grad(theirs.sum(), (tx, ty))
    got = glassgrad.autograd.grad(ours.sum(), (gx, gy))
    for g, w in zip(got, want, strict=True):
        assert np.isfinite(g.numpy()).all()
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-7)


# -- arguments PyTorch refuses to differentiate ---------------------------------------------------
def _bce(lib, x, y, w):
    return lib.nn.functional.binary_cross_entropy(x.sigmoid(), y, w)


def _bce_logits_weight(lib, x, y, w):
    return lib.nn.functional.binary_cross_entropy_with_logits(x, y, w)


def _bce_logits_pos_weight(lib, x, y, w):
    return lib.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=w)


def _batch_norm_mean(lib, x, y, w):
    return lib.nn.functional.batch_norm(x, w, lib.ones(3, dtype=x.dtype), training=True)


def _batch_norm_var_eval(lib, x, y, w):
    return lib.nn.functional.batch_norm(
        x, lib.zeros(3, dtype=x.dtype), w.abs().detach().requires_grad_()
    )


REFUSED = [_bce, _bce_logits_weight, _bce_logits_pos_weight, _batch_norm_mean, _batch_norm_var_eval]


@pytest.mark.parametrize("fn", REFUSED, ids=lambda f: f.__name__)
def test_non_differentiable_arguments_are_refused_as_in_torch(fn):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0.5, 1.5, 3)]
    messages = []
    for lib, tensors in zip((torch, glassgrad), _both(arrays), strict=True):
        with pytest.raises(RuntimeError) as info:
            fn(lib, *tensors)
        messages.append(str(info.value))
        with lib.no_grad():  # only recording needs the gradient PyTorch lacks
            fn(lib, *tensors)
    assert messages[1] == messages[0]


def test_batch_norm_momentum_none_is_a_type_error_but_the_module_averages():
    with pytest.raises(TypeError, match="argument 'momentum'"):
        glassgrad.nn.functional.batch_norm(
            glassgrad.randn(4, 3),
            glassgrad.zeros(3),
            glassgrad.ones(3),
            training=True,
            momentum=None,
        )
    array = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)
    stats = []
    for lib in (torch, glassgrad):
        module = lib.nn.BatchNorm1d(3, momentum=None)
        for shift in range(3):
            module(lib.tensor(array + shift))
        stats.append((module.running_mean.numpy(), module.running_var.numpy()))
    for ours, theirs in zip(stats[1], stats[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_batch_norm_mixed_dtypes_match_torch():
    for x_dtype, p_dtype in (("float32", "float64"), ("float64", "float32")):
        messages = []
        for lib in (torch, glassgrad):
            x = lib.randn(4, 3, dtype=getattr(lib, x_dtype))
            with pytest.raises(RuntimeError) as info:
                lib.nn.functional.batch_norm(
                    x, None, None, lib.ones(3, dtype=getattr(lib, p_dtype)), training=True
                )
            messages.append(str(info.value))
        assert messages[1] == messages[0]


# -- scatter with a larger src ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["scatter", "scatter_add"])
def test_scatter_src_larger_than_index_fails_in_backward_as_in_torch(name):
    index = np.array([[0, 1], [2, 3], [1, 0]])
    found = []
    for lib in (torch, glassgrad):
        x = lib.zeros(3, 4, requires_grad=True)
        out = getattr(lib, name)(x, 1, lib.tensor(index), lib.ones(3, 3))
        (grad_x,) = lib.autograd.grad(out.sum(), x)
        src = lib.ones(3, 3, requires_grad=True)
        out = getattr(lib, name)(x, 1, lib.tensor(index), src)
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
        found.append((grad_x.numpy(), str(info.value)))
    np.testing.assert_array_equal(found[1][0], found[0][0])
    assert found[1][1] == found[0][1]


# -- products at zeros, to second order ----------------------------------------------------------
PRODUCTS = {
    "prod": lambda lib, x: x.prod(),
    "prod dim 1": lambda lib, x: x.prod(1),
    "prod dim 0 keepdim": lambda lib, x: x.prod(0, keepdim=True),
    "cumprod dim 1": lambda lib, x: x.cumprod(1),
    "cumprod dim 0": lambda lib, x: x.cumprod(0),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@pytest.mark.parametrize("zeros", [[(0, 1)], [(0, 1), (1, 1)], [(0, 1), (1, 0), (1, 1)]])
def test_products_at_zeros_second_order_match_torch(name, zeros):
    array = np.random.default_rng(6).uniform(0.5, 1.5, (2, 3))
    for position in zeros:
        array[position] = 0.0
    _assert_same_second_order(lambda lib, x: PRODUCTS[name](lib, x), [array])


# -- grad_fn names -------------------------------------------------------------------------------
EQUATIONS = [
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("ii->i", (3, 3)),
    ("ij->", (2, 3)),
    ("ii", (3, 3)),
    ("ijk->kji", (2, 3, 4)),
    ("...ij->...ji", (2, 3, 4)),
    ("i,j->ij", (2,), (3,)),
    ("i,j->", (2,), (3,)),
    ("ij,ij->ji", (2, 3), (2, 3)),
    ("ij,ij->ij", (2, 1), (2, 3)),
    ("iij->j", (3, 3, 2)),
    ("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),
    ("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)),
]


@pytest.mark.parametrize("case", EQUATIONS, ids=lambda c: c[0])
def test_einsum_grad_fn_and_gradients_match_torch(case):
    equation, *shapes = case
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s) for s in shapes]
    (theirs, ours) = _both(arrays)
    t_out, g_out = torch.einsum(equation, *theirs), glassgrad.einsum(equation, *ours)
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10)
    _assert_same_second_order(lambda lib, *xs: lib.einsum(equation, *xs), arrays)


LINEARS = {
    "3-d with bias": lambda x: x,
    "3-d transposed with bias": lambda x: x.transpose(0, 1),
    "vector with bias": lambda x: x[0, 0],
}


@pytest.mark.parametrize("name", sorted(LINEARS))
@pytest.mark.parametrize("bias", [True, False])
def test_linear_grad_fn_matches_torch(name, bias):
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)]
    names = []
    for lib, (x, w, b) in zip((torch, glassgrad), _both(arrays), strict=True):
        out = lib.nn.functional.linear(LINEARS[name](x), w, b if bias else None)
        names.append(type(out.grad_fn).__name__)
    assert names[1] == names[0]


def test_attention_with_fully_masked_rows_matches_torch():
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))]
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False  # a query that may attend to nothing: zero output, not NaN
    mask[2, :2] = False
    found = []
    for lib, (q, kv) in zip((torch, glassgrad), _both(arrays), strict=True):
        out = lib.nn.functional.scaled_dot_product_attention(q, kv, kv, attn_mask=lib.tensor(mask))
        grads = lib.autograd.grad((out * out).sum(), (q, kv))
        found.append(
            [type(out.grad_fn).__name__, out.detach().numpy()] + [g.numpy() for g in grads]
        )
    assert found[1][0] == found[0][0]
    for ours, theirs in zip(found[1][1:], found[0][1:], strict=True):
        assert np.isfinite(ours).all()
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["conv1d", "conv2d", "conv_transpose2d"]),
    groups=st.integers(1, 3),
    geometry=st.tuples(st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.integers(1, 3)),
    size=st.integers(4, 7),
    seed=st.integers(0, 2**16),
)
def test_convolutions_match_torch_over_drawn_geometries(kind, groups, geometry, size, seed):
    """Values and first-order gradients for drawn stride, padding, dilation, kernel, groups."""
    stride, padding, dilation, kernel = geometry
    rng = np.random.default_rng(seed)
    spatial = (size,) if kind == "conv1d" else (size, size + 1)
    channels = 2 * groups
    if kind == "conv_transpose2d":
        padding = min(padding, dilation * (kernel - 1))  # PyTorch needs a non-negative size
        w_shape = (channels, 2, kernel, kernel)
        kwargs = {"stride": stride, "padding": padding, "groups": groups, "dilation": dilation}
        kwargs["output_padding"] = max(0, min(stride, dilation) - 1)
    else:
        w_shape = (3 * groups, 2) + (kernel,) * len(spatial)
        kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    arrays = [rng.standard_normal((2, channels) + spatial), rng.standard_normal(w_shape)]
    arrays.append(
        rng.standard_normal(w_shape[1] * groups if kind == "conv_transpose2d" else w_shape[0])
    )
    found = []
    for lib, tensors in zip((torch, glassgrad), _both(arrays), strict=True):
        try:
            out = getattr(lib.nn.functional, kind)(*tensors, **kwargs)
        except RuntimeError as exc:
            found.append(str(exc))
            continue
        weight = lib.tensor(np.random.default_rng(1).uniform(0.5, 1.5, tuple(out.shape)))
        grads = lib.autograd.grad((out * weight).sum(), tensors)
        found.append([out.detach().numpy()] + [g.numpy() for g in grads])
    if isinstance(found[0], str) or isinstance(found[1], str):
        assert found[1] == found[0]
        return
    for ours, theirs in zip(found[1], found[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_tiled_max_pool_kernel_one_and_infinite_gradients_match_torch():
    array = np.random.default_rng(10).standard_normal((1, 2, 4, 4))
    found = []
    for lib in (torch, glassgrad):
        x = lib.tensor(array, requires_grad=True)
        same = lib.nn.functional.max_pool2d(x, 1)
        (grad_one,) = lib.autograd.grad(same.sum(), x)
        out = lib.nn.functional.max_pool2d(x, 2)
        (grad_inf,) = lib.autograd.grad(out, x, lib.full(tuple(out.shape), float("inf")))
        found.append((grad_one.numpy(), grad_inf.numpy()))
    for ours, theirs in zip(found[1], found[0], strict=True):
        np.testing.assert_array_equal(ours, theirs)


def _node_names(out, depth=4):
    """``grad_fn`` names level by level, as far as ``depth`` levels below ``out``."""
    levels, frontier = [], [out.grad_fn]
    for _ in range(depth):
        levels.append([type(n).__name__ for n in frontier])
        frontier = [
            f
            for n in frontier
            for f, _ in n.next_functions
            if f is not None and type(f).__name__ != "AccumulateGrad"
        ]
    return levels


CROSS_ENTROPIES = {
    "label smoothing": lambda lib, x, soft: lib.nn.functional.cross_entropy(
        x, lib.tensor([0, 2, 1, 4]), label_smoothing=0.2
    ),
    "soft targets": lambda lib, x, soft: lib.nn.functional.cross_entropy(x, soft),
    "soft targets smoothed": lambda lib, x, soft: lib.nn.functional.cross_entropy(
        x, soft, label_smoothing=0.1, reduction="mean"
    ),
}


@pytest.mark.parametrize("name", sorted(CROSS_ENTROPIES))
def test_cross_entropy_inner_nodes_and_second_order_match_torch(name):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal((4, 5)), rng.dirichlet(np.ones(5), 4)]
    fn = CROSS_ENTROPIES[name]
    (tx, tsoft), (gx, gsoft) = _both(arrays, grad=False)
    tx.requires_grad_()
    gx.requires_grad_()
    assert _node_names(fn(glassgrad, gx, gsoft)) == _node_names(fn(torch, tx, tsoft))
    _assert_same_second_order(lambda lib, x: fn(lib, x, lib.tensor(arrays[1])), arrays[:1])


@pytest.mark.parametrize("scale", [None, 2.0, -0.3])
def test_attention_scales_both_operands_as_torch(scale):
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal((2, 3, 4)) * 3, rng.standard_normal((2, 5, 4))]
    fn = lambda lib, q, kv: lib.nn.functional.scaled_dot_product_attention(  # noqa: E731
        q, kv, kv, scale=scale, is_causal=True
    )
    (tq, tkv), (gq, gkv) = _both(arrays)
    shared = {"SafeSoftmaxBackward0", "AddBackward0", "MulBackward1", "UnsafeViewBackward0"}
    ours, theirs = (
        sorted(n for level in _node_names(out, 12) for n in level if n in shared)
        for out in (fn(glassgrad, gq, gkv), fn(torch, tq, tkv))
    )
    assert ours == theirs
    _assert_same_second_order(fn, arrays)
