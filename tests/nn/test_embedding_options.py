"""``embedding``'s ``max_norm``/``norm_type`` and ``scale_grad_by_freq``, against PyTorch."""

import numpy as np
import pytest
import torch

import glassgrad

LIBS = (glassgrad, torch)
TABLE = np.random.default_rng(0).standard_normal((8, 3)) * 3


def _functional(lib):
    return lib.nn.functional


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


def _both(run):
    """``run(lib)`` for glassgrad and for torch, each result converted to NumPy."""
    return [
        [np.asarray(x.detach().numpy()) if hasattr(x, "detach") else x for x in run(lib)]
        for lib in LIBS
    ]


def _assert_same(ours, theirs, rtol=1e-12):
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0)
        else:
            assert a == b


@pytest.mark.parametrize(
    "indices", [[1, 4, 4, 0], [[1, 5, 7], [2, 5, 1]], [[[3]], [[3]]], [], [6, 6, 6]]
)
@pytest.mark.parametrize(
    "max_norm, norm_type",
    [(1.0, 2.0), (1.5, 1), (2.0, 3.0), (1.0, float("inf")), (1.0, 0), (0.5, -1.0), (-1.0, 2.0)],
)
@pytest.mark.parametrize("module", [False, True])
def test_max_norm_renorms_picked_rows_in_place(indices, max_norm, norm_type, module):
    def run(lib):
        weight = lib.tensor(TABLE, requires_grad=True)
        idx = lib.tensor(indices, dtype=lib.int64)
        if module:
            emb = lib.nn.Embedding.from_pretrained(
                weight.detach(), freeze=False, max_norm=max_norm, norm_type=norm_type
            )
            weight, out = emb.weight, emb(idx)
        else:
            out = _functional(lib).embedding(idx, weight, max_norm=max_norm, norm_type=norm_type)
        out.backward(lib.ones_like(out))
        return out, weight, weight.grad, weight._version, type(out.grad_fn).__name__

    _assert_same(*_both(run))


def test_max_norm_float32_agrees_to_rounding():
    table = np.random.default_rng(1).standard_normal((40, 7)).astype(np.float32) * 3

    def run(lib):
        weight = lib.tensor(table)
        out = _functional(lib).embedding(lib.arange(40), weight, max_norm=1.0, norm_type=3.0)
        return out, weight, str(weight.dtype)

    ours, theirs = _both(run)
    _assert_same(ours, theirs, rtol=1e-6)


def test_version_bumps_once_per_call_even_when_no_row_changes():
    def run(lib):
        weight = lib.tensor(TABLE * 0.01)
        versions = []
        for _ in range(3):
            _functional(lib).embedding(lib.tensor([0, 1, 1]), weight, max_norm=1.0)
            versions.append(weight._version)
        _functional(lib).embedding(lib.tensor([0, 1]), weight)  # no max_norm: no bump
        return versions + [weight._version], weight

    _assert_same(*_both(run))


def test_renorm_breaks_a_graph_that_saved_the_weight():
    def run(lib):
        weight = lib.tensor(TABLE.astype(np.float32), requires_grad=True)
        saved = (weight**2).sum()  # PowBackward0 saves the weight
        _functional(lib).embedding(lib.tensor([0, 2]), weight, max_norm=1.0)
        return [_error(saved.backward)]

    ours, theirs = _both(run)
    assert ours == theirs
    assert "modified by an inplace operation" in ours[0][1]


def test_renorm_of_a_non_leaf_keeps_its_graph():
    def run(lib):
        leaf = lib.tensor(TABLE, requires_grad=True)
        weight = leaf * 2.0
        out = _functional(lib).embedding(lib.tensor([[0, 3], [3, 5]]), weight, max_norm=1.0)
        name = type(weight.grad_fn).__name__
        (out.sum() + weight.sum()).backward()
        return out, weight, weight._version, name, leaf.grad

    _assert_same(*_both(run))


@pytest.mark.parametrize(
    "indices", [[-1, 2, 9], [-9, 2, 3], [1, 9, 12], [-1, 5, 0], [[2, 9], [-2, 1]]]
)
def test_out_of_range_indices_fail_after_the_rows_pytorch_scaled(indices):
    def run(lib):
        weight = lib.tensor(TABLE)
        err = _error(lambda: _functional(lib).embedding(lib.tensor(indices), weight, max_norm=1.0))
        return weight, weight._version, err

    _assert_same(*_both(run))


def test_negative_max_norm_scales_a_row_picked_twice_twice():
    """-1 and 7 pick the same row and PyTorch scales it once for each: with a negative
    max_norm the second pass flips it back (only the renorm is compared: the lookup itself
    refuses -1)."""

    def run(lib):
        weight = lib.tensor(TABLE)
        _error(lambda: _functional(lib).embedding(lib.tensor([-1, 7, 0]), weight, max_norm=-1.0))
        return [weight]

    _assert_same(*_both(run))


