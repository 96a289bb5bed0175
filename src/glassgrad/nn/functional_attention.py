"""``multi_head_attention_forward`` and the mask/projection helpers ``MultiheadAttention`` uses.

Composed from primitives (``linear``, ``bmm``, ``baddbmm``, ``softmax``, ``cat``) in PyTorch's
order, so values round as PyTorch's and ``grad_fn`` names match; no fused kernel.
"""

from __future__ import annotations

import math
import warnings

from glassgrad import creation
from glassgrad.ops.linalg.matmul import baddbmm
from glassgrad.ops.nn.attention import scaled_dot_product_attention
from glassgrad.ops.nn.dropout import dropout
from glassgrad.ops.nn.linear import linear
from glassgrad.ops.nn.pad import pad
from glassgrad.ops.nn.softmax import softmax
from glassgrad.ops.shape.join import cat
from glassgrad.tensor import Tensor

__all__ = ["multi_head_attention_forward"]

_NEED_MASK = (
    "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
    "method `generate_square_subsequent_mask` to create this mask."
)


def _shape_check_batched(key, value, key_padding_mask, attn_mask):
    if key.dim() != 3 or value.dim() != 3:
        raise AssertionError(
            "For batched (3-D) `query`, expected `key` and `value` to be 3-D"
            f" but found {key.dim()}-D and {value.dim()}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.dim() != 2:
        raise AssertionError(
            "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D"
            f" but found {key_padding_mask.dim()}-D tensor instead"
        )
    if attn_mask is not None and attn_mask.dim() not in (2, 3):
        raise AssertionError(
            "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
            f" but found {attn_mask.dim()}-D tensor instead"
        )


def _shape_check_unbatched(query, key, value, key_padding_mask, attn_mask, num_heads):
    if key.dim() != 2 or value.dim() != 2:
        raise AssertionError(
            "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D"
            f" but found {key.dim()}-D and {value.dim()}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.dim() != 1:
        raise AssertionError(
            "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D"
            f" but found {key_padding_mask.dim()}-D tensor instead"
        )
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                f" but found {attn_mask.dim()}-D tensor instead"
            )
        expected = (num_heads, query.shape[0], key.shape[0])
        if attn_mask.dim() == 3 and attn_mask.shape != expected:
            raise AssertionError(
                f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}"
            )


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Check the ranks of the inputs and masks; return whether the input is batched."""
    if query.dim() == 3:
        _shape_check_batched(key, value, key_padding_mask, attn_mask)
        return True
    if query.dim() == 2:
        _shape_check_unbatched(query, key, value, key_padding_mask, attn_mask, num_heads)
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
        "query tensor"
    )


def _none_or_dtype(input):
    """The dtype of ``input``, or None for None."""
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A boolean mask (True = masked out) as an additive 0 / -inf mask; a float mask as it is."""
    if mask is None:
        return None
    is_float = mask.dtype.is_floating_point
    if mask.dtype.name != "bool" and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(
            f"Support for mismatched {mask_name} and {other_name} "
            "is deprecated. Use same type for both instead.",
            stacklevel=3,
        )
    if not is_float:
        mask = creation.zeros_like(mask, dtype=target_type).masked_fill_(mask, float("-inf"))
    return mask


