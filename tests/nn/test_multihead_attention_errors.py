"""MultiheadAttention and F.multi_head_attention_forward: PyTorch's errors word for word, and
the functional form with static keys and values."""

from __future__ import annotations

import pytest
import torch

import glassgrad
from mha_cases import E, H, L, N, S, _close, _g, _inputs


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
