"""``MultiheadAttention``, ``TransformerEncoderLayer`` and ``TransformerEncoder``.

Attention is composed from primitives (``linear``, ``matmul``, ``softmax``); no fused kernel.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from glassgrad import creation
from glassgrad.nn import functional as F
from glassgrad.nn import init
from glassgrad.nn.modules.container import ModuleList
from glassgrad.nn.modules.dropout import Dropout
from glassgrad.nn.modules.linear import Linear
from glassgrad.nn.modules.module import Module
from glassgrad.nn.modules.normalization import LayerNorm
from glassgrad.nn.parameter import Parameter
from glassgrad.tensor import Tensor

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]


class NonDynamicallyQuantizableLinear(Linear):
    """The output projection of MultiheadAttention (PyTorch names it so in printouts)."""


def _additive(mask, dtype):
    """A boolean mask (True = masked out) as -inf/0, or a float mask as it is."""
    if mask is None:
        return None
    if mask.dtype.is_floating_point:
        return mask
    values = np.where(mask._data, -np.inf, 0.0).astype(dtype.np)
    return Tensor._from_array(values)


_NEED_MASK = (
    "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
    "method `generate_square_subsequent_mask` to create this mask."
)


class MultiheadAttention(Module):
    """Scaled dot-product attention over ``num_heads`` heads, with input/output projections."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim=None,
        vdim=None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        super().__init__()
        if (
            add_bias_kv
            or add_zero_attn
            or (kdim not in (None, embed_dim))
            or (vdim not in (None, embed_dim))
        ):
            raise NotImplementedError(
                "glassgrad's MultiheadAttention supports only kdim == vdim "
                "== embed_dim without add_bias_kv/add_zero_attn"
            )
        self.embed_dim, self.kdim, self.vdim = embed_dim, embed_dim, embed_dim
        self._qkv_same_embed_dim = True
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.in_proj_weight = Parameter(creation.empty((3 * embed_dim, embed_dim), dtype=dtype))
        self.register_parameter("q_proj_weight", None)
        self.register_parameter("k_proj_weight", None)
        self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bias=bias, dtype=dtype
        )
        self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _project(self, x, index: int):
        size = self.embed_dim
        weight = self.in_proj_weight[index * size : (index + 1) * size]
        bias = (
            None
            if self.in_proj_bias is None
            else self.in_proj_bias[index * size : (index + 1) * size]
        )
        return F.linear(x, weight, bias)

    def _heads(self, x):
        """(L, N, E) -> (N * heads, L, head_dim)."""
        length, batch = x.shape[0], x.shape[1]
        return x.reshape(length, batch * self.num_heads, self.head_dim).transpose(0, 1)

    def _scores(self, q, k, attn_mask, key_padding_mask, batch):
        scores = (q * math.sqrt(1.0 / self.head_dim)) @ k.transpose(-2, -1)
        mask = _additive(attn_mask, scores.dtype)
        if mask is not None:
            scores = scores + (
                mask if mask.dim() == 2 else mask.reshape(batch * self.num_heads, *mask.shape[-2:])
            )
        padding = _additive(key_padding_mask, scores.dtype)
        if padding is not None:
            length, source = scores.shape[-2], scores.shape[-1]
            scores = scores.reshape(batch, self.num_heads, length, source) + padding.reshape(
                batch, 1, 1, source
            )
            scores = scores.reshape(batch * self.num_heads, length, source)
        return scores

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        """Attend from ``query`` to ``key``/``value``; return ``(output, weights or None)``."""
        if is_causal and attn_mask is None:
            # the mask given is what is applied; the hint needs one, as in PyTorch
            raise RuntimeError(_NEED_MASK)
        batched = query.dim() == 3
        if not batched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(1, 0) for t in (query, key, value))
        length, batch = query.shape[0], query.shape[1]
        q, k, v = (self._heads(self._project(t, i)) for i, t in enumerate((query, key, value)))
        weights = F.softmax(self._scores(q, k, attn_mask, key_padding_mask, batch), dim=-1)
        if self.dropout > 0.0 and self.training:
            weights = F.dropout(weights, p=self.dropout)
        out = (weights @ v).transpose(0, 1).reshape(length * batch, self.embed_dim)
        out = self.out_proj(out).reshape(length, batch, self.embed_dim)
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(1, 0)
        if not need_weights:
            return out, None
        weights = weights.reshape(batch, self.num_heads, length, weights.shape[-1])
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, (weights if batched else weights.squeeze(0))


def _activation(name):
    if name == "relu":
        return F.relu
    if name == "gelu":
        return F.gelu
    if callable(name):
        return name
    raise RuntimeError(f"activation should be relu/gelu, not {name}")


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block, each with a residual and a LayerNorm."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal: bool = False):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        """Encode ``src`` (pre- or post-norm as configured)."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer``, with an optional final norm."""

    def __init__(
        self,
        encoder_layer,
        num_layers: int,
        norm=None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """Run ``src`` through every layer, then the final norm if any."""
        output = src
        for layer in self.layers:
            output = layer(
                output,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal),
            )
        if self.norm is not None:
            output = self.norm(output)
        return output
