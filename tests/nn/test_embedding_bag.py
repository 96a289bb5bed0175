"""``F.embedding_bag`` and ``nn.EmbeddingBag`` against PyTorch 2.13: values, gradients (to the
table and to per-sample weights), ``grad_fn`` names, errors, reprs and state_dicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn.functional as GF

FLAT = np.array([1, 2, 4, 0, 4, 3, 3, 1, 5, 5, 0])
OFFSETS = np.array([0, 3, 3, 5, 9])  # an empty bag and bags with repeated indices
GRID = np.array([[1, 2, 4, 0], [4, 3, 3, 1], [5, 5, 0, 5]])


def _both(array, **kwargs):
    return glassgrad.tensor(array, **kwargs), torch.tensor(array, **kwargs)


def _run(args, kwargs, dtype="float64", weight=None, samples=None):
    """Run embedding_bag in both libraries; outputs and the gradients of a fixed weighted sum."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((6, 3)).astype(dtype) if weight is None else weight
    found = []
    for lib, fn in ((glassgrad, GF.embedding_bag), (torch, torch.nn.functional.embedding_bag)):
        w = lib.tensor(table, requires_grad=True)
        extra = dict(kwargs)
        psw = None
        if samples is not None:
            psw = lib.tensor(samples.astype(dtype), requires_grad=True)
            extra["per_sample_weights"] = psw
        out = fn(*[lib.tensor(a) for a in args[:1]], w, *[lib.tensor(a) for a in args[1:]], **extra)
        probe = np.random.default_rng(1).uniform(0.5, 1.5, tuple(out.shape)).astype(dtype)
        (out * lib.tensor(probe)).sum().backward()
        grad = w.grad.to_dense() if lib is torch and w.grad.is_sparse else w.grad
        grads = [grad.numpy()] + ([] if psw is None else [psw.grad.numpy()])
        found.append((out, grads))
    return found


def _check(found, dtype="float64"):
    (ours, our_grads), (theirs, their_grads) = found
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-12}
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__ == "EmbeddingBagBackward0"
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)
    for mine, want in zip(our_grads, their_grads, strict=True):
        np.testing.assert_allclose(mine, want, **tol)


FORMS = {
    "offsets": ((FLAT, OFFSETS), {}),
    "last_offset": ((FLAT, np.append(OFFSETS, len(FLAT))), {"include_last_offset": True}),
    "grid": ((GRID,), {}),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_modes_forms_and_padding_match_torch(mode, form, padding_idx, dtype):
    args, kwargs = FORMS[form]
    found = _run(args, {**kwargs, "mode": mode, "padding_idx": padding_idx}, dtype)
    _check(found, dtype)


@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_many_bags_of_many_sizes_match_torch(mode, padding_idx):
    rng = np.random.default_rng(11)
    flat = rng.integers(0, 6, 600)
    offsets = np.concatenate([[0], np.sort(rng.integers(0, 600, 119))])  # empty bags too
    _check(_run((flat, offsets), {"mode": mode, "padding_idx": padding_idx}))


def test_old_argument_order_warns_and_swaps():
    table = np.random.default_rng(12).standard_normal((6, 3))
    outs = []
    for lib, fn in ((glassgrad, GF.embedding_bag), (torch, torch.nn.functional.embedding_bag)):
        with pytest.warns(UserWarning, match="Argument order of nn.functional.embedding_bag"):
            outs.append(fn(lib.tensor(table), lib.tensor(FLAT), lib.tensor(OFFSETS)).numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)


def test_padding_excluded_and_empty_bags_are_zero():
    weight = np.arange(1.0, 19.0).reshape(6, 3)
    (ours, _), (theirs, _) = _run(
        (np.array([2, 2, 1, 2]), np.array([0, 2, 2])),
        {"mode": "mean", "padding_idx": 2},
        weight=weight,
    )
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    np.testing.assert_array_equal(ours.detach().numpy()[0], 0)  # only padding: zeros
    np.testing.assert_array_equal(ours.detach().numpy()[1], 0)  # empty
    np.testing.assert_array_equal(ours.detach().numpy()[2], weight[1])  # mean over one row


@pytest.mark.parametrize("padding_idx", [None, 4])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_per_sample_weights_match_torch(form, padding_idx):
    args, kwargs = FORMS[form]
    samples = np.random.default_rng(2).uniform(-1, 2, args[0].shape)
    found = _run(args, {**kwargs, "mode": "sum", "padding_idx": padding_idx}, samples=samples)
    _check(found)


@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("seed", range(4))
def test_scale_grad_by_freq_matches_torch(mode, padding_idx, seed):
    flat = np.random.default_rng(seed).integers(0, 6, 17)
    args = (flat, np.array([0, 4, 4, 9, 12]))
    _check(_run(args, {"mode": mode, "scale_grad_by_freq": True, "padding_idx": padding_idx}))


def test_scale_grad_by_freq_with_per_sample_weights():
    samples = np.random.default_rng(3).uniform(0.5, 2, len(FLAT))
    _check(_run((FLAT, OFFSETS), {"mode": "sum", "scale_grad_by_freq": True}, samples=samples))


def test_last_offset_ends_the_last_bag():
    """Input after the last offset is in no bag (PyTorch's float32 kernel for sums); values
    only: PyTorch's gradient for such input reads uninitialised memory."""
    args = (FLAT, np.array([0, 3, 3, 7]))
    found = _run(args, {"mode": "sum", "include_last_offset": True}, "float32")
    (ours, our_grads), (theirs, _) = found
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5)
    np.testing.assert_array_equal(our_grads[0][[5]], 0)  # row 5 is only picked after the end


