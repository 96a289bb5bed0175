"""nn.functional layers against PyTorch: linear, convolutions, pooling, pad, interpolate, norms,
dropout, embedding and attention (values, grad_fn names, gradients)."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad
import glassgrad.nn.functional as GF
from nn_functional_cases import compare, run

RNG = np.random.default_rng(2)
IMG = RNG.standard_normal((2, 4, 7, 6))

LINEAR = {
    "linear": lambda t, F, x, w, b: F.linear(x, w, b),
    "linear_nobias": lambda t, F, x, w, b: F.linear(x, w),
    "linear_3d": lambda t, F, x, w, b: F.linear(x.reshape(1, 3, 4), w, b),
    "linear_1d": lambda t, F, x, w, b: F.linear(x[0], w, b),
}


@pytest.mark.parametrize("case", list(LINEAR))
def test_linear_matches_torch(case):
    arrays = [RNG.standard_normal((3, 4)), RNG.standard_normal((5, 4)), RNG.standard_normal(5)]
    compare(LINEAR[case], arrays, second=True)


def test_bilinear_matches_torch():
    arrays = [
        RNG.standard_normal((3, 4)),
        RNG.standard_normal((3, 2)),
        RNG.standard_normal((5, 4, 2)),
        RNG.standard_normal(5),
    ]
    compare(lambda t, F, a, b, w, c: F.bilinear(a, b, w, c), arrays, name=False)


CONV = {
    "plain": ((3, 4, 3, 3), {}),
    "stride_pad": ((3, 4, 3, 2), {"stride": 2, "padding": 1}),
    "dilation": ((3, 4, 2, 3), {"dilation": 2, "padding": (1, 2)}),
    "groups": ((6, 2, 3, 3), {"groups": 2, "stride": (2, 1)}),
    "same_odd": ((3, 4, 3, 3), {"padding": "same"}),
    "same_even": ((3, 4, 2, 4), {"padding": "same"}),
    "valid": ((3, 4, 3, 3), {"padding": "valid"}),
}


@pytest.mark.parametrize("case", list(CONV))
def test_conv2d_matches_torch(case):
    shape, kwargs = CONV[case]
    arrays = [IMG, RNG.standard_normal(shape), RNG.standard_normal(shape[0])]
    compare(
        lambda t, F, x, w, b: F.conv2d(x, w, b, **kwargs),
        arrays,
        rtol=1e-9,
        atol=1e-9,
        name=case != "same_even",
    )


def test_conv2d_unbatched_and_float32():
    compare(
        lambda t, F, x, w: F.conv2d(x, w), [IMG[0], RNG.standard_normal((2, 4, 3, 3))], name=False
    )
    compare(
        lambda t, F, x, w: F.conv2d(x, w, padding=1),
        [IMG.astype(np.float32), RNG.standard_normal((2, 4, 3, 3)).astype(np.float32)],
        rtol=1e-5,
        atol=1e-5,
    )


def test_conv2d_double_backward():
    arrays = [IMG, RNG.standard_normal((3, 4, 3, 3)), RNG.standard_normal(3)]
    compare(lambda t, F, x, w, b: F.conv2d(x, w, b, stride=2, padding=1), arrays, second=True)


@pytest.mark.parametrize(
    "kwargs", [{}, {"stride": 2, "padding": 1}, {"dilation": 2}, {"groups": 2}]
)
def test_conv1d_matches_torch(kwargs):
    arrays = [
        RNG.standard_normal((2, 4, 9)),
        RNG.standard_normal((4, 4 // kwargs.get("groups", 1), 3)),
        RNG.standard_normal(4),
    ]
    compare(lambda t, F, x, w, b: F.conv1d(x, w, b, **kwargs), arrays, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"groups": 2, "dilation": 2},
        {"stride": (2, 3)},
    ],
)
def test_conv_transpose2d_matches_torch(kwargs):
    groups = kwargs.get("groups", 1)
    arrays = [IMG, RNG.standard_normal((4, 6 // groups, 3, 2)), RNG.standard_normal(6)]
    compare(
        lambda t, F, x, w, b: F.conv_transpose2d(x, w, b, **kwargs), arrays, rtol=1e-9, atol=1e-9
    )


def test_conv_channel_mismatch_error():
    with pytest.raises(
        RuntimeError,
        match=r"Given groups=1, weight of size \[2, 4, 3, 3\], "
        r"expected input\[1, 3, 5, 5\] to have 4 channels",
    ):
        GF.conv2d(glassgrad.zeros(1, 3, 5, 5), glassgrad.zeros(2, 4, 3, 3))


POOLS = {
    "max2": lambda t, F, x: F.max_pool2d(x, 2),
    "max3_s2_p1": lambda t, F, x: F.max_pool2d(x, 3, stride=2, padding=1),
    "max_ceil": lambda t, F, x: F.max_pool2d(x, 2, ceil_mode=True),
    "max_dilation": lambda t, F, x: F.max_pool2d(x, 2, stride=1, dilation=2),
    "max_indices": lambda t, F, x: F.max_pool2d(x, (2, 3), return_indices=True),
    "avg2": lambda t, F, x: F.avg_pool2d(x, 2),
    "avg_pad": lambda t, F, x: F.avg_pool2d(x, 3, stride=2, padding=1),
    "avg_pad_exclude": lambda t, F, x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    "avg_ceil": lambda t, F, x: F.avg_pool2d(x, 2, ceil_mode=True),
    "avg_divisor": lambda t, F, x: F.avg_pool2d(x, 2, divisor_override=3),
    "adaptive_avg": lambda t, F, x: F.adaptive_avg_pool2d(x, (3, 4)),
    "adaptive_avg_1": lambda t, F, x: F.adaptive_avg_pool2d(x, 1),
    "adaptive_max": lambda t, F, x: F.adaptive_max_pool2d(x, (3, 4)),
    "adaptive_max_idx": lambda t, F, x: F.adaptive_max_pool2d(x, 5, return_indices=True),
    "pad_constant": lambda t, F, x: F.pad(x, (1, 2)),
    "pad_value": lambda t, F, x: F.pad(x, (1, 2, 0, 1), value=2.5),
    "pad_negative": lambda t, F, x: F.pad(x, (-1, 2, 1, -2)),
    "pad_reflect": lambda t, F, x: F.pad(x, (2, 1, 1, 3), mode="reflect"),
    "pad_replicate": lambda t, F, x: F.pad(x, (2, 1, 1, 3), mode="replicate"),
    "pad_circular": lambda t, F, x: F.pad(x, (2, 1, 1, 3), mode="circular"),
    "nearest_scale": lambda t, F, x: F.interpolate(x, scale_factor=2),
    "nearest_size": lambda t, F, x: F.interpolate(x, size=(5, 9)),
    "bilinear": lambda t, F, x: F.interpolate(x, size=(9, 4), mode="bilinear"),
    "bilinear_align": lambda t, F, x: F.interpolate(
        x, scale_factor=1.5, mode="bilinear", align_corners=True
    ),
    "linear_1d": lambda t, F, x: F.interpolate(x[:, :, 0], size=11, mode="linear"),
    "nearest_1d": lambda t, F, x: F.interpolate(x[:, :, 0], scale_factor=3),
}


@pytest.mark.parametrize("case", list(POOLS))
def test_pool_pad_interpolate_match_torch(case):
    compare(
        POOLS[case],
        [IMG],
        rtol=1e-9,
        atol=1e-9,
        second=True,
        name=case not in ("pad_circular", "adaptive_avg_1"),
    )


def test_max_pool_ties_and_float32():
    flat = np.zeros((1, 1, 4, 4), dtype=np.float32)
    compare(lambda t, F, x: F.max_pool2d(x, 2, return_indices=True), [flat])
    compare(lambda t, F, x: F.max_pool2d(x, 3, 1, 1), [IMG.astype(np.float32)])


NORMS = {
    "layer_norm": lambda t, F, x, w, b: F.layer_norm(x, (6,)),
    "layer_norm_affine": lambda t, F, x, w, b: F.layer_norm(x, (6,), w, b, eps=1e-3),
    "layer_norm_2d": lambda t, F, x, w, b: F.layer_norm(x, (7, 6)),
    "group_norm": lambda t, F, x, w, b: F.group_norm(x, 2),
    "group_norm_affine": lambda t, F, x, w, b: F.group_norm(x, 2, w[:4], b[:4]),
    "batch_norm_train": lambda t, F, x, w, b: F.batch_norm(
        x, t.zeros(4, dtype=x.dtype), t.ones(4, dtype=x.dtype), w[:4], b[:4], training=True
    ),
    "batch_norm_eval": lambda t, F, x, w, b: F.batch_norm(
        x,
        t.tensor([0.1, -0.2, 0.3, 0.0], dtype=x.dtype),
        t.tensor([1.5, 0.5, 1.0, 2.0], dtype=x.dtype),
        w[:4],
        b[:4],
    ),
    "normalize": lambda t, F, x, w, b: F.normalize(x),
    "normalize_p1": lambda t, F, x, w, b: F.normalize(x, p=1, dim=-1),
}


@pytest.mark.parametrize("case", list(NORMS))
def test_norms_match_torch(case):
    arrays = [IMG, RNG.standard_normal(6), RNG.standard_normal(6)]
    compare(NORMS[case], arrays, rtol=1e-8, atol=1e-9, second=True)


def test_batch_norm_updates_running_stats_in_place():
    stats = {}
    for name in ("torch", "glassgrad"):

        def fn(t, F, x, m, v):
            F.batch_norm(x, m, v, training=True, momentum=0.3)
            return m, v

        (mean, var), _ = run(name, fn, [IMG, np.zeros(4), np.ones(4)], grad=False)
        stats[name] = (mean.numpy(), var.numpy())
    np.testing.assert_allclose(stats["glassgrad"][0], stats["torch"][0], rtol=1e-12)
    np.testing.assert_allclose(stats["glassgrad"][1], stats["torch"][1], rtol=1e-12)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        GF.batch_norm(glassgrad.zeros(1, 3), None, None, training=True)


def test_dropout_zeroes_and_scales_with_glassgrad_generator():
    x = glassgrad.ones(1000, requires_grad=True)
    glassgrad.manual_seed(0)
    first = GF.dropout(x, 0.25)
    glassgrad.manual_seed(0)
    again = GF.dropout(x, 0.25)
    assert np.array_equal(first.numpy(force=True), again.numpy(force=True))
    values = {round(float(v), 5) for v in first.detach().numpy()}
    assert values == {0.0, round(1 / 0.75, 5)}
    assert 150 < int((first.detach().numpy() == 0).sum()) < 350
    assert type(first.grad_fn).__name__ == "MulBackward0"
    first.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), first.detach().numpy())
    assert GF.dropout(x, 0.5, training=False) is x
    assert not GF.dropout(x, 1.0).detach().numpy().any()
    with pytest.raises(
        ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"
    ):
        GF.dropout(x, 1.5)


@pytest.mark.parametrize("padding_idx", [None, 1, -2])
def test_embedding_matches_torch(padding_idx):
    index = np.array([[0, 1, 3], [1, 1, 4]])
    compare(
        lambda t, F, i, w: F.embedding(i, w, padding_idx=padding_idx),
        [index, RNG.standard_normal((5, 3))],
        second=True,
    )


SDPA = {
    "plain": {},
    "causal": {"is_causal": True},
    "scale": {"scale": 0.3},
}


@pytest.mark.parametrize("case", list(SDPA))
def test_scaled_dot_product_attention_matches_torch(case):
    q, k, v = (RNG.standard_normal((2, 3, 4, 5)) for _ in range(3))
    compare(
        lambda t, F, a, b, c: F.scaled_dot_product_attention(a, b, c, **SDPA[case]),
        [q, k, v],
        name=False,
        rtol=1e-8,
        atol=1e-9,
    )


def test_scaled_dot_product_attention_masks():
    q, k, v = (RNG.standard_normal((2, 4, 5)) for _ in range(3))
    allowed = RNG.uniform(size=(4, 4)) > 0.3
    np.fill_diagonal(allowed, True)
    compare(
        lambda t, F, a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
        [q, k, v, allowed],
        name=False,
        rtol=1e-8,
        atol=1e-9,
    )
    additive = RNG.standard_normal((4, 4))
    compare(
        lambda t, F, a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m.detach()),
        [q, k, v, additive],
        name=False,
        rtol=1e-8,
        atol=1e-9,
    )