@pytest.mark.parametrize(
    "indices, padding_idx",
    [
        ([1, 1, 2, 5, 1, 5], None),
        ([[3, 1], [1, 3], [3, 3]], 3),
        ([[0, 4, 4], [2, 0, 4]], None),  # embedding_bag's sorted-position divisor would differ
        ([5, 1, 1, 0], -1),
        ([[[7, 7], [0, 7]], [[2, 2], [7, 6]]], 0),
        ([3], None),
    ],
)
@pytest.mark.parametrize("module", [False, True])
@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_scale_grad_by_freq_divides_by_each_index_count(indices, padding_idx, module, dtype):
    def run(lib):
        weight = lib.tensor(TABLE, requires_grad=True)
        idx = lib.tensor(indices, dtype=getattr(lib, dtype))
        if module:
            emb = lib.nn.Embedding(8, 3, padding_idx=padding_idx, scale_grad_by_freq=True)
            with lib.no_grad():
                emb.weight.copy_(weight)
            weight, out = emb.weight, emb(idx)
        else:
            out = _functional(lib).embedding(
                idx, weight, padding_idx=padding_idx, scale_grad_by_freq=True
            )
        seed = lib.arange(out.numel(), dtype=lib.float64).reshape(out.shape) + 1
        out.backward(seed)
        return out, weight.grad

    _assert_same(*_both(run))


@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("scale", [False, True])
def test_double_backward_ignores_the_frequency_as_pytorch_does(padding_idx, scale):
    grad_seed = np.random.default_rng(2).standard_normal((2, 3, 3))

    def run(lib):
        weight = lib.tensor(TABLE, requires_grad=True)
        idx = lib.tensor([[1, 1, 2], [5, 1, 2]])
        out = _functional(lib).embedding(
            idx, weight, padding_idx=padding_idx, scale_grad_by_freq=scale
        )
        seed = lib.tensor(grad_seed, requires_grad=True)
        (first,) = lib.autograd.grad(out, weight, seed, create_graph=True)
        probe = lib.arange(first.numel(), dtype=lib.float64).reshape(first.shape)
        (second,) = lib.autograd.grad((first * probe).sum(), seed)
        return first, second, type(first.grad_fn).__name__

    _assert_same(*_both(run))


def test_max_norm_and_scale_grad_by_freq_together_with_padding():
    def run(lib):
        weight = lib.tensor(TABLE, requires_grad=True)
        out = _functional(lib).embedding(
            lib.tensor([[2, 2, 6], [0, 6, 2]]),
            weight,
            padding_idx=0,
            max_norm=2.0,
            norm_type=1.0,
            scale_grad_by_freq=True,
        )
        (out**2).sum().backward()
        return out, weight, weight.grad, weight._version

    _assert_same(*_both(run))


@pytest.mark.parametrize(
    "weight, indices, kwargs",
    [
        ((2, 3, 4), [0], {"max_norm": 1.0}),
        ((3,), [0], {"max_norm": 1.0}),
        ((2, 3, 4), [0], {}),
        ("long", [0, 1], {"max_norm": 1.0}),
        ((4, 3), [0.0], {"max_norm": 1.0}),
        ((4, 3), [0.0], {}),
        ((4, 3), "int16", {"max_norm": 1.0}),
        ((4, 3), "int16", {}),
        ((4, 3), "uint8", {}),
        ((4, 3), [-1], {}),
        ((4, 3), [4], {}),
        ((4, 3), [0], {"padding_idx": 4}),
        ((4, 3), [0], {"padding_idx": -5}),
    ],
)
def test_errors_match_pytorch(weight, indices, kwargs):
    def run(lib):
        if weight == "long":
            table = lib.arange(12).reshape(4, 3)
        else:
            table = lib.tensor(np.ones(weight))
        if isinstance(indices, str):
            idx = lib.tensor([0, 1], dtype=getattr(lib, indices))
        else:
            idx = lib.tensor(indices)
        return [_error(lambda: _functional(lib).embedding(idx, table, **kwargs))]

    ours, theirs = _both(run)
    assert ours == theirs


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((10, 3), {"max_norm": 1.0}),
        ((10, 3), {"max_norm": 1, "norm_type": 1, "scale_grad_by_freq": True, "padding_idx": 2}),
        ((10, 3), {"norm_type": 3.0, "padding_idx": -1}),
        ((10, 3), {"scale_grad_by_freq": True, "sparse": True}),
        ((10, 3), {"norm_type": 2}),
    ],
)
def test_module_repr(args, kwargs):
    assert repr(glassgrad.nn.Embedding(*args, **kwargs)) == repr(
        torch.nn.Embedding(*args, **kwargs)
    )


def test_from_pretrained_repr_and_options():
    def run(lib):
        emb = lib.nn.Embedding.from_pretrained(
            lib.tensor(TABLE), max_norm=2.0, norm_type=3.0, scale_grad_by_freq=True
        )
        out = emb(lib.tensor([1, 1, 4]))
        return repr(emb), out, emb.weight, emb.weight.requires_grad

    _assert_same(*_both(run))
