"""Recurrent cells, normalisation layers and the small reshaping/distance layers against
PyTorch 2.13: printout, state_dict, forward values, input and parameter gradients, buffers,
grad_fn names and the errors for bad shapes (weights copied from torch through NumPy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad


def _build(nn, spec):
    return eval("nn." + spec, {"nn": nn})


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flat(item)]
    return [out]


def _inputs(lib, arrays):
    """Tensors requiring grad from ``arrays`` (a tuple inside stays a tuple, as LSTM's hx)."""
    made = []
    for item in arrays:
        if isinstance(item, tuple):
            made.append(tuple(lib.tensor(a, requires_grad=True) for a in item))
        else:
            made.append(lib.tensor(item, requires_grad=item.dtype.kind == "f"))
    return made


def _run(lib, module, arrays, weights):
    inputs = _inputs(lib, arrays)
    outs = _flat(module(*inputs))
    total = sum(
        (o * o * lib.tensor(w[: o.numel()].reshape(tuple(o.shape)))).sum()
        for o, w in zip(outs, weights, strict=False)
        if o.dtype.is_floating_point
    )
    total.backward()
    grads = [t.grad for t in _flat(inputs) if t.requires_grad]
    return outs, grads


def compare(spec, arrays, train=True, tol=1e-10):
    """Same module in both libraries: outputs, grads, buffers, grad_fn names or errors match."""
    torch.manual_seed(0)
    t_module, g_module = _build(torch.nn, spec), _build(glassgrad.nn, spec)
    assert repr(g_module) == repr(t_module)
    t_module, g_module = t_module.double(), g_module.double()  # float64 keeps tolerances tight
    t_state = t_module.state_dict()
    assert [(k, tuple(v.shape)) for k, v in g_module.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in t_state.items()
    ]
    g_module.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in t_state.items()})
    t_module.train(train), g_module.train(train)
    weights = [np.random.default_rng(i).standard_normal(500) for i in range(4)]
    try:
        t_outs, t_grads = _run(torch, t_module, arrays, weights)
    except Exception as exc:  # noqa: BLE001 - the same error must come from glassgrad
        with pytest.raises(type(exc)) as info:
            _run(glassgrad, g_module, arrays, weights)
        assert str(info.value) == str(exc)
        return
    g_outs, g_grads = _run(glassgrad, g_module, arrays, weights)
    for g, t in zip(g_outs, t_outs, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)
        assert type(g.grad_fn).__name__ == type(t.grad_fn).__name__
    for g, t in zip(g_grads, t_grads, strict=True):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=tol, atol=tol)
    g_params = dict(g_module.named_parameters())
    for name, param in t_module.named_parameters():
        np.testing.assert_allclose(
            g_params[name].grad.numpy(), param.grad.numpy(), rtol=tol, atol=tol
        )
    g_state = g_module.state_dict()
    for name, value in t_module.state_dict().items():
        np.testing.assert_allclose(g_state[name].numpy(), value.numpy(), rtol=tol, atol=tol)


def _normal(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


CELL_CASES = {
    "rnn": ("RNNCell(8, 5)", [_normal(3, 8)]),
    "rnn_hx": ("RNNCell(8, 5)", [_normal(3, 8), _normal(3, 5)]),
    "rnn_relu_nobias": ("RNNCell(8, 5, bias=False, nonlinearity='relu')", [_normal(3, 8)]),
    "rnn_unbatched": ("RNNCell(8, 5)", [_normal(8), _normal(5)]),
    "rnn_bad_nonlinearity": ("RNNCell(8, 5, nonlinearity='sigmoid')", [_normal(3, 8)]),
    "lstm": ("LSTMCell(8, 5)", [_normal(3, 8)]),
    "lstm_hx": ("LSTMCell(8, 5)", [_normal(3, 8), (_normal(3, 5), _normal(3, 5, seed=2))]),
    "lstm_unbatched": ("LSTMCell(8, 5, bias=False)", [_normal(8), (_normal(5), _normal(5))]),
    "gru": ("GRUCell(8, 5)", [_normal(3, 8)]),
    "gru_hx": ("GRUCell(8, 5)", [_normal(3, 8), _normal(3, 5)]),
    "gru_unbatched": ("GRUCell(8, 5, bias=False)", [_normal(8), _normal(5)]),
}
for _cell in ("RNNCell", "GRUCell", "LSTMCell"):
    for _key, _arrays in {
        "input_size": [_normal(3, 7)],
        "hidden_size": [_normal(3, 8), _normal(3, 4)],
        "batch": [_normal(3, 8), _normal(2, 5)],
        "input_3d": [_normal(2, 3, 8)],
        "hidden_3d": [_normal(3, 8), _normal(1, 3, 5)],
        "unbatched_vs_batched": [_normal(8), _normal(3, 5)],
        "batched_vs_1d": [_normal(3, 8), _normal(5)],
    }.items():
        if _cell == "LSTMCell" and len(_arrays) == 2:
            _arrays = [_arrays[0], (_arrays[1], _arrays[1])]
        CELL_CASES[f"{_cell}_{_key}"] = (f"{_cell}(8, 5)", _arrays)


@pytest.mark.parametrize("case", sorted(CELL_CASES))
def test_cell(case):
    spec, arrays = CELL_CASES[case]
    compare(spec, arrays)


def test_cell_float32_defaults():
    torch.manual_seed(0)
    cell = glassgrad.nn.LSTMCell(4, 3)
    assert [(n, tuple(p.shape), p.dtype) for n, p in cell.named_parameters()] == [
        (n, tuple(p.shape), glassgrad.float32)
        for n, p in torch.nn.LSTMCell(4, 3).named_parameters()
    ]
    bound = 1 / np.sqrt(3)
    assert all(float(p.abs().max()) <= bound for p in cell.parameters())
    h, c = cell(glassgrad.randn(2, 4))
    assert h.dtype == glassgrad.float32 and tuple(c.shape) == (2, 3)


NORM_CASES = {
    "in1d": ("InstanceNorm1d(3)", [_normal(2, 3, 6)]),
    "in1d_unbatched": ("InstanceNorm1d(3)", [_normal(3, 6)]),
    "in1d_affine_track": (
        "InstanceNorm1d(3, affine=True, track_running_stats=True)",
        [_normal(2, 3, 6)],
    ),
    "in1d_track_nobias": (
        "InstanceNorm1d(3, momentum=0.3, affine=True, track_running_stats=True, bias=False)",
        [_normal(3, 6)],
    ),
    "in1d_bad_rank": ("InstanceNorm1d(3)", [_normal(2, 3, 4, 4)]),
    "in1d_bad_features": ("InstanceNorm1d(4, affine=True)", [_normal(2, 3, 6)]),
    "in1d_one_element": ("InstanceNorm1d(3)", [_normal(2, 3, 1)]),
    "in2d": ("InstanceNorm2d(4)", [_normal(2, 4, 3, 5)]),
    "in2d_affine": ("InstanceNorm2d(4, affine=True, eps=1e-3)", [_normal(2, 4, 3, 5)]),
    "in2d_track_unbatched": ("InstanceNorm2d(4, track_running_stats=True)", [_normal(4, 3, 5)]),
    "in3d_affine": ("InstanceNorm3d(2, affine=True)", [_normal(2, 2, 3, 2, 3)]),
    "rms": ("RMSNorm(6)", [_normal(2, 3, 6)]),
    "rms_shape_eps": ("RMSNorm([3, 6], eps=1e-3, elementwise_affine=False)", [_normal(2, 3, 6)]),
    "rms_bad_shape": ("RMSNorm(5)", [_normal(2, 3, 6)]),
    "lrn3d": ("LocalResponseNorm(2)", [_normal(2, 5, 6)]),
    "lrn4d": ("LocalResponseNorm(3, 1e-2, 0.5, 2.0)", [_normal(2, 5, 3, 4)]),
    "lrn5d": ("LocalResponseNorm(4, alpha=0.1)", [_normal(1, 6, 2, 3, 2)]),
    "lrn2d": ("LocalResponseNorm(2)", [_normal(2, 5)]),
}


@pytest.mark.parametrize("case", sorted(NORM_CASES))
@pytest.mark.parametrize("train", [True, False])
def test_norm(case, train):
    spec, arrays = NORM_CASES[case]
    compare(spec, arrays, train)


def test_instance_norm_eval_uses_running_stats():
    torch.manual_seed(0)
    t_module = torch.nn.InstanceNorm1d(3, track_running_stats=True).double()
    g_module = glassgrad.nn.InstanceNorm1d(3, track_running_stats=True).double()
    data = _normal(4, 3, 5)
    for _ in range(3):
        t_module(torch.tensor(data)), g_module(glassgrad.tensor(data))
    t_module.eval(), g_module.eval()
    np.testing.assert_allclose(
        g_module(glassgrad.tensor(data)).numpy(), t_module(torch.tensor(data)).numpy(), rtol=1e-10
    )
    assert int(g_module.num_batches_tracked) == int(t_module.num_batches_tracked) == 0


def test_rms_norm_float32_default_eps():
    data = _normal(3, 4).astype(np.float32) * 1e-4
    np.testing.assert_allclose(
        glassgrad.nn.functional.rms_norm(glassgrad.tensor(data), (4,)).numpy(),
        torch.nn.functional.rms_norm(torch.tensor(data), (4,)).numpy(),
        rtol=1e-5,
    )


SHAPE_CASES = {
    "pixel_shuffle": ("PixelShuffle(2)", [_normal(2, 8, 3, 2)]),
    "pixel_shuffle_unbatched": ("PixelShuffle(3)", [_normal(9, 2, 3)]),
    "pixel_shuffle_5d": ("PixelShuffle(2)", [_normal(3, 2, 8, 2, 2)]),
    "pixel_shuffle_bad_channels": ("PixelShuffle(3)", [_normal(2, 4, 3, 5)]),
    "pixel_shuffle_2d": ("PixelShuffle(2)", [_normal(4, 3)]),
    "pixel_shuffle_zero": ("PixelShuffle(0)", [_normal(2, 4, 3, 5)]),
    "pixel_unshuffle": ("PixelUnshuffle(2)", [_normal(2, 2, 4, 6)]),
    "pixel_unshuffle_unbatched": ("PixelUnshuffle(3)", [_normal(1, 3, 6)]),
    "pixel_unshuffle_bad_height": ("PixelUnshuffle(2)", [_normal(2, 4, 3, 4)]),
    "pixel_unshuffle_bad_width": ("PixelUnshuffle(2)", [_normal(2, 4, 4, 3)]),
    "pixel_unshuffle_2d": ("PixelUnshuffle(2)", [_normal(4, 4)]),
    "channel_shuffle": ("ChannelShuffle(2)", [_normal(2, 4, 3, 5)]),
    "channel_shuffle_3d": ("ChannelShuffle(3)", [_normal(2, 6, 5)]),
    "channel_shuffle_bad_groups": ("ChannelShuffle(3)", [_normal(2, 4, 3, 5)]),
    "channel_shuffle_2d": ("ChannelShuffle(2)", [_normal(2, 4)]),
    "channel_shuffle_zero": ("ChannelShuffle(0)", [_normal(2, 4, 3)]),
    "cosine": ("CosineSimilarity()", [_normal(3, 5), _normal(3, 5, seed=2)]),
    "cosine_dim_eps": ("CosineSimilarity(2, 1e-3)", [_normal(2, 3, 4), _normal(1, 3, 4, seed=2)]),
    "cosine_bad": ("CosineSimilarity()", [_normal(2, 3), _normal(2, 4)]),
    "pairwise": ("PairwiseDistance()", [_normal(3, 5), _normal(3, 5, seed=2)]),
    "pairwise_p1_keepdim": ("PairwiseDistance(1.0, 1e-3, True)", [_normal(2, 3, 4), _normal(3, 4)]),
    "pairwise_p3": ("PairwiseDistance(3)", [_normal(4, 5), _normal(4, 5, seed=2)]),
    "pairwise_inf": ("PairwiseDistance(float('inf'))", [_normal(4, 5), _normal(4, 5, seed=2)]),
    "pairwise_1d": ("PairwiseDistance()", [_normal(5), _normal(5, seed=2)]),
    "pairwise_broadcast": ("PairwiseDistance()", [_normal(3), _normal(2, 3, seed=2)]),
    "pairwise_bad": ("PairwiseDistance()", [_normal(2, 3), _normal(2, 4)]),
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_shape_and_distance_layers(case):
    spec, arrays = SHAPE_CASES[case]
    compare(spec, arrays)


@pytest.mark.parametrize("name", ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle"])
def test_shuffle_double_backward_and_inverse(name):
    data = _normal(1, 4, 2, 4)
    results = []
    for lib in (torch, glassgrad):
        x = lib.tensor(data, requires_grad=True)
        y = getattr(lib.nn.functional, name)(x, 2)
        (grad,) = lib.autograd.grad((y**3).sum(), x, create_graph=True)
        (grad * grad).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
    x = glassgrad.tensor(data)
    F = glassgrad.nn.functional
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).numpy(), data)
