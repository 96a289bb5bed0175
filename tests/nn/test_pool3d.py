"""3-D pools, max unpooling and LPPool3d against PyTorch: values, indices, grad_fn names, first
and second-order gradients, module reprs and the shape errors (type and message)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
from nn_functional_cases import compare

RNG = np.random.default_rng(30)
VOLUME = RNG.standard_normal((2, 3, 5, 6, 7))

MAX = {
    "plain": (2, {}),
    "ceil_pad": (3, {"stride": 2, "padding": 1, "ceil_mode": True}),
    "dilation": ((2, 3, 2), {"dilation": 2}),
    "dilation_pad_ceil": (
        (3, 2, 2),
        {"stride": (2, 1, 3), "padding": 1, "dilation": (1, 2, 2), "ceil_mode": True},
    ),
    "list": ([2, 2, 1], {"stride": [1]}),
}


@pytest.mark.parametrize("case", list(MAX))
@pytest.mark.parametrize("batched", [True, False])
def test_max_pool3d_matches_torch(case, batched):
    kernel, kwargs = MAX[case]
    x = VOLUME if batched else VOLUME[0]
    compare(lambda t, F, v: F.max_pool3d(v, kernel, **kwargs), [x], second=True)
    compare(lambda t, F, v: F.max_pool3d(v, kernel, return_indices=True, **kwargs), [x])


def test_max_pool3d_ties_and_nan_as_torch():
    ties = np.round(VOLUME)
    ties[0, 0, 0, 0, 0] = np.nan
    compare(lambda t, F, v: F.max_pool3d(v, 2, return_indices=True), [ties])
    compare(lambda t, F, v: F.max_pool3d(v, 3, stride=1, padding=1), [np.maximum(VOLUME, 0)])


AVG = {
    "plain": (2, {}),
    "ceil_pad": (3, {"stride": 2, "padding": 1, "ceil_mode": True}),
    "exclude_pad": (3, {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    "divisor": ((2, 3, 2), {"stride": 1, "padding": 1, "divisor_override": 5}),
}


@pytest.mark.parametrize("case", list(AVG))
@pytest.mark.parametrize("batched", [True, False])
def test_avg_pool3d_matches_torch(case, batched):
    kernel, kwargs = AVG[case]
    x = VOLUME if batched else VOLUME[0]
    compare(lambda t, F, v: F.avg_pool3d(v, kernel, **kwargs), [x], second=True)


@pytest.mark.parametrize("size", [2, (3, 2, 4), (2, None, 5), (5, 6, 7), (1, 4, 3)])
@pytest.mark.parametrize("batched", [True, False])
def test_adaptive_pools_3d_match_torch(size, batched):
    x = VOLUME if batched else VOLUME[0]
    compare(lambda t, F, v: F.adaptive_avg_pool3d(v, size), [x], second=True)
    compare(lambda t, F, v: F.adaptive_max_pool3d(v, size, return_indices=True), [x])
    compare(lambda t, F, v: F.adaptive_max_pool3d(v, size), [x], second=True)


@pytest.mark.parametrize(
    "args",
    [(2.0, 2, None, False), (1.5, (2, 3, 2), 1, True), (3, 2, (1, 2, 1), False)],
)
def test_lp_pool3d_matches_torch(args):
    norm, kernel, stride, ceil = args
    x = np.abs(VOLUME) + 0.1
    compare(lambda t, F, v: F.lp_pool3d(v, norm, kernel, stride, ceil), [x])
    compare(lambda t, F, v: t.nn.LPPool3d(norm, kernel, stride, ceil)(v), [x])


def _pooled(pool, x, kernel, **kwargs):
    """Output and indices of ``pool`` in torch, as arrays (the unpool's inputs)."""
    out, index = pool(torch.tensor(x), kernel, return_indices=True, **kwargs)
    return out.numpy(), index.numpy()


UNPOOL = {
    "1d": ("max_pool1d", "max_unpool1d", (2, 3, 8), 2, {}, {}),
    "1d_size": ("max_pool1d", "max_unpool1d", (2, 3, 8), 2, {}, {"output_size": (9,)}),
    "1d_unbatched": ("max_pool1d", "max_unpool1d", (3, 8), 2, {}, {"output_size": [2, 3, 9]}),
    "2d": ("max_pool2d", "max_unpool2d", (2, 3, 6, 8), 2, {}, {}),
    "2d_size": ("max_pool2d", "max_unpool2d", (2, 3, 6, 8), 2, {}, {"output_size": (7, 9)}),
    "2d_stride": ("max_pool2d", "max_unpool2d", (1, 2, 7, 7), 3, {"stride": 2, "padding": 1}, {}),
    "2d_unbatched": ("max_pool2d", "max_unpool2d", (3, 6, 8), (2, 4), {}, {}),
    "3d": ("max_pool3d", "max_unpool3d", (2, 2, 4, 6, 4), 2, {}, {}),
    "3d_size": ("max_pool3d", "max_unpool3d", (1, 2, 5, 6, 7), 2, {}, {"output_size": (5, 6, 7)}),
    "3d_unbatched": ("max_pool3d", "max_unpool3d", (2, 4, 4, 6), 2, {}, {}),
    "3d_overlap": ("max_pool3d", "max_unpool3d", (1, 2, 4, 4, 4), 2, {"stride": 1}, {}),
}


@pytest.mark.parametrize("case", list(UNPOOL))
def test_max_unpool_matches_torch(case):
    pool, unpool, shape, kernel, pool_kwargs, kwargs = UNPOOL[case]
    out, index = _pooled(
        getattr(torch.nn.functional, pool), RNG.standard_normal(shape), kernel, **pool_kwargs
    )
    stride = pool_kwargs.get("stride")
    padding = pool_kwargs.get("padding", 0)
    compare(
        lambda t, F, v, i: getattr(F, unpool)(v, i, kernel, stride, padding, **kwargs),
        [out, index],
        second=True,
    )


def test_pool_then_unpool_modules_match_torch():
    x = RNG.standard_normal((2, 2, 4, 4, 6))

    def run(t, F, v):
        out, index = t.nn.MaxPool3d(2, return_indices=True)(v)
        return t.nn.MaxUnpool3d(2)(out, index, output_size=v.shape)

    compare(run, [x])


def test_module_reprs_match_torch():
    for ctor in (
        lambda nn: nn.MaxPool3d(2),
        lambda nn: nn.MaxPool3d(
            (2, 3, 1), stride=1, padding=(1, 1, 0), dilation=2, return_indices=True, ceil_mode=True
        ),
        lambda nn: nn.AvgPool3d(2),
        lambda nn: nn.AvgPool3d(
            3, 2, 1, ceil_mode=True, count_include_pad=False, divisor_override=3
        ),
        lambda nn: nn.AdaptiveAvgPool3d((2, None, 3)),
        lambda nn: nn.AdaptiveMaxPool3d(2, return_indices=True),
        lambda nn: nn.MaxUnpool1d(2),
        lambda nn: nn.MaxUnpool2d((2, 3), stride=1, padding=1),
        lambda nn: nn.MaxUnpool3d(2),
        lambda nn: nn.LPPool3d(2, 2),
        lambda nn: nn.LPPool3d(1.5, (2, 3, 2), stride=1, ceil_mode=True),
        lambda nn: nn.BatchNorm3d(4),
    ):
        assert repr(ctor(glassgrad.nn)) == repr(ctor(torch.nn))
    assert glassgrad.nn.MaxPool3d.__module__ == "glassgrad.nn.modules.pooling"
    assert glassgrad.nn.MaxUnpool2d.__module__ == "glassgrad.nn.modules.pooling"


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm3d_matches_torch(momentum):
    x = RNG.standard_normal((3, 2, 2, 3, 2))
    modules = {lib: lib.nn.BatchNorm3d(2, momentum=momentum).double() for lib in (torch, glassgrad)}
    for _ in range(2):
        compare(lambda t, F, v: modules[t](v), [x], second=True)
    for name, buffer in modules[torch].named_buffers():
        np.testing.assert_allclose(
            dict(modules[glassgrad].named_buffers())[name].numpy(), buffer.numpy(), rtol=1e-12
        )
    modules[torch].eval(), modules[glassgrad].eval()
    compare(lambda t, F, v: modules[t](v), [x])


def _raises_same(call):
    try:
        call(torch)
    except Exception as exc:  # noqa: BLE001 - compared with glassgrad's below
        with pytest.raises(type(exc)) as info:
            call(glassgrad)
        assert str(info.value) == str(exc)
    else:
        raise AssertionError("torch accepted the call")


def _v(L, *shape, dtype=None):
    return L.zeros(*shape, dtype=dtype)


def _unpool_case(L, change):
    out, index = _pooled(torch.nn.functional.max_pool2d, np.arange(32.0).reshape(1, 2, 4, 4), 2)
    out, index = change(out, index)
    return L.nn.functional.max_unpool2d(L.tensor(out), L.tensor(index), 2)


def _set(index, cells):
    index = index.copy()
    for cell, value in cells:
        index[cell] = value
    return index


BAD = {
    "max_rank": lambda L: L.nn.functional.max_pool3d(_v(L, 5, 5, 5), 2),
    "max_kernel_len": lambda L: L.nn.functional.max_pool3d(_v(L, 3, 4, 4), (2, 2)),
    "max_stride_len": lambda L: L.nn.functional.max_pool3d(_v(L, 1, 1, 4, 4, 4), 2, stride=(1, 1)),
    "max_padding_len": lambda L: L.nn.functional.max_pool3d(
        _v(L, 1, 1, 4, 4, 4), 2, padding=(1, 1)
    ),
    "max_dilation_len": lambda L: L.nn.functional.max_pool3d(
        _v(L, 1, 1, 4, 4, 4), 2, dilation=(1, 1)
    ),
    "max_kernel0": lambda L: L.nn.functional.max_pool3d(_v(L, 1, 1, 4, 4, 4), 0),
    "max_kernel0_stride": lambda L: L.nn.functional.max_pool3d(
        _v(L, 1, 1, 4, 4, 4), (2, 0, 1), stride=1
    ),
    "max_stride_negative": lambda L: L.nn.functional.max_pool3d(_v(L, 1, 1, 4, 4, 4), 2, stride=-1),
    "max_dilation0": lambda L: L.nn.functional.max_pool3d(_v(L, 1, 1, 4, 4, 4), 2, dilation=0),
    "max_pad": lambda L: L.nn.functional.max_pool3d(_v(L, 1, 1, 4, 4, 4), 4, padding=3),
    "max_pad_negative": lambda L: L.nn.functional.max_pool3d(_v(L, 1, 1, 4, 4, 4), 2, padding=-1),
    "max_too_small": lambda L: L.nn.functional.max_pool3d(_v(L, 2, 3, 5, 6, 7), 6, stride=1),
    "max_empty_channels": lambda L: L.nn.functional.max_pool3d(_v(L, 2, 0, 4, 4, 4), 2),
    "avg_rank": lambda L: L.nn.functional.avg_pool3d(_v(L, 2, 3, 4, 4, 4, 2), 2),
    "avg_kernel_len": lambda L: L.nn.functional.avg_pool3d(_v(L, 1, 1, 4, 4, 4), (2, 2)),
    "avg_stride_len": lambda L: L.nn.functional.avg_pool3d(_v(L, 1, 1, 4, 4, 4), 2, stride=(1, 1)),
    "avg_padding_len": lambda L: L.nn.functional.avg_pool3d(
        _v(L, 1, 1, 4, 4, 4), 2, padding=(1, 1)
    ),
    "avg_stride0": lambda L: L.nn.functional.avg_pool3d(_v(L, 1, 1, 4, 4, 4), 2, stride=0),
    "avg_small": lambda L: L.nn.functional.avg_pool3d(_v(L, 2, 3, 5, 6, 7), 6, stride=1, padding=3),
    "avg_pad": lambda L: L.nn.functional.avg_pool3d(
        _v(L, 1, 1, 4, 4, 4), (2, 2, 2), padding=(0, 2, 0)
    ),
    "avg_divisor0": lambda L: L.nn.functional.avg_pool3d(
        _v(L, 1, 1, 4, 4, 4), 2, divisor_override=0
    ),
    "avg_empty_channels": lambda L: L.nn.functional.avg_pool3d(_v(L, 2, 0, 4, 4, 4), 2),
    "adaptive_avg_rank": lambda L: L.nn.functional.adaptive_avg_pool3d(_v(L, 5, 5), 3),
    "adaptive_avg_size": lambda L: L.nn.functional.adaptive_avg_pool3d(
        _v(L, 1, 1, 4, 4, 4), (2, 3)
    ),
    "adaptive_avg_long": lambda L: L.nn.functional.adaptive_avg_pool3d(
        _v(L, 1, 1, 4, 4, 4, dtype=L.int64), 2
    ),
    "adaptive_avg_one": lambda L: L.nn.functional.adaptive_avg_pool3d(_v(L, 1, 1, 4, 4, 4), [3]),
    "adaptive_max_one": lambda L: L.nn.functional.adaptive_max_pool3d(_v(L, 1, 1, 4, 4, 4), [3]),
    "adaptive_max_rank": lambda L: L.nn.functional.adaptive_max_pool3d(_v(L, 5, 5), 3),
    "adaptive_max_size": lambda L: L.nn.functional.adaptive_max_pool3d(
        _v(L, 1, 1, 4, 4, 4), (2, 3)
    ),
    "adaptive_max_long": lambda L: L.nn.functional.adaptive_max_pool3d(
        _v(L, 1, 1, 4, 4, 4, dtype=L.int64), 2
    ),
    "unpool_index_dtype": lambda L: _unpool_case(L, lambda o, i: (o, i.astype(np.float32))),
    "unpool_index_shape": lambda L: _unpool_case(L, lambda o, i: (o, i[0])),
    "unpool_rank": lambda L: _unpool_case(L, lambda o, i: (o[0, 0], i[0, 0])),
    "unpool_long": lambda L: _unpool_case(L, lambda o, i: (o.astype(np.int64), i)),
    "unpool_invalid_last": lambda L: _unpool_case(
        L, lambda o, i: (o, _set(i, [((0, 0, 0, 0), 300), ((0, 0, 1, 1), 200)]))
    ),
    "unpool_invalid_channels": lambda L: _unpool_case(
        # (one bad index: with two in different channels, which PyTorch reports depends on
        # its thread schedule)
        L,
        lambda o, i: (o, _set(i, [((0, 1, 0, 0), 300)])),
    ),
    "unpool_output_len": lambda L: L.nn.functional.max_unpool2d(
        _v(L, 1, 1, 2, 2), _v(L, 1, 1, 2, 2, dtype=L.int64), 2, output_size=(4, 4, 4)
    ),
    "unpool_output_range": lambda L: L.nn.functional.max_unpool1d(
        _v(L, 1, 1, 4), _v(L, 1, 1, 4, dtype=L.int64), 2, output_size=(12,)
    ),
    "unpool3d_rank": lambda L: L.nn.functional.max_unpool3d(
        _v(L, 2, 2, 2), _v(L, 2, 2, 2, dtype=L.int64), 2
    ),
    "unpool_empty": lambda L: L.nn.functional.max_unpool2d(
        _v(L, 1, 2, 0, 2), _v(L, 1, 2, 0, 2, dtype=L.int64), 2
    ),
    "batchnorm3d_rank": lambda L: L.nn.BatchNorm3d(3)(_v(L, 2, 3, 4, 4)),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_as_torch(case):
    _raises_same(BAD[case])
