"""MultiheadAttention's full argument set (kdim/vdim, bias_kv, zero_attn, masks) against PyTorch.

Weights go from a torch module into glassgrad's through ``load_state_dict``; outputs, attention
weights, input gradients and every parameter gradient are compared in float64.
"""

from __future__ import annotations

import copy
import itertools
import warnings

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn as gnn
from mha_cases import E, H, L, N, S, _build, _check, _close, _g, _inputs

CONFIGS = [
    {},
    {"kdim": 5, "vdim": 6},
    {"kdim": 5},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3, "vdim": 7},
    {"bias": False, "kdim": 5, "vdim": 6, "add_zero_attn": True},
    {"bias": False, "add_bias_kv": True},
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_configurations_match_torch(config, batch_first, need_weights, average):
    tm, gm = _build(batch_first=batch_first, **config)
    tensors = _inputs(config.get("kdim", E), config.get("vdim", E), batch_first=batch_first)
    _check(tm, gm, tensors, need_weights=need_weights, average_attn_weights=average)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_unbatched_inputs_match_torch(config, need_weights, average):
    tm, gm = _build(**config)
    tensors = _inputs(config.get("kdim", E), config.get("vdim", E), batched=False)
    _check(tm, gm, tensors, need_weights=need_weights, average_attn_weights=average)


@pytest.mark.parametrize("config", [{}, {"add_bias_kv": True, "add_zero_attn": True}], ids=str)
@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_with_one_tensor_matches_torch(config, batch_first):
    tm, gm = _build(batch_first=batch_first, **config)
    for need_weights in (True, False):
        _check(tm, gm, _inputs(batch_first=batch_first, same=True), need_weights=need_weights)


def _masks(kind, dims, heads_batch=N * H, seed=1):
    """A mask that never hides a whole row (key 0 stays visible)."""
    rng = np.random.default_rng(seed)
    shape = {"attn2": (L, S), "attn3": (heads_batch, L, S), "kpm": (N, S), "kpm1": (S,)}[dims]
    hidden = rng.random(shape) < 0.4
    hidden[..., 0] = False
    if kind == "bool":
        return torch.tensor(hidden)
    return torch.tensor(np.where(hidden, -1e9, rng.standard_normal(shape)))


MASK_CASES = list(itertools.product(["bool", "float"], [None, "attn2", "attn3"], [False, True]))


@pytest.mark.parametrize("kind,attn,padding", MASK_CASES)
@pytest.mark.parametrize(
    "config", [{}, {"kdim": 5, "vdim": 6, "add_bias_kv": True, "add_zero_attn": True}], ids=str
)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_masks_match_torch(kind, attn, padding, config, need_weights, average):
    tm, gm = _build(**config)
    kwargs = {"need_weights": need_weights, "average_attn_weights": average}
    if attn is not None:
        kwargs["attn_mask"] = _masks(kind, attn)
    if padding:
        kwargs["key_padding_mask"] = _masks(kind, "kpm", seed=2)
    _check(tm, gm, _inputs(config.get("kdim", E), config.get("vdim", E)), **kwargs)


@pytest.mark.parametrize("attn", ["attn2", "attn3"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_unbatched_masks_match_torch(attn, need_weights):
    tm, gm = _build(add_zero_attn=True, kdim=5, vdim=6)
    kwargs = {
        "attn_mask": _masks("bool", attn, heads_batch=H),
        "key_padding_mask": _masks("bool", "kpm1", seed=3),
        "need_weights": need_weights,
    }
    _check(tm, gm, _inputs(5, 6, batched=False), **kwargs)


def test_causal_hint_with_mask_matches_torch():
    tm, gm = _build(add_bias_kv=True)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    mask = torch.cat([mask, torch.zeros(L, S - L, dtype=torch.float64)], dim=1)
    for need_weights in (True, False):
        _check(tm, gm, _inputs(), attn_mask=mask, is_causal=True, need_weights=need_weights)


def test_float_mask_gradient_matches_torch():
    tm, gm = _build(kdim=5, vdim=6, add_zero_attn=True)
    mask = torch.randn(N * H, L, S, dtype=torch.float64)
    t_mask, g_mask = mask.clone().requires_grad_(), _g(mask, requires_grad=True)
    tensors = _inputs(5, 6)
    t_out, _ = tm(*tensors, attn_mask=t_mask)
    g_out, _ = gm(*[_g(t) for t in tensors], attn_mask=g_mask)
    t_out.pow(2).sum().backward()
    g_out.pow(2).sum().backward()
    _close(g_mask.grad, t_mask.grad)


def test_mismatched_mask_types_warn_as_torch():
    tm, gm = _build()
    attn, padding = _masks("float", "attn2"), _masks("bool", "kpm")
    messages = []
    for module, wrap in ((tm, lambda t: t), (gm, _g)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module(
                *[wrap(t) for t in _inputs()], attn_mask=wrap(attn), key_padding_mask=wrap(padding)
            )
        messages.append([str(w.message) for w in caught if "mismatched" in str(w.message)])
    assert messages[0] and messages[0] == messages[1]


def test_parameters_state_dict_and_printout_match_torch():
    for config in CONFIGS:
        torch.manual_seed(0)
        tm = torch.nn.MultiheadAttention(E, H, **config)
        gm = gnn.MultiheadAttention(E, H, **config)
        assert str(gm) == str(tm)
        t_params, g_params = dict(tm.named_parameters()), dict(gm.named_parameters())
        assert list(g_params) == list(t_params)
        assert [tuple(p.shape) for p in g_params.values()] == [
            tuple(p.shape) for p in t_params.values()
        ]
        assert list(gm.state_dict()) == list(tm.state_dict())
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            assert (getattr(gm, name) is None) == (getattr(tm, name) is None)
        assert gm._qkv_same_embed_dim == tm._qkv_same_embed_dim
        assert (gm.kdim, gm.vdim, gm.head_dim) == (tm.kdim, tm.vdim, tm.head_dim)
        assert (gm.bias_k is None) == (tm.bias_k is None) and gm.add_zero_attn == tm.add_zero_attn


def test_initialisation_follows_torch():
    big = 256
    gm = gnn.MultiheadAttention(big, 4, kdim=32, vdim=64, add_bias_kv=True)
    # xavier_normal_ on a (1, 1, E) tensor: fan_in = fan_out = E, so std = 1 / sqrt(E)
    for bias in (gm.bias_k, gm.bias_v):
        std = bias.detach().numpy().std()
        assert abs(std * np.sqrt(big) - 1.0) < 0.2
    # xavier_uniform_ per separate weight: bound sqrt(6 / (fan_in + fan_out))
    for weight, width in ((gm.q_proj_weight, big), (gm.k_proj_weight, 32), (gm.v_proj_weight, 64)):
        values = np.abs(weight.detach().numpy())
        bound = np.sqrt(6.0 / (big + width))
        assert values.max() <= bound and values.max() > 0.9 * bound
    np.testing.assert_array_equal(gm.in_proj_bias.detach().numpy(), np.zeros(3 * big))


def test_deepcopy_and_eval_without_grad_match_torch():
    tm, gm = _build(kdim=5, vdim=6, add_bias_kv=True, batch_first=True, dropout=0.5)
    gm = copy.deepcopy(gm)
    tm.eval()
    gm.eval()
    tensors = _inputs(5, 6, batch_first=True)
    with torch.no_grad():
        t_out, t_w = tm(*tensors)
    with glassgrad.no_grad():
        g_out, g_w = gm(*[_g(t) for t in tensors])
    _close(g_out, t_out)
    _close(g_w, t_w)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("config", [{}, {"add_zero_attn": True}, {"kdim": 5}], ids=str)
@pytest.mark.parametrize("need_weights", [True, False])
def test_fully_padded_batch_element_matches_torch(config, need_weights):
    # the explicit path gives NaN rows as PyTorch's softmax does; the other gives zeros
    tm, gm = _build(**config)
    tensors = _inputs(config.get("kdim", E))
    padding = torch.zeros(N, S, dtype=torch.bool)
    padding[1] = True
    t_out, _ = tm(*tensors, key_padding_mask=padding, need_weights=need_weights)
    g_out, _ = gm(
        *[_g(t) for t in tensors], key_padding_mask=_g(padding), need_weights=need_weights
    )
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), atol=1e-10)


def test_double_backward_matches_torch():
    config = {"kdim": 5, "add_bias_kv": True, "add_zero_attn": True}
    tm, gm = _build(**config)
    query, key, value = _inputs(5)
    t_q, g_q = query.clone().requires_grad_(), _g(query, requires_grad=True)
    t_out, t_w = tm(t_q, key, value)
    g_out, g_w = gm(g_q, _g(key), _g(value))
    (t_grad,) = torch.autograd.grad((t_out**2).sum() + (t_w**2).sum(), t_q, create_graph=True)
    (g_grad,) = glassgrad.autograd.grad((g_out**2).sum() + (g_w**2).sum(), g_q, create_graph=True)
    _close(g_grad, t_grad)
    t_grad.sum().backward()
    g_grad.sum().backward()
    _close(g_q.grad, t_q.grad)
    _close(gm.bias_k.grad, tm.bias_k.grad)
    _close(gm.k_proj_weight.grad, tm.k_proj_weight.grad)


def test_float32_matches_torch():
    tm, gm = _build(vdim=6, add_bias_kv=True)
    tm.float()
    gm.float()
    tensors = [t.float() for t in _inputs(E, 6)]
    t_out, t_w = tm(*tensors)
    g_out, g_w = gm(*[_g(t) for t in tensors])
    assert g_out.dtype == glassgrad.float32 and g_w.dtype == glassgrad.float32
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(g_w.detach().numpy(), t_w.detach().numpy(), atol=1e-5)
