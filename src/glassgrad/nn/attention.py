"""``torch.nn.attention``: choosing scaled-dot-product attention kernels.

glassgrad has one kernel, the math one, which computes what every PyTorch backend computes;
``sdpa_kernel`` records the choice in ``torch.backends.cuda``'s flags as PyTorch does, so code
that reads them back sees what it set.
"""

from __future__ import annotations

import contextlib
import enum

from glassgrad.backends import _SDP

__all__ = ["SDPBackend", "SDPAParams", "sdpa_kernel", "can_use_flash_attention",
           "can_use_efficient_attention"]  # fmt: skip


class SDPBackend(enum.IntEnum):
    """An attention kernel (``torch.nn.attention.SDPBackend``)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __repr__(self) -> str:
        return f"<SDPBackend.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"SDPBackend.{self.name}"


_FLAGS = {
    SDPBackend.MATH: "math",
    SDPBackend.FLASH_ATTENTION: "flash",
    SDPBackend.EFFICIENT_ATTENTION: "mem_efficient",
    SDPBackend.CUDNN_ATTENTION: "cudnn",
}


class SDPAParams:
    """The arguments a kernel is checked against (``torch.backends.cuda.SDPAParams``)."""

    def __init__(self, query, key, value, attn_mask=None, dropout=0.0, is_causal=False,
                 enable_gqa=False) -> None:  # fmt: skip
        self.query, self.key, self.value = query, key, value
        self.attn_mask, self.dropout, self.is_causal = attn_mask, dropout, is_causal
        self.enable_gqa = enable_gqa


def can_use_flash_attention(params, debug: bool = False) -> bool:
    """False: flash attention needs CUDA."""
    return False


def can_use_efficient_attention(params, debug: bool = False) -> bool:
    """False: memory-efficient attention needs CUDA."""
    return False


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Allow only ``backends`` inside the ``with`` block (glassgrad always runs the math one)."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError(
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
            f"{type(backends).__name__}"
        )
    chosen = {backends} if isinstance(backends, SDPBackend) else set(backends)
    saved = dict(_SDP)
    for backend, flag in _FLAGS.items():
        _SDP[flag] = backend in chosen
    try:
        yield
    finally:
        _SDP.update(saved)
