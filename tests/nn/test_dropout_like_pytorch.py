"""Every dropout form draws what PyTorch draws: with the same seed the same elements (or
channels) are dropped, the values, gradients, grad_fn and the generator's state after the call
are PyTorch's; in-place forms write into the input; errors and warnings are PyTorch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassgrad

torch = pytest.importorskip("torch")

FORMS = [
    ("dropout", (4, 5, 6)),
    ("dropout1d", (3, 4, 5)),
    ("dropout1d", (4, 5)),
    ("dropout2d", (2, 3, 4, 5)),
    ("dropout2d", (3, 4, 5)),
    ("dropout3d", (2, 3, 2, 2, 2)),
    ("dropout3d", (3, 2, 2, 2)),
    ("alpha_dropout", (4, 5)),
    ("feature_alpha_dropout", (2, 3, 4)),
]


def _run(lib, name, shape, p, dtype, inplace):
    lib.manual_seed(3)
    base = (lib.arange(float(np.prod(shape))).reshape(shape) / 7 - 1).to(getattr(lib, dtype))
    leaf = base.clone().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(lib.nn.functional, name)(leaf * 1 if inplace else leaf, p, True, inplace)
    out.float().sum().backward()
    return (
        out.detach().float().numpy(),
        leaf.grad.float().numpy(),
        lib.rand(3).tolist(),  # the generator's state after the call
        type(out.grad_fn).__name__,
        str(out.dtype).split(".")[-1],
    )


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.77, 1.0])
@pytest.mark.parametrize("name,shape", FORMS)
def test_dropout_forms_draw_as_pytorch(name, shape, p, dtype, inplace):
    mine = _run(glassgrad, name, shape, p, dtype, inplace)
    theirs = _run(torch, name, shape, p, dtype, inplace)
    np.testing.assert_array_equal(mine[0], theirs[0])
    np.testing.assert_array_equal(mine[1], theirs[1])
    assert mine[2:] == theirs[2:]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,shape", FORMS)
def test_dropout_half_precision_as_pytorch(name, shape, dtype):
    mine = _run(glassgrad, name, shape, 0.3, dtype, False)
    theirs = _run(torch, name, shape, 0.3, dtype, False)
    np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-2, atol=1e-2)
    assert mine[2:] == theirs[2:]


def test_dropout_inplace_writes_the_input():
    for lib in (glassgrad, torch):
        lib.manual_seed(0)
        x = lib.ones(4, 6)
        out = lib.nn.functional.dropout(x, 0.5, True, inplace=True)
        assert out is x or out.data_ptr() == x.data_ptr()
        assert (x == 0).any() and (x == 2).any()


def test_dropout_modules_and_reprs():
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"):
        for args in ((), (0.2,), (0.1, True)):
            mine = getattr(glassgrad.nn, name)(*args)
            assert repr(mine) == repr(getattr(torch.nn, name)(*args))
    mine = glassgrad.nn.FeatureAlphaDropout(0.2)
    assert repr(mine) == repr(torch.nn.FeatureAlphaDropout(0.2))
    module = glassgrad.nn.Dropout3d(0.5).eval()
    x = glassgrad.ones(2, 3, 2, 2, 2)
    assert module(x) is x
    assert glassgrad.nn.Dropout3d.__module__ == glassgrad.nn.Dropout.__module__


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "dropout1d", "dropout3d"])
def test_dropout_probability_error(name):
    for lib in (glassgrad, torch):
        with pytest.raises(ValueError) as info:
            getattr(lib.nn.functional, name)(lib.ones(2, 3, 4), 1.5, True)
        assert str(info.value) == "dropout probability has to be between 0 and 1, but got 1.5"


def test_dropout1d_rank_error_and_channel_warnings_as_pytorch():
    texts = []
    for lib in (glassgrad, torch):
        with pytest.raises(RuntimeError) as info:
            lib.nn.functional.dropout1d(lib.ones(2, 3, 4, 5), 0.5)
        found = [str(info.value)]
        for name, shape in (("dropout2d", (2, 3)), ("dropout2d", (2, 3, 4)), ("dropout3d", (3, 4))):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                getattr(lib.nn.functional, name)(lib.ones(shape), 0.5)
            found.append([str(w.message) for w in caught])
        texts.append(found)
    assert texts[0] == texts[1]


def test_feature_dropout_of_a_vector_is_refused():
    for lib in (glassgrad, torch):
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            lib.nn.functional.feature_alpha_dropout(lib.ones(5), 0.5, True)