def _in_projection_packed(q, k, v, w, b=None):
    """Project q, k, v with one packed ``(3E, E)`` weight, sharing work where inputs coincide."""
    size = q.size(-1)
    if k is v and q is k:
        # PyTorch unflattens to (3, E) and moves that axis first, in chunk order
        proj = linear(q, w, b).unflatten(-1, (3, size)).unsqueeze(0).transpose(0, -2)
        proj = proj.squeeze(-2).contiguous()
        return proj[0], proj[1], proj[2]
    if k is v:
        w_q, w_kv = w.split([size, size * 2])
        b_q, b_kv = (None, None) if b is None else b.split([size, size * 2])
        kv = linear(k, w_kv, b_kv).unflatten(-1, (2, size)).unsqueeze(0).transpose(0, -2)
        kv = kv.squeeze(-2).contiguous()
        return linear(q, w_q, b_q), kv[0], kv[1]
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """Project q, k, v with separate weights (key and value may have their own widths)."""
    e_q, e_k, e_v = q.size(-1), k.size(-1), v.size(-1)
    for name, weight, shape in (
        ("query", w_q, (e_q, e_q)),
        ("key", w_k, (e_q, e_k)),
        ("value", w_v, (e_q, e_v)),
    ):
        if weight.shape != shape:
            raise AssertionError(
                f"expecting {name} weights shape of {shape}, but got {weight.shape}"
            )
    for name, bias in (("query", b_q), ("key", b_k), ("value", b_v)):
        if bias is not None and bias.shape != (e_q,):
            raise AssertionError(f"expecting {name} bias shape of {(e_q,)}, but got {bias.shape}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _check_key_padding_mask(key_padding_mask, src_len, bsz):
    if key_padding_mask.shape[0] != bsz:
        raise AssertionError(
            f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}"
        )
    if key_padding_mask.shape[1] != src_len:
        raise AssertionError(
            f"Expected key_padded_mask.shape[1] to be {src_len}, "
            f"but got {key_padding_mask.shape[1]}"
        )


def _attn_mask_3d(attn_mask, tgt_len, src_len, heads):
    """Check the attention mask's shape and give it a leading (batch * heads) axis."""
    if attn_mask.dim() == 2:
        correct = (tgt_len, src_len)
        if attn_mask.shape != correct:
            raise RuntimeError(
                f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be {correct}."
            )
        return attn_mask.unsqueeze(0)
    if attn_mask.dim() == 3:
        correct = (heads, tgt_len, src_len)
        if attn_mask.shape != correct:
            raise RuntimeError(
                f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be {correct}."
            )
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")


def _pad_masks(attn_mask, key_padding_mask):
    """One more (unmasked) key column in each mask, for an appended key."""
    if attn_mask is not None:
        attn_mask = pad(attn_mask, (0, 1))
    if key_padding_mask is not None:
        key_padding_mask = pad(key_padding_mask, (0, 1))
    return attn_mask, key_padding_mask


def _static(tensor, static, name, heads, head_dim):
    """``tensor`` split into heads, (batch * heads, S, head_dim), or the given static one."""
    if static is None:
        return tensor.view(tensor.shape[0], heads, head_dim).transpose(0, 1)
    if static.size(0) != heads:
        raise AssertionError(f"expecting {name}.size(0) of {heads}, but got {static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")
    return static


def _masks(query, key_padding_mask, attn_mask, is_causal, need_weights):
    """Canonical (additive) masks, and the causal hint as PyTorch keeps or drops it."""
    key_padding_mask = _canonical_mask(
        key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask", query.dtype
    )
    if is_causal and attn_mask is None:
        raise RuntimeError(_NEED_MASK)
    if is_causal and key_padding_mask is None and not need_weights:
        # the hint alone drives scaled_dot_product_attention: the given mask is dropped
        return key_padding_mask, None, True
    attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
    return key_padding_mask, attn_mask, is_causal and key_padding_mask is None


def _project(query, key, value, weights, use_separate_proj_weight):
    """The in-projection, packed or separate, after PyTorch's shape and None checks."""
    in_proj_weight, in_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight = weights
    if use_separate_proj_weight:
        # separate weights allow key and value their own embedding widths
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                f"{value.shape[:2]}"
            )
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        return _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    for name, weight in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
        if weight is None:
            raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
    biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    return _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, *biases)


def _add_bias_kv(k, v, bias_k, bias_v, static_k, static_v, masks):
    """Append the learned key/value rows along the source axis (PyTorch's ``add_bias_kv``)."""
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        bsz = k.shape[1]
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        return k, v, _pad_masks(*masks)
    if bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    if bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")
    return k, v, masks


