"""TransformerDecoderLayer, TransformerDecoder and Transformer against PyTorch.

Weights are copied from a torch module through ``load_state_dict``; outputs, input gradients
and every parameter gradient are compared in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn as gnn

D, H, FF = 8, 2, 16

# PyTorch warns that its encoder skips nested tensors; nothing here depends on it.
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")


def _g(t, requires_grad=False):
    return glassgrad.tensor(t.detach().numpy(), requires_grad=requires_grad)


def _copy(torch_module, glass_module):
    glass_module.load_state_dict({k: _g(v) for k, v in torch_module.state_dict().items()})


def _build(make, seed=0):
    torch.manual_seed(seed)
    tm = make(torch.nn).double()
    gm = make(gnn)
    gm.double()
    _copy(tm, gm)
    return tm, gm


def _check(tm, gm, tensors, call, *, masks=()):
    """Run ``call`` on both sides; compare outputs, input grads and parameter grads.

    ``tensors`` are differentiable inputs; ``masks`` follow them as constants.
    """
    t_in = [t.clone().requires_grad_() for t in tensors]
    g_in = [_g(t, requires_grad=True) for t in tensors]
    t_out = call(tm, *t_in, *masks)
    g_out = call(gm, *g_in, *[_g(m) for m in masks])
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), atol=1e-10)
    weight = torch.randn(t_out.shape, dtype=torch.float64)
    (t_out * weight).sum().backward()
    (g_out * _g(weight)).sum().backward()
    for t, g in zip(t_in, g_in, strict=True):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=1e-10)
    t_params, g_params = dict(tm.named_parameters()), dict(gm.named_parameters())
    assert list(t_params) == list(g_params)
    for name, p in t_params.items():
        np.testing.assert_allclose(g_params[name].grad.numpy(), p.grad.numpy(), atol=1e-10)


def _seq(length, batch, batch_first):
    shape = (batch, length, D) if batch_first else (length, batch, D)
    return torch.randn(shape, dtype=torch.float64)


def _causal(n):
    return torch.nn.Transformer.generate_square_subsequent_mask(n, dtype=torch.float64)


MAKERS = {
    "layer": lambda nn: nn.TransformerDecoderLayer(D, H, FF, dropout=0.0),
    "layer_gelu": lambda nn: nn.TransformerDecoderLayer(
        D, H, FF, dropout=0.2, activation="gelu", norm_first=True, bias=False
    ),
    "decoder": lambda nn: nn.TransformerDecoder(
        nn.TransformerDecoderLayer(D, H, FF), 2, nn.LayerNorm(D)
    ),
    "layer_module_activation": lambda nn: nn.TransformerDecoderLayer(
        D, H, FF, activation=nn.GELU(), batch_first=True
    ),
    "transformer": lambda nn: nn.Transformer(D, H, 1, 2, FF, batch_first=True),
}


@pytest.mark.parametrize("name", MAKERS)
def test_printout_and_state_dict(name):
    tm, gm = _build(MAKERS[name])
    assert repr(gm) == repr(tm)
    t_sd, g_sd = tm.state_dict(), gm.state_dict()
    assert list(g_sd) == list(t_sd)
    assert [tuple(v.shape) for v in g_sd.values()] == [tuple(v.shape) for v in t_sd.values()]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(batch_first, norm_first):
    def make(nn):
        return nn.TransformerDecoderLayer(
            D, H, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first
        )

    tm, gm = _build(make)
    tgt, memory = _seq(5, 3, batch_first), _seq(4, 3, batch_first)
    padding = torch.tensor([[False] * 4, [False, False, True, True], [False, True, False, False]])

    def call(m, tgt, memory, mask):
        mask_pad = glassgrad.tensor(padding.numpy()) if isinstance(m, gnn.Module) else padding
        return m(tgt, memory, tgt_mask=mask, memory_key_padding_mask=mask_pad, tgt_is_causal=True)

    _check(tm, gm, [tgt, memory], call, masks=[_causal(5)])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_masks_and_callable_activation(norm_first):
    def make(nn):
        act = torch.tanh if nn is torch.nn else glassgrad.tanh
        return nn.TransformerDecoderLayer(D, H, FF, 0.0, act, 1e-6, norm_first=norm_first)

    tm, gm = _build(make)
    tgt, memory = _seq(5, 2, False), _seq(4, 2, False)
    tgt_pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    mem_mask = torch.randn(5, 4, dtype=torch.float64)

    def call(m, tgt, memory, mem_mask):
        conv = (lambda t: glassgrad.tensor(t.numpy())) if isinstance(m, gnn.Module) else None
        causal = _causal(5) < 0
        pad, bool_causal = (tgt_pad, causal) if conv is None else (conv(tgt_pad), conv(causal))
        return m(tgt, memory, tgt_mask=bool_causal, memory_mask=mem_mask, tgt_key_padding_mask=pad)

    _check(tm, gm, [tgt, memory], call, masks=[mem_mask])


@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_stack_matches_torch_in_eval(batch_first):
    def make(nn):
        layer = nn.TransformerDecoderLayer(D, H, FF, batch_first=batch_first)
        return nn.TransformerDecoder(layer, 2, nn.LayerNorm(D))

    tm, gm = _build(make, seed=1)
    tm.eval()
    gm.eval()
    tgt, memory = _seq(5, 2, batch_first), _seq(3, 2, batch_first)
    _check(
        tm,
        gm,
        [tgt, memory],
        masks=[_causal(5)],
        call=lambda m, t, mem, mask: m(t, mem, tgt_mask=mask),
    )


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(batch_first, norm_first):
    def make(nn):
        return nn.Transformer(
            D, H, 2, 2, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first
        )

    tm, gm = _build(make, seed=2)
    src, tgt = _seq(4, 2, batch_first), _seq(5, 2, batch_first)

    def call(m, src, tgt, mask):
        return m(src, tgt, tgt_mask=mask, tgt_is_causal=True)

    _check(tm, gm, [src, tgt], call, masks=[_causal(5)])


def test_transformer_unbatched_and_gelu():
    def make(nn):
        return nn.Transformer(D, H, 1, 1, FF, dropout=0.0, activation="gelu")

    tm, gm = _build(make, seed=3)
    src = torch.randn(4, D, dtype=torch.float64)
    tgt = torch.randn(3, D, dtype=torch.float64)
    _check(
        tm, gm, [src, tgt], masks=[_causal(3)], call=lambda m, s, t, mask: m(s, t, tgt_mask=mask)
    )


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_generate_square_subsequent_mask(dtype):
    t = torch.nn.Transformer.generate_square_subsequent_mask(
        4, dtype=None if dtype is None else getattr(torch, dtype)
    )
    g = gnn.Transformer.generate_square_subsequent_mask(
        4, dtype=None if dtype is None else getattr(glassgrad, dtype)
    )
    assert str(g.dtype) == str(t.dtype)
    np.testing.assert_array_equal(g.numpy(), t.numpy())
    assert repr(g) == repr(t)


def _raises_like(call_torch, call_glass):
    with pytest.raises(Exception) as t_err:
        call_torch()
    with pytest.raises(type(t_err.value)) as g_err:
        call_glass()
    assert str(g_err.value) == str(t_err.value)


def test_errors_match_torch():
    tm, gm = _build(lambda nn: nn.TransformerDecoderLayer(D, H, FF, dropout=0.0))
    tgt, memory = _seq(5, 2, False), _seq(4, 2, False)
    _raises_like(
        lambda: tm(tgt, memory, tgt_is_causal=True),
        lambda: gm(_g(tgt), _g(memory), tgt_is_causal=True),
    )
    _raises_like(
        lambda: torch.nn.TransformerDecoderLayer(D, H, activation="tanh"),
        lambda: gnn.TransformerDecoderLayer(D, H, activation="tanh"),
    )
    tt, gt = _build(lambda nn: nn.Transformer(D, H, 1, 1, FF))
    _raises_like(
        lambda: tt(_seq(4, 2, False), _seq(5, 3, False)),
        lambda: gt(_g(_seq(4, 2, False)), _g(_seq(5, 3, False))),
    )
    _raises_like(
        lambda: tt(_seq(4, 2, False), _seq(5, 2, False), src_is_causal=True),
        lambda: gt(_g(_seq(4, 2, False)), _g(_seq(5, 2, False)), src_is_causal=True),
    )
    _raises_like(
        lambda: tm(tgt, memory, memory_is_causal=True),
        lambda: gm(_g(tgt), _g(memory), memory_is_causal=True),
    )
    wide = torch.randn(4, 2, D + 1, dtype=torch.float64)
    _raises_like(
        lambda: tt(wide, _seq(5, 2, False)),
        lambda: gt(_g(wide), _g(_seq(5, 2, False))),
    )


def test_default_init_draws_matrices_and_zeroes_attention_biases():
    model = gnn.Transformer(D, H, 1, 1, FF, dropout=0.0)
    params = dict(model.named_parameters())
    bias = params["decoder.layers.0.multihead_attn.in_proj_bias"].detach().numpy()
    np.testing.assert_array_equal(bias, np.zeros(3 * D))
    weight = params["decoder.layers.0.linear1.weight"].detach().numpy()
    bound = np.sqrt(6.0 / (D + FF))  # Xavier-uniform, as PyTorch's _reset_parameters
    assert np.abs(weight).max() <= bound and weight.std() > 0
    assert model.d_model == D and model.nhead == H and model.batch_first is False


@pytest.mark.parametrize("where", ["attention", "encoder layer", "encoder"])
def test_causal_hint_without_mask_is_refused_where_torch_refuses_it(where):
    def run(lib):
        x = lib.zeros(3, 1, 4)
        if where == "attention":
            call = lambda: lib.nn.MultiheadAttention(4, 2)(x, x, x, is_causal=True)  # noqa: E731
        elif where == "encoder layer":
            call = lambda: lib.nn.TransformerEncoderLayer(4, 2)(x, is_causal=True)  # noqa: E731
        else:
            layer = lib.nn.TransformerEncoderLayer(4, 2)
            encoder = lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            call = lambda: encoder(x, is_causal=True)  # noqa: E731
        with pytest.raises(RuntimeError) as caught:
            call()
        return str(caught.value)

    assert run(glassgrad) == run(torch)