@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("flat", [[0, 1, 2], [2, 1, 0], [1, 2, 0, 3], [1, 3, 1, 2]])
def test_max_with_nan_follows_torch(flat, padding_idx):
    """PyTorch keeps a NaN only where it is in a bag's first row."""
    table = np.array([[1.0, np.nan, 0], [2, 1, np.nan], [0, 3, 1], [np.nan, 0, 5]])
    args = (np.array(flat), np.array([0, 2]))
    _check(_run(args, {"mode": "max", "padding_idx": padding_idx}, weight=table))


def test_sparse_flag_gives_torch_values_and_dense_gradients():
    """glassgrad has no sparse tensors: the gradient is the dense form of PyTorch's."""
    _check(_run((FLAT, OFFSETS), {"mode": "sum", "sparse": True}))


def test_int32_indices_and_offsets():
    found = _run((FLAT.astype(np.int32), OFFSETS.astype(np.int32)), {"mode": "mean"})
    _check(found)


def test_empty_input_and_no_bags():
    _check(_run((np.array([], dtype=np.int64), np.array([0, 0])), {"mode": "max"}))
    ours = GF.embedding_bag(
        glassgrad.tensor(FLAT),
        glassgrad.randn(6, 3),
        glassgrad.tensor([0]),
        include_last_offset=True,
    )
    assert tuple(ours.shape) == (0, 3)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("mode", ["sum", "max"])
def test_max_norm_renormalises_picked_rows_in_place(mode, norm_type):
    table = np.random.default_rng(4).standard_normal((6, 3)) * 3
    weights = []
    for lib, fn in ((glassgrad, GF.embedding_bag), (torch, torch.nn.functional.embedding_bag)):
        w = lib.tensor(table)
        before = w._version
        out = fn(
            lib.tensor(FLAT[:7]),
            w,
            lib.tensor([0, 2]),
            max_norm=1.5,
            norm_type=norm_type,
            mode=mode,
        )
        assert w._version > before
        weights.append((w.numpy(), out.numpy()))
    np.testing.assert_allclose(weights[0][0], weights[1][0], rtol=1e-12)
    np.testing.assert_allclose(weights[0][1], weights[1][1], rtol=1e-12)
    assert np.allclose(weights[0][0][5], table[5])  # a row not picked keeps its norm


