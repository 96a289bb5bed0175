"""MultiheadAttention's full argument set and F.multi_head_attention_forward against PyTorch.

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

E, H, L, S, N = 8, 2, 3, 4, 2


def _g(t, requires_grad=False):
    return glassgrad.tensor(t.detach().numpy(), requires_grad=requires_grad)


def _build(seed=0, **kwargs):
    torch.manual_seed(seed)
    tm = torch.nn.MultiheadAttention(E, H, **kwargs).double()
    gm = gnn.MultiheadAttention(E, H, **kwargs)
    gm.double()
    state = tm.state_dict()
    assert list(gm.state_dict()) == list(state)
    gm.load_state_dict({k: _g(v) for k, v in state.items()})
    return tm, gm


def _inputs(kdim=E, vdim=E, batched=True, batch_first=False, same=False):
    def shape(length, width):
        if not batched:
            return (length, width)
        return (N, length, width) if batch_first else (length, N, width)

    query = torch.randn(shape(L, E), dtype=torch.float64)
    if same:
        return [query]
    return [
        query,
        torch.randn(shape(S, kdim), dtype=torch.float64),
        torch.randn(shape(S, vdim), dtype=torch.float64),
    ]


def _close(g, t):
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), atol=1e-10, rtol=1e-9)


def _check(tm, gm, tensors, **kwargs):
    """Forward and backward on both sides; compare everything that comes out and every grad."""
    t_in = [t.clone().requires_grad_() for t in tensors]
    g_in = [_g(t, requires_grad=True) for t in tensors]
    t_args = t_in * 3 if len(t_in) == 1 else t_in
    g_args = g_in * 3 if len(g_in) == 1 else g_in
    g_kwargs = {k: _g(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    t_out, t_w = tm(*t_args, **kwargs)
    g_out, g_w = gm(*g_args, **g_kwargs)
    _close(g_out, t_out)
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    assert (g_w is None) == (t_w is None)
    weight = torch.randn(t_out.shape, dtype=torch.float64)
    t_loss, g_loss = (t_out * weight).sum(), (g_out * _g(weight)).sum()
    if t_w is not None:
        _close(g_w, t_w)
        assert type(g_w.grad_fn).__name__ == type(t_w.grad_fn).__name__
        weight = torch.randn(t_w.shape, dtype=torch.float64)
        t_loss, g_loss = t_loss + (t_w * weight).sum(), g_loss + (g_w * _g(weight)).sum()
    t_loss.backward()
    g_loss.backward()
    for t, g in zip(t_in, g_in, strict=True):
        _close(g.grad, t.grad)
    t_params, g_params = dict(tm.named_parameters()), dict(gm.named_parameters())
    assert list(t_params) == list(g_params)
    for name, p in t_params.items():
        _close(g_params[name].grad, p.grad)
    return g_out, g_w


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


def _raises_like(call):
    """``call(lib, wrap)`` raises the same exception type and message under both libraries."""
    with pytest.raises(Exception) as t_err:
        call(torch, lambda t: t)
    with pytest.raises(type(t_err.value)) as g_err:
        call(glassgrad, _g)
    assert str(g_err.value) == str(t_err.value)


def _module(lib, **kwargs):
    torch.manual_seed(0)
    module = lib.nn.MultiheadAttention(E, H, **kwargs)
    module.double()
    return module


def _t(*shape, dtype=torch.float64):
    return torch.ones(shape, dtype=dtype)


BAD_CALLS = {
    "4-D query": ({}, (_t(L, N, 1, E), _t(S, N, E), _t(S, N, E)), {}),
    "2-D key for batched": ({}, (_t(L, N, E), _t(S, E), _t(S, N, E)), {}),
    "3-D key for unbatched": ({}, (_t(L, E), _t(S, N, E), _t(S, E)), {}),
    "3-D padding": ({}, (_t(L, N, E),) + (_t(S, N, E),) * 2, {"key_padding_mask": _t(1, N, S)}),
    "2-D unbatched padding": ({}, (_t(L, E), _t(S, E), _t(S, E)), {"key_padding_mask": _t(1, S)}),
    "1-D mask": ({}, (_t(L, N, E),) + (_t(S, N, E),) * 2, {"attn_mask": _t(S)}),
    "4-D unbatched mask": ({}, (_t(L, E), _t(S, E), _t(S, E)), {"attn_mask": _t(1, H, L, S)}),
    "3-D unbatched mask": ({}, (_t(L, E), _t(S, E), _t(S, E)), {"attn_mask": _t(H + 1, L, S)}),
    "2-D mask shape": ({}, (_t(L, N, E),) + (_t(S, N, E),) * 2, {"attn_mask": _t(L, S + 1)}),
    "3-D mask shape": ({}, (_t(L, N, E),) + (_t(S, N, E),) * 2, {"attn_mask": _t(N, L, S)}),
    "key/value shapes": ({}, (_t(L, N, E), _t(S, N, E), _t(S + 1, N, E)), {}),
    "separate seq dims": ({"kdim": 5}, (_t(L, N, E), _t(S, N, 5), _t(S + 1, N, E)), {}),
    "separate key width": ({"kdim": 5}, (_t(L, N, E), _t(S, N, 6), _t(S, N, E)), {}),
    "separate value width": ({"vdim": 5}, (_t(L, N, E), _t(S, N, E), _t(S, N, 6)), {}),
    "query width": ({}, (_t(L, N, E + 2), _t(S, N, E + 2), _t(S, N, E + 2)), {}),
    "padding batch": ({}, (_t(L, N, E),) + (_t(S, N, E),) * 2, {"key_padding_mask": _t(N + 1, S)}),
    "padding length": (
        {"add_zero_attn": True},
        (_t(L, N, E),) + (_t(S, N, E),) * 2,
        {"key_padding_mask": _t(N, S + 1)},
    ),
    "integer mask": (
        {},
        (_t(L, N, E),) + (_t(S, N, E),) * 2,
        {"attn_mask": _t(L, S, dtype=torch.int64)},
    ),
    "integer padding": (
        {},
        (_t(L, N, E),) + (_t(S, N, E),) * 2,
        {"key_padding_mask": _t(N, S, dtype=torch.int64)},
    ),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_shape_errors_match_torch(case):
    config, tensors, kwargs = BAD_CALLS[case]
    _raises_like(
        lambda lib, w: _module(lib, **config)(
            *[w(t) for t in tensors], **{k: w(v) for k, v in kwargs.items()}
        )
    )


def test_construction_errors_match_torch():
    _raises_like(lambda lib, w: lib.nn.MultiheadAttention(E, 3, kdim=5))
    _raises_like(lambda lib, w: lib.nn.MultiheadAttention(0, 2, add_bias_kv=True))


def _functional_args(lib, w, separate):
    torch.manual_seed(4)
    module = torch.nn.MultiheadAttention(E, H, kdim=5 if separate else None).double()
    params = {k: w(v) for k, v in module.state_dict().items()}
    weights = (
        {
            "q_proj_weight": params["q_proj_weight"],
            "k_proj_weight": params["k_proj_weight"],
            "v_proj_weight": params["v_proj_weight"],
        }
        if separate
        else {}
    )
    torch.manual_seed(5)
    query, key, value = _inputs(5 if separate else E)
    positional = (w(query), w(key), w(value), E, H)
    positional += (params.get("in_proj_weight"), params["in_proj_bias"])
    return positional, params, weights


@pytest.mark.parametrize("separate", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_functional_form_with_static_keys_matches_torch(separate, need_weights):
    outputs = []
    for lib, w in ((torch, lambda t: t), (glassgrad, _g)):
        positional, params, weights = _functional_args(lib, w, separate)
        torch.manual_seed(6)
        static_k = w(torch.randn(N * H, S + 1, E // H, dtype=torch.float64))
        static_v = w(torch.randn(N * H, S + 1, E // H, dtype=torch.float64))
        out, attn = lib.nn.functional.multi_head_attention_forward(
            *positional,
            None,
            None,
            True,
            0.0,
            params["out_proj.weight"],
            params["out_proj.bias"],
            need_weights=need_weights,
            use_separate_proj_weight=separate,
            static_k=static_k,
            static_v=static_v,
            **weights,
        )
        outputs.append((out, attn))
    (t_out, t_attn), (g_out, g_attn) = outputs
    _close(g_out, t_out)
    assert (g_attn is None) == (t_attn is None)
    if t_attn is not None:
        _close(g_attn, t_attn)


FUNCTIONAL_ERRORS = {
    "bias_k without bias_v": {"bias_k": _t(1, 1, E)},
    "bias_v without bias_k": {"bias_v": _t(1, 1, E)},
    "bias with static key": {"bias_k": _t(1, 1, E), "bias_v": _t(1, 1, E), "static_k": _t(1)},
    "bias with static value": {"bias_k": _t(1, 1, E), "bias_v": _t(1, 1, E), "static_v": _t(1)},
    "static key heads": {"static_k": _t(N * H + 1, S, E // H)},
    "static value width": {"static_v": _t(N * H, S, E // H + 1)},
    "separate without q weight": {"use_separate_proj_weight": True},
    "packed without weight": {"in_proj_weight": None},
    "embed dim": {"embed_dim_to_check": E + 1},
}


@pytest.mark.parametrize("case", list(FUNCTIONAL_ERRORS))
def test_functional_errors_match_torch(case):
    def call(lib, w):
        positional, params, _ = _functional_args(lib, w, False)
        kwargs = {
            "embed_dim_to_check": E,
            "in_proj_weight": positional[5],
            "bias_k": None,
            "bias_v": None,
        }
        kwargs.update(
            {
                k: w(v) if isinstance(v, torch.Tensor) else v
                for k, v in FUNCTIONAL_ERRORS[case].items()
            }
        )
        return lib.nn.functional.multi_head_attention_forward(
            *positional[:3],
            kwargs.pop("embed_dim_to_check"),
            H,
            kwargs.pop("in_proj_weight"),
            positional[6],
            kwargs.pop("bias_k"),
            kwargs.pop("bias_v"),
            False,
            0.0,
            params["out_proj.weight"],
            params["out_proj.bias"],
            **kwargs,
        )

    _raises_like(call)
