"""nn.Fold / nn.Unfold and F.fold / F.unfold against PyTorch: values, grad_fn names, first and
second-order gradients, reprs and the shape errors (type and message)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
from nn_functional_cases import compare

RNG = np.random.default_rng(12)

UNFOLD = {
    "plain": ((2, 3, 5, 6), (2,), {}),
    "rect": ((2, 3, 5, 6), ((2, 3),), {"dilation": (2, 1), "padding": 1, "stride": 2}),
    "unbatched": ((3, 5, 6), (3,), {"padding": (1, 0), "stride": (1, 2)}),
    "empty_batch": ((0, 2, 4, 4), (2,), {}),
    "list_args": ((1, 2, 6, 6), ([2, 2],), {"dilation": [2, 2], "stride": [3, 1]}),
}


@pytest.mark.parametrize("case", list(UNFOLD))
def test_unfold_matches_torch(case):
    shape, args, kwargs = UNFOLD[case]
    compare(lambda t, F, x: F.unfold(x, *args, **kwargs), [RNG.standard_normal(shape)], second=True)


FOLD = {
    "plain": ((2, 12, 16), ((5, 5), 2), {}),
    "strided": ((2, 6, 6), ((4, 5), (2, 3)), {"dilation": (1, 2), "padding": 1, "stride": 2}),
    "unbatched": ((8, 9), (4, 2), {"stride": 1, "padding": (0, 0)}),
    "gaps": ((1, 4, 4), (5, 2), {"stride": 3}),  # blocks that skip pixels leave them zero
}


@pytest.mark.parametrize("case", list(FOLD))
def test_fold_matches_torch(case):
    shape, args, kwargs = FOLD[case]
    compare(lambda t, F, x: F.fold(x, *args, **kwargs), [RNG.standard_normal(shape)], second=True)


def test_fold_of_unfold_counts_overlaps_as_torch():
    image = RNG.standard_normal((1, 2, 6, 7))

    def roundtrip(t, F, x):
        return F.fold(F.unfold(x, 3, padding=1, stride=2), (6, 7), 3, padding=1, stride=2)

    compare(roundtrip, [image], second=True)


def test_modules_match_torch():
    for ctor in (
        lambda nn: nn.Unfold(2, padding=1),
        lambda nn: nn.Unfold((2, 3), dilation=(1, 2), stride=2),
        lambda nn: nn.Fold((4, 5), (2, 3), stride=2),
        lambda nn: nn.Fold(output_size=6, kernel_size=2, dilation=2, padding=1),
    ):
        assert repr(ctor(glassgrad.nn)) == repr(ctor(torch.nn))
        assert list(ctor(glassgrad.nn).state_dict()) == []
    x = RNG.standard_normal((2, 3, 6, 6))
    got = glassgrad.nn.Fold(6, 2, stride=2)(glassgrad.nn.Unfold(2, stride=2)(glassgrad.tensor(x)))
    want = torch.nn.Fold(6, 2, stride=2)(torch.nn.Unfold(2, stride=2)(torch.tensor(x)))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert glassgrad.nn.Fold.__module__ == "glassgrad.nn.modules.fold"
    from glassgrad.nn.modules.fold import Fold, Unfold

    assert (Fold, Unfold) == (glassgrad.nn.Fold, glassgrad.nn.Unfold)


def _raises_same(call):
    try:
        call(torch)
    except Exception as exc:  # noqa: BLE001 - compared with glassgrad's below
        with pytest.raises(type(exc)) as info:
            call(glassgrad)
        assert str(info.value) == str(exc)
    else:
        raise AssertionError("torch accepted the call")


BAD = {
    "unfold_2d": lambda L: L.nn.functional.unfold(L.zeros(3, 5), 2),
    "unfold_1d": lambda L: L.nn.functional.unfold(L.zeros(5), 2),
    "unfold_5d": lambda L: L.nn.functional.unfold(L.zeros(1, 2, 3, 5, 5), 2),
    "unfold_zero_channels": lambda L: L.nn.functional.unfold(L.zeros(2, 0, 5, 5), 2),
    "unfold_big_kernel": lambda L: L.nn.functional.unfold(L.zeros(2, 3, 5, 5), 6),
    "unfold_kernel0": lambda L: L.nn.functional.unfold(L.zeros(2, 3, 5, 5), 0),
    "unfold_order": lambda L: L.nn.functional.unfold(
        L.zeros(2, 3, 5, 5), 2, stride=0, dilation=0, padding=-1
    ),
    "unfold_pad_stride": lambda L: L.nn.functional.unfold(
        L.zeros(2, 3, 5, 5), 2, stride=(1, 0), padding=(1, -1)
    ),
    "unfold_rank3_kernel": lambda L: L.nn.functional.unfold(L.zeros(2, 3, 5, 5), (2, 2, 2)),
    "unfold_long": lambda L: L.nn.functional.unfold(L.zeros(1, 1, 3, 3, dtype=L.int64), 2),
    "unfold_byte": lambda L: L.nn.functional.unfold(L.zeros(1, 1, 3, 3, dtype=L.uint8), 2),
    "fold_channels": lambda L: L.nn.functional.fold(L.zeros(2, 13, 16), (5, 5), 2),
    "fold_blocks": lambda L: L.nn.functional.fold(L.zeros(2, 12, 15), (5, 5), 2),
    "fold_small_output": lambda L: L.nn.functional.fold(L.zeros(2, 12, 16), (1, 1), 2),
    "fold_zero_output": lambda L: L.nn.functional.fold(L.zeros(2, 12, 16), (5, 0), 2),
    "fold_1d": lambda L: L.nn.functional.fold(L.zeros(12), (5, 5), 2),
    "fold_4d": lambda L: L.nn.functional.fold(L.zeros(1, 2, 12, 16), (5, 5), 2),
    "fold_empty": lambda L: L.nn.functional.fold(L.zeros(2, 0, 16), (5, 5), 2),
    "fold_order": lambda L: L.nn.functional.fold(
        L.zeros(2, 12, 16), (5, 5), 2, stride=0, dilation=0, padding=-1
    ),
    "fold_dilation_padding": lambda L: L.nn.functional.fold(
        L.zeros(2, 12, 16), (5, 5), 2, dilation=0, padding=-1
    ),
    "fold_output_rank": lambda L: L.nn.functional.fold(L.zeros(2, 12, 16), (5, 5, 5), 2),
    "unfold_short_list": lambda L: L.nn.functional.unfold(L.zeros(1, 2, 6, 6), 2, dilation=[2]),
    "fold_int": lambda L: L.nn.functional.fold(L.zeros(1, 4, 4, dtype=L.int32), 3, 2),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_shapes_raise_as_torch(case):
    _raises_same(BAD[case])


def test_bool_and_half_are_accepted_as_torch():
    for dtype in ("bool", "float16", "float64"):
        want = torch.nn.functional.unfold(torch.ones(1, 1, 3, 3, dtype=getattr(torch, dtype)), 2)
        got = glassgrad.nn.functional.unfold(
            glassgrad.ones(1, 1, 3, 3, dtype=getattr(glassgrad, dtype)), 2
        )
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