def test_second_order_through_per_sample_weights():
    """Double backward (PyTorch has none for this op): against central differences."""
    rng = np.random.default_rng(9)
    table, samples = rng.standard_normal((6, 3)), rng.uniform(0.5, 2, len(FLAT))
    probes = [rng.uniform(0.5, 1.5, table.shape), rng.uniform(0.5, 1.5, samples.shape)]

    def first_order(table, samples, create_graph=False):
        w = glassgrad.tensor(table, requires_grad=True)
        psw = glassgrad.tensor(samples, requires_grad=True)
        out = GF.embedding_bag(
            glassgrad.tensor(FLAT), w, glassgrad.tensor(OFFSETS), mode="sum", per_sample_weights=psw
        )
        grads = glassgrad.autograd.grad((out**2).sum(), (w, psw), create_graph=create_graph)
        total = sum((g * glassgrad.tensor(p)).sum() for g, p in zip(grads, probes, strict=True))
        return total, (w, psw)

    total, leaves = first_order(table, samples, create_graph=True)
    second = glassgrad.autograd.grad(total, leaves)
    for array, got in zip((table, samples), second, strict=True):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            keep = array[index]
            array[index] = keep + 1e-6
            up = float(first_order(table, samples)[0])
            array[index] = keep - 1e-6
            down = float(first_order(table, samples)[0])
            array[index] = keep
            numeric[index] = (up - down) / 2e-6
        np.testing.assert_allclose(got.numpy(), numeric, rtol=1e-5, atol=1e-6)


# -- errors ------------------------------------------------------------------------------------
W = np.random.default_rng(5).standard_normal((5, 3)).astype(np.float32)
ERRORS = [
    ((FLAT[:4] % 5, W, [1, 2]), {}),
    ((FLAT[:4] % 5, W, [0, 5]), {}),
    ((FLAT[:4] % 5, W, [0, -1]), {}),
    ((FLAT[:4] % 5, W, []), {"include_last_offset": True}),
    (([1, 5], W, [0]), {}),
    (([1, -1], W, [0]), {}),
    (([[1, 9]], W), {}),
    (([1.0, 2.0], W, [0]), {}),
    (([1, 2], W, [0.0]), {}),
    (([1, 2], W.astype(np.int64), [0]), {}),
    (([1, 2], W), {}),
    (([1, 2], W, [[0]]), {}),
    (([[1, 2]], W, [0]), {}),
    (([[[1, 2]]], W), {}),
    ((np.array(1), W), {}),
    ((np.zeros((2, 0), dtype=np.int64), W), {}),
    (([1, 2], W[0], [0]), {}),
    (([1, 2], W, [0]), {"mode": "foo"}),
    (([1, 2], W, [0]), {"mode": "max", "scale_grad_by_freq": True}),
    (([1, 2], W, [0]), {"mode": "max", "sparse": True}),
    (([1, 2], W, [0]), {"mode": "mean", "per_sample_weights": np.ones(2, np.float32)}),
    (([1, 2], W, [0]), {"mode": "sum", "per_sample_weights": np.ones(3, np.float32)}),
    (([1, 2], W, [0]), {"mode": "sum", "per_sample_weights": np.ones(2)}),
    (([1, 2], W, [0]), {"padding_idx": 5}),
    (([1, 2], W, [0]), {"padding_idx": -6}),
    (([1, 9], W, [1]), {"padding_idx": 7}),
    (([1, 2], W, np.array([1], dtype=np.int32)), {}),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    args, kwargs = ERRORS[case]
    raised = []
    for lib, fn in ((glassgrad, GF.embedding_bag), (torch, torch.nn.functional.embedding_bag)):
        converted = [
            lib.tensor(a) if not isinstance(a, np.ndarray) or a.ndim else lib.tensor(a)
            for a in args
        ]
        extra = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        with pytest.raises(Exception) as info:
            fn(*converted, **extra)
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1])
    assert str(raised[0]) == str(raised[1])


def test_offsets_that_go_down_raise_pytorchs_error():
    # PyTorch's kernel reads past its bags here (what it does depends on memory, so the test
    # suite cannot ask it each time); glassgrad always raises the error PyTorch usually does
    from glassgrad.ops.nn.embedding.bag_checks import UNCHECKED

    with pytest.raises(RuntimeError) as info:
        GF.embedding_bag(
            glassgrad.tensor(FLAT[:4] % 5), glassgrad.tensor(W), glassgrad.tensor([0, 3, 2])
        )
    assert str(info.value) == UNCHECKED