def _add_zero_attn(k, v, masks):
    """Append an all-zero key and value, so every query can attend to nothing."""
    shape = (k.shape[0], 1, k.shape[2])
    k = cat([k, creation.zeros(shape, dtype=k.dtype)], dim=1)
    v = cat([v, creation.zeros(shape, dtype=v.dtype)], dim=1)
    return k, v, _pad_masks(*masks)


def _merge_padding(attn_mask, key_padding_mask, bsz, heads, src_len):
    """The key padding mask broadcast over heads and added into the attention mask."""
    if key_padding_mask is None:
        return attn_mask
    _check_key_padding_mask(key_padding_mask, src_len, bsz)
    key_padding_mask = (
        key_padding_mask.view(bsz, 1, 1, src_len)
        .expand(-1, heads, -1, -1)
        .reshape(bsz * heads, 1, src_len)
    )
    return key_padding_mask if attn_mask is None else attn_mask + key_padding_mask


def _with_weights(q, k, v, attn_mask, dropout_p, heads, average):
    """The explicit path: scores, softmax, weights @ v; also returns the weights per head."""
    bsz_heads, tgt_len, head_dim = q.shape
    q_scaled = q * math.sqrt(1.0 / float(head_dim))
    if attn_mask is not None:
        scores = baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
    else:
        scores = q_scaled.bmm(k.transpose(-2, -1))
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, p=dropout_p)
    out = weights.bmm(v)
    src_len = weights.shape[-1]
    weights = weights.view(bsz_heads // heads, heads, tgt_len, src_len)
    return out.transpose(0, 1).reshape(tgt_len * (bsz_heads // heads), heads * head_dim), (
        weights.mean(dim=1) if average else weights
    )


def _without_weights(q, k, v, attn_mask, dropout_p, is_causal, bsz, heads):
    """The path PyTorch takes when no weights are asked for: ``scaled_dot_product_attention``."""
    tgt_len, head_dim, src_len = q.shape[1], q.shape[2], k.shape[1]
    if attn_mask is not None:
        if attn_mask.size(0) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.view(bsz, heads, -1, src_len)
    q = q.view(bsz, heads, tgt_len, head_dim)
    k = k.view(bsz, heads, src_len, head_dim)
    v = v.view(bsz, heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    return out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, heads * head_dim)


def multi_head_attention_forward(
    query,
    key,
    value,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight,
    out_proj_bias,
    training: bool = True,
    key_padding_mask=None,
    need_weights: bool = True,
    attn_mask=None,
    use_separate_proj_weight: bool = False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
):
    """Multi-head attention from sequence-first inputs; returns ``(output, weights or None)``."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        # a batch of one, squeezed away again at the end
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask, attn_mask, is_causal = _masks(
        query, key_padding_mask, attn_mask, is_causal, need_weights
    )
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    weights = (in_proj_weight, in_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight)
    q, k, v = _project(query, key, value, weights, use_separate_proj_weight)
    heads = bsz * num_heads
    if attn_mask is not None:
        attn_mask = _attn_mask_3d(attn_mask, tgt_len, src_len, heads)
    k, v, (attn_mask, key_padding_mask) = _add_bias_kv(
        k, v, bias_k, bias_v, static_k, static_v, (attn_mask, key_padding_mask)
    )
    q = q.view(tgt_len, heads, head_dim).transpose(0, 1)
    k = _static(k, static_k, "static_k", heads, head_dim)
    v = _static(v, static_v, "static_v", heads, head_dim)
    if add_zero_attn:
        k, v, (attn_mask, key_padding_mask) = _add_zero_attn(k, v, (attn_mask, key_padding_mask))
    attn_mask = _merge_padding(attn_mask, key_padding_mask, bsz, num_heads, k.size(1))
    if not training:
        dropout_p = 0.0
    if need_weights:
        out, weights = _with_weights(q, k, v, attn_mask, dropout_p, num_heads, average_attn_weights)
    else:
        out = _without_weights(q, k, v, attn_mask, dropout_p, is_causal, bsz, num_heads)
        weights = None
    out = linear(out, out_proj_weight, out_proj_bias)
    out = out.view(tgt_len, bsz, out.size(1))
    if not is_batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights
