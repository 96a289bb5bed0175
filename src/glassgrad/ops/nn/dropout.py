"""``dropout``: each element zeroed with probability ``p``, the rest scaled by ``1 / (1 - p)``.

The mask is drawn from glassgrad's default generator and multiplied in, so the node is
``MulBackward0`` as in PyTorch. The channel forms (``dropout1d``/``dropout2d``) are in
``nn.functional``.
"""

from __future__ import annotations

from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    from glassgrad._random import _rng as _draw_rng  # (vmap: its randomness mode)

    data = input._data
    keep = _draw_rng(None).random(data.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return input * N.as_tensor((keep * scale).astype(data.dtype))


register(
    "dropout",
    dropout,
    method=False,
    differentiable=False,
    samples=lambda rng: [((rng.standard_normal((3, 4)),), {"training": False})],
)