# -- the module --------------------------------------------------------------------------------
MODULES = [
    ((10, 3), {}),
    ((10, 3), {"mode": "sum", "padding_idx": 2}),
    ((10, 3), {"mode": "max", "padding_idx": -1, "include_last_offset": True}),
    ((10, 3), {"max_norm": 1.5, "norm_type": 3.0, "scale_grad_by_freq": True, "mode": "sum"}),
    ((4, 2), {"sparse": True, "norm_type": 2}),
]


@pytest.mark.parametrize("case", range(len(MODULES)))
def test_module_repr_state_dict_and_forward(case):
    args, kwargs = MODULES[case]
    theirs = torch.nn.EmbeddingBag(*args, **kwargs)
    ours = glassgrad.nn.EmbeddingBag(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.padding_idx == theirs.padding_idx
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    flat, offsets = FLAT % args[0], np.array([0, 3, 3, 5, len(FLAT)])
    if not kwargs.get("include_last_offset"):
        offsets = offsets[:-1]
    out_theirs = theirs(torch.tensor(flat), torch.tensor(offsets))
    out_ours = ours(glassgrad.tensor(flat), glassgrad.tensor(offsets))
    np.testing.assert_allclose(
        out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-5, atol=1e-6
    )
    out_theirs.sum().backward()
    out_ours.sum().backward()
    their_grad = theirs.weight.grad
    their_grad = their_grad.to_dense() if their_grad.is_sparse else their_grad
    np.testing.assert_allclose(ours.weight.grad.numpy(), their_grad.numpy(), rtol=1e-5, atol=1e-6)
    loaded = torch.nn.EmbeddingBag(*args, **kwargs)
    loaded.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(loaded.weight.detach().numpy(), ours.weight.detach().numpy())


def test_module_init_is_standard_normal_with_zero_padding_row():
    glassgrad.manual_seed(0)
    bag = glassgrad.nn.EmbeddingBag(400, 50, padding_idx=7)
    data = bag.weight.detach().numpy()
    np.testing.assert_array_equal(data[7], 0)
    assert abs(data.mean()) < 0.05 and abs(data.std() - 1) < 0.05
    assert bag.weight.requires_grad and isinstance(bag.weight, glassgrad.nn.Parameter)


def test_module_per_sample_weights_and_2d_input():
    table = np.random.default_rng(6).standard_normal((6, 3)).astype(np.float32)
    samples = np.random.default_rng(7).uniform(0.5, 2, GRID.shape).astype(np.float32)
    outs = []
    for lib in (glassgrad, torch):
        bag = lib.nn.EmbeddingBag.from_pretrained(lib.tensor(table), freeze=False, mode="sum")
        outs.append(bag(lib.tensor(GRID), per_sample_weights=lib.tensor(samples)).detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6)


@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained(freeze):
    table = np.random.default_rng(8).standard_normal((5, 2)).astype(np.float32)
    built = []
    for lib in (glassgrad, torch):
        bag = lib.nn.EmbeddingBag.from_pretrained(
            lib.tensor(table), freeze=freeze, mode="max", padding_idx=1
        )
        built.append((repr(bag), bag.weight.requires_grad, bag.weight.detach().numpy()))
    assert built[0][:2] == built[1][:2]
    np.testing.assert_array_equal(built[0][2], table)  # from_pretrained keeps the padding row
    with pytest.raises(
        AssertionError, match="Embeddings parameter is expected to be 2-dimensional"
    ):
        glassgrad.nn.EmbeddingBag.from_pretrained(glassgrad.ones(3))


@pytest.mark.parametrize("kwargs", [{"padding_idx": 10}, {"padding_idx": -11}, {"_weight": "bad"}])
def test_module_constructor_errors(kwargs):
    raised = []
    for lib in (glassgrad, torch):
        extra = dict(kwargs)
        if "_weight" in extra:
            extra["_weight"] = lib.ones(3, 3)
        with pytest.raises(AssertionError) as info:
            lib.nn.EmbeddingBag(10, 3, **extra)
        raised.append(str(info.value))
    assert raised[0] == raised[1]
