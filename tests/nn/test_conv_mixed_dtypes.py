"""Convolutions with input, weight and bias of different dtypes, against PyTorch: which of its
three dtype errors PyTorch raises (or whether it adds a bias of another width) depends on its
entry point (padding given as a string), on whether its MKLDNN kernel would run (float32,
groups, batch, an output padding as large as the stride) and on the transposed kernels."""

from __future__ import annotations

import itertools

import pytest
import torch

import glassgrad

SHAPES = {
    (1, 2): ((2, 4, 5), (4, 2, 2)),
    (2, 2): ((2, 4, 5, 5), (4, 2, 2, 2)),
    (3, 2): ((2, 4, 5, 5, 5), (4, 2, 2, 2, 2)),
    (1, 1): ((1, 4, 5), (4, 4, 2)),
    (2, 1): ((1, 4, 5, 5), (4, 4, 2, 2)),
    (3, 1): ((1, 4, 5, 5, 5), (4, 4, 2, 2, 2)),
}
FORWARD = [{}, {"padding": "same"}, {"padding": "valid"}, {"stride": 2}]
TRANSPOSED = [{}, {"dilation": 3, "output_padding": 2}, {"stride": 2, "output_padding": 1}]


def _outcome(lib, dims, groups, transposed, kwargs, dtypes, grad):
    f = lib.nn.functional
    fn = getattr(f, f"conv_transpose{dims}d" if transposed else f"conv{dims}d")
    x_shape, w_shape = SHAPES[(dims, groups)]
    xd, wd, bd = (None if d is None else getattr(lib, d) for d in dtypes)
    x = lib.ones(x_shape, dtype=xd, requires_grad=grad)
    w = lib.ones(w_shape, dtype=wd, requires_grad=grad)
    b = None if bd is None else lib.ones(4, dtype=bd, requires_grad=grad)
    try:
        out = fn(x, w, b, groups=groups, **kwargs)
    except RuntimeError as error:
        return ("raise", str(error))
    return ("ok", str(out.dtype), tuple(out.shape), out.sum().item())


CASES = [
    (dims, groups, transposed, kwargs)
    for dims in (1, 2, 3)
    for groups in (1, 2)
    for transposed in (False, True)
    for kwargs in (TRANSPOSED if transposed else FORWARD)
]
DTYPES = [
    d
    for d in itertools.product(
        ("float32", "float64"), ("float32", "float64"), (None, "float32", "float64")
    )
    if len({x for x in d if x}) > 1
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(("dims", "groups", "transposed", "kwargs"), CASES)
def test_mixed_dtype_convolution_matches_torch(dims, groups, transposed, kwargs):
    for dtypes in DTYPES:
        for grad in (False, True):
            args = (dims, groups, transposed, kwargs, dtypes, grad)
            assert _outcome(glassgrad, *args) == _outcome(torch, *args), args
