"""``pixel_shuffle``, ``pixel_unshuffle`` and ``channel_shuffle``.

Each only moves elements, so it is linear: recorded as a ``linear_pair`` (backward = the inverse
permutation, whose backward is the op again). They are primitives rather than reshape/permute
composites so that ``grad_fn`` reads ``PixelShuffleBackward0`` etc., as in PyTorch.
"""

from __future__ import annotations

from glassgrad._batched import c_order
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register


def _shuffle(x, r):
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r)."""
    *lead, c, h, w = x.shape
    out = x.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    out = out.transpose(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return c_order(out).reshape(*lead, c // (r * r), h * r, w * r)


def _unshuffle(x, r):
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W)."""
    *lead, c, h, w = x.shape
    out = x.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    out = out.transpose(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return c_order(out).reshape(*lead, c * r * r, h // r, w // r)


def _channels(x, groups):
    """(N, g * k, *) -> (N, k * g, *): channel ``i * k + j`` moves to ``j * g + i``."""
    n, c, *rest = x.shape
    out = x.reshape(n, groups, c // groups, *rest).swapaxes(1, 2)
    return c_order(out).reshape(n, c, *rest)


_pixel_shuffle = N.linear_pair(
    "PixelShuffleBackward0", "PixelShuffleBackwardBackward0", _shuffle, _unshuffle
)
_pixel_unshuffle = N.linear_pair(
    "PixelUnshuffleBackward0", "PixelUnshuffleBackwardBackward0", _unshuffle, _shuffle
)
_channel_shuffle = N.linear_pair(
    "ChannelShuffleBackward0",
    "ChannelShuffleBackwardBackward0",
    _channels,
    lambda grad, groups: _channels(grad, grad.shape[1] // groups),
)


def _check_rank(input, op):
    if input.ndim < 3:
        raise RuntimeError(
            f"{op} expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )


def pixel_shuffle(input, upscale_factor):
    """Rearrange (*, C * r^2, H, W) into (*, C, H * r, W * r)."""
    _check_rank(input, "pixel_shuffle")
    r = int(upscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    if input.shape[-3] % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={input.shape[-3]} is not divisible by {r * r}"
        )
    return _pixel_shuffle(input, r)


def pixel_unshuffle(input, downscale_factor):
    """Rearrange (*, C, H * r, W * r) into (*, C * r^2, H, W)."""
    _check_rank(input, "pixel_unshuffle")
    r = int(downscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for dim, name in ((-2, "height"), (-1, "width")):
        if input.shape[dim] % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({dim})={input.shape[dim]} is not divisible by {r}"
            )
    return _pixel_unshuffle(input, r)


def channel_shuffle(input, groups):
    """Interleave the channels of (N, C, *) ``input`` from ``groups`` groups."""
    if input.ndim <= 2:
        raise RuntimeError(
            f"channel_shuffle expects input with > 2 dims, but got input with sizes "
            f"{list(input.shape)}"
        )
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    if input.shape[1] % groups:
        raise RuntimeError(
            "Number of channels must be divisible by groups. Got "
            f"{input.shape[1]} channels and {groups} groups."
        )
    return _channel_shuffle(input, groups)


def _image(rng):
    return rng.standard_normal((2, 8, 3, 2))


register(
    "pixel_shuffle",
    pixel_shuffle,
    method=False,
    reference=lambda x, r: _shuffle(x, r),
    samples=lambda rng: [((_image(rng), 2), {}), ((rng.standard_normal((9, 2, 3)), 3), {})],
)
register(
    "pixel_unshuffle",
    pixel_unshuffle,
    method=False,
    reference=lambda x, r: _unshuffle(x, r),
    samples=lambda rng: [((rng.standard_normal((2, 2, 4, 6)), 2), {})],
)
register(
    "channel_shuffle",
    channel_shuffle,
    method=False,
    reference=lambda x, g: _channels(x, g),
    samples=lambda rng: [((_image(rng), 4), {}), ((rng.standard_normal((1, 6, 2)), 3), {})],
)
