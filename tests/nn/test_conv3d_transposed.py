"""conv3d and the transposed convolutions (1-D, 2-D, 3-D) against PyTorch: values, gradients,
double backward, modules (reprs, init, state_dicts, output_size) and error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad

RNG = np.random.default_rng(7)

# (op, input shape, weight shape, has bias, kwargs)
FUNCTIONAL = [
    ("conv3d", (2, 4, 5, 4, 6), (3, 4, 2, 3, 2), True, {}),
    ("conv3d", (2, 4, 6, 5, 5), (4, 2, 3, 2, 2), True, {"stride": (2, 1, 3), "groups": 2}),
    ("conv3d", (1, 3, 5, 6, 4), (2, 3, 2, 2, 3), False, {"padding": (1, 2, 1), "dilation": 2}),
    ("conv3d", (2, 2, 4, 4, 4), (3, 2, 2, 3, 2), True, {"padding": "same", "dilation": (1, 2, 1)}),
    ("conv3d", (2, 2, 4, 4, 4), (3, 2, 3, 3, 3), True, {"padding": "same"}),
    ("conv3d", (2, 2, 4, 4, 4), (3, 2, 3, 3, 3), True, {"padding": "valid", "stride": [2]}),
    ("conv3d", (3, 5, 4, 6), (4, 3, 2, 2, 2), True, {"padding": 1}),  # unbatched
    ("conv_transpose3d", (2, 4, 3, 2, 3), (4, 3, 2, 3, 2), True, {}),
    (
        "conv_transpose3d",
        (2, 4, 3, 3, 2),
        (4, 1, 3, 2, 2),
        True,
        {"stride": (2, 1, 3), "padding": (1, 0, 1), "output_padding": (1, 0, 2), "groups": 2},
    ),
    ("conv_transpose3d", (1, 2, 3, 3, 3), (2, 2, 2, 2, 2), False, {"dilation": 2, "stride": 2}),
    ("conv_transpose3d", (2, 3, 2, 3), (2, 2, 2, 2, 2), True, {"output_padding": 1, "stride": 2}),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), True, {}),
    (
        "conv_transpose1d",
        (2, 6, 5),
        (6, 2, 3),
        True,
        {"stride": 3, "padding": 2, "output_padding": 2, "groups": 3},
    ),
    # an output padding past the stride (allowed below the dilation) adds unread positions
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), True, {"dilation": 3, "output_padding": 2}),
    ("conv_transpose1d", (4, 7), (4, 2, 2), False, {"stride": 2}),  # unbatched
    (
        "conv_transpose2d",
        (2, 4, 3, 3),
        (4, 3, 2, 3),
        True,
        {"dilation": (3, 1), "output_padding": (2, 0)},
    ),
    ("conv1d", (2, 4, 9), (4, 2, 3), True, {"groups": 2, "stride": 2, "padding": "valid"}),
    ("conv1d", (2, 4, 9), (3, 4, 4), True, {"padding": "same", "dilation": 1}),
    ("conv2d", (2, 4, 6, 5), (4, 2, 3, 2), True, {"groups": 2, "stride": (2, 1), "padding": 1}),
]


def _arrays(op, x_shape, w_shape, has_bias, kwargs):
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    out_channels = w_shape[1] * kwargs.get("groups", 1) if "transpose" in op else w_shape[0]
    return x, w, RNG.standard_normal(out_channels) if has_bias else None


def _run(lib, op, arrays, kwargs, create_graph=False):
    tensors = [None if a is None else lib.tensor(a, requires_grad=True) for a in arrays]
    out = getattr(lib.nn.functional, op)(*tensors, **kwargs)
    upstream = lib.tensor(np.cos(np.arange(out.numel()).reshape(tuple(out.shape))))
    inputs = [t for t in tensors if t is not None]
    grads = lib.autograd.grad((out * upstream).sum(), inputs, create_graph=create_graph)
    return out, grads, inputs


@pytest.mark.parametrize("case", FUNCTIONAL, ids=lambda c: f"{c[0]}-{c[1]}-{c[4]}")
def test_values_and_gradients_match_torch(case):
    op, x_shape, w_shape, has_bias, kwargs = case
    x, w, bias = _arrays(op, x_shape, w_shape, has_bias, kwargs)
    found = [_run(lib, op, (x, w, bias), kwargs)[:2] for lib in (torch, glassgrad)]
    (t_out, t_grads), (g_out, g_grads) = found
    assert tuple(g_out.shape) == tuple(t_out.shape)
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), 1e-10, 1e-10)
    for g_grad, t_grad in zip(g_grads, t_grads, strict=True):
        np.testing.assert_allclose(g_grad.numpy(), t_grad.numpy(), 1e-10, 1e-10)


@pytest.mark.parametrize(
    "case", [c for c in FUNCTIONAL if c[0] != "conv1d"], ids=lambda c: f"{c[0]}-{c[4]}"
)
def test_double_backward_matches_torch(case):
    op, x_shape, w_shape, has_bias, kwargs = case
    x, w, bias = _arrays(op, x_shape, w_shape, has_bias, kwargs)
    results = []
    for lib in (torch, glassgrad):
        _, grads, inputs = _run(lib, op, (x, w, bias), kwargs, create_graph=True)
        penalty = sum((g * g).sum() for g in grads[:2])
        results.append(lib.autograd.grad(penalty, inputs[:2]))
    for g_grad, t_grad in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(g_grad.numpy(), t_grad.numpy(), 1e-9, 1e-9)


def test_torch_namespace_functions_and_grad_fn():
    x = glassgrad.randn(1, 2, 3, 3, 3, requires_grad=True)
    out = glassgrad.conv3d(x, glassgrad.randn(2, 2, 2, 2, 2))
    assert type(out.grad_fn).__name__ == "ConvolutionBackward0"
    back = glassgrad.conv_transpose3d(out, glassgrad.randn(2, 2, 2, 2, 2))
    assert tuple(back.shape) == (1, 2, 3, 3, 3)
    line = glassgrad.conv_transpose1d(glassgrad.randn(1, 2, 4), glassgrad.randn(2, 3, 2))
    assert tuple(line.shape) == (1, 3, 5)


# -- errors ------------------------------------------------------------------------------------
ERRORS = [
    ("conv3d", (2, 5, 5), (4, 2, 3, 3, 3), None, {}),
    ("conv3d", (1, 2, 5, 5), (4, 2, 3, 3, 3), None, {}),
    ("conv3d", (1, 3, 5, 5, 5), (4, 2, 3, 3, 3), None, {}),
    ("conv3d", (1, 2, 2, 5, 5), (4, 2, 3, 3, 3), None, {}),
    ("conv3d", (1, 2, 5, 5, 5), (4, 2, 3, 3, 3), None, {"padding": "same", "stride": 2}),
    ("conv3d", (1, 2, 5, 5, 5), (4, 2, 3, 3, 3), None, {"padding": "foo"}),
    ("conv3d", (1, 2, 5, 5, 5), (4, 2, 3, 3, 3), None, {"dilation": 0}),
    ("conv3d", (1, 2, 5, 5, 5), (4, 2, 3, 3, 3), None, {"stride": (1, 1)}),
    ("conv3d", (1, 2, 5, 5, 5), (4, 2, 3, 3, 3), None, {"stride": 0, "padding": -1}),
    ("conv3d", (1, 2, 5, 5, 5), (4, 2, 3, 3, 3), None, {"groups": 0}),
    ("conv3d", (1, 2, 5, 5, 5), (4, 2, 3, 3, 3), (3,), {}),
    ("conv3d", (1, 2, 5, 5, 5), (3, 2, 3, 3, 3), None, {"groups": 2}),
    ("conv3d", (1, 2, 5, 5, 5), (1, 2, 3, 3, 3), None, {"groups": 2}),
    ("conv1d", (1, 2, 5), (4, 2, 3), None, {"dilation": 0}),
    ("conv2d", (1, 2, 5, 5), (4, 2, 3, 3), None, {"padding": "foo"}),
    ("conv2d", (5, 5), (4, 2, 3, 3), None, {}),
    ("conv_transpose3d", (1, 2, 5, 5, 5, 5), (2, 3, 3, 3, 3), None, {}),
    ("conv_transpose3d", (1, 3, 5, 5, 5), (2, 3, 3, 3, 3), None, {}),
    ("conv_transpose3d", (1, 2, 5, 5, 5), (2, 3, 3, 3, 3), None, {"output_padding": 1}),
    ("conv_transpose3d", (1, 2, 5, 5, 5), (2, 3, 3, 3, 3), None, {"padding": 5}),
    ("conv_transpose3d", (1, 2, 5, 5, 5), (2, 3, 3, 3, 3), (4,), {}),
    ("conv_transpose3d", (1, 2, 5, 5, 5), (2, 3, 3, 3, 3), None, {"dilation": 0}),
    ("conv_transpose3d", (1, 2, 5, 5, 5), (2, 3, 3, 3, 3), None, {"output_padding": (1, 1)}),
    ("conv_transpose1d", (5,), (2, 3, 3), None, {}),
    ("conv_transpose1d", (1, 3, 5), (2, 3, 3), None, {}),
    ("conv_transpose1d", (1, 2, 5), (2, 3, 3), None, {"output_padding": 1}),
    ("conv_transpose1d", (1, 2, 5), (2, 3, 3), None, {"padding": 5}),
    ("conv_transpose1d", (1, 2, 5), (2, 3, 3), None, {"dilation": 0}),
    ("conv_transpose1d", (1, 2, 5), (2, 3, 3), None, {"stride": 0}),
    ("conv_transpose1d", (1, 4, 5), (4, 3, 3), None, {"groups": 3}),
    ("conv_transpose1d", (1, 2, 5), (2, 3, 3), None, {"groups": 3}),
    ("conv_transpose2d", (1, 2, 5, 5, 5), (2, 3, 3, 3), None, {}),
    ("conv_transpose2d", (1, 2, 5, 5), (2, 3, 3, 3), (2,), {}),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}-{c[4]}")
def test_errors_match_torch(case):
    op, x_shape, w_shape, b_shape, kwargs = case
    found = []
    for lib in (torch, glassgrad):
        bias = None if b_shape is None else lib.zeros(b_shape)
        with pytest.raises(RuntimeError) as info:
            getattr(lib.nn.functional, op)(lib.zeros(x_shape), lib.zeros(w_shape), bias, **kwargs)
        found.append(str(info.value))
    assert found[1] == found[0]


def test_transposed_padding_string_is_a_type_error():
    for lib in (torch, glassgrad):
        with pytest.raises(TypeError, match="must be tuple of ints, not str"):
            lib.nn.functional.conv_transpose1d(
                lib.zeros(1, 2, 5), lib.zeros(2, 3, 3), padding="same"
            )


@pytest.fixture
def _ops_unwrapped():
    """Warning frames are compared: bfloat16/autocast's op wrappers (installed for the rest of
    the process by any earlier test that made a bfloat16 tensor) add a frame. Open: with them
    installed, this warning names glassgrad's wrapper instead of the caller."""
    glassgrad.amp._policy.uninstall()
    yield


@pytest.mark.usefixtures("_ops_unwrapped")
def test_uneven_same_padding_warns_as_torch():
    import glassgrad.ops.nn.conv.conv as conv_module

    conv_module._UNEVEN_SAME_WARNED.clear()
    x, w = glassgrad.zeros(1, 2, 4, 4, 4), glassgrad.zeros(3, 2, 2, 2, 2)
    with pytest.warns(UserWarning, match="even kernel lengths and odd dilation") as record:
        glassgrad.nn.functional.conv3d(x, w, padding="same")
        glassgrad.nn.functional.conv3d(x, w, padding="same")  # once per process, as PyTorch
    assert len([r for r in record if "even kernel" in str(r.message)]) == 1
    assert record[0].filename == __file__
