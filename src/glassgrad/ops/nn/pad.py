"""``pad`` (constant, reflect, replicate, circular); ``interpolate`` is registered here too.

All of them are linear in the input and recorded as ``linear_pair``s (see ``nn.common``): the
backward of each is its adjoint, and the adjoint's backward is the op again.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import zeros_over
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.upsample import interpolate  # the resizing modes live in upsample.py
from glassgrad.ops.registry import register


# -- constant padding: copy a region into zeros (negative widths crop) --------------------------
def _regions(shape, widths):
    """Per padded dim: the source slice in the input and the target slice in the output."""
    src, dst, out_shape = [], [], list(shape)
    for k in range(len(widths) // 2):
        dim = len(shape) - 1 - k
        left, right = widths[2 * k], widths[2 * k + 1]
        size = shape[dim]
        new = size + left + right
        if new < 0:
            raise RuntimeError(
                f"The input size {size}, plus negative padding {left} and {right} "
                f"resulted in a negative output size, which is invalid. Check "
                f"dimension {dim} of your input."
            )
        src.append((dim, slice(max(-left, 0), size - max(-right, 0))))
        dst.append((dim, slice(max(left, 0), new - max(right, 0))))
        out_shape[dim] = new
    return src, dst, tuple(out_shape)


def _key(ndim, parts):
    key = [slice(None)] * ndim
    for dim, part in parts:
        key[dim] = part
    return tuple(key)


def _constant_forward(x, args):
    in_shape, out_shape, src, dst = args
    out = zeros_over(out_shape, x.dtype, x)  # (vmap: a batch's buffer is a batch)
    out[_key(x.ndim, dst)] = x[_key(x.ndim, src)]
    return out


def _constant_adjoint(grad, args):
    in_shape, out_shape, src, dst = args
    out = np.zeros(in_shape, dtype=grad.dtype)
    out[_key(grad.ndim, src)] = grad[_key(grad.ndim, dst)]
    return out


_constant_pad = N.linear_pair(
    "ConstantPadNdBackward0", "ConstantPadNdBackwardBackward0", _constant_forward, _constant_adjoint
)


# -- reflect / replicate / circular: a gather along each padded dim --------------------------------
def _gather_forward(x, args):
    in_shape, maps = args
    lead = x.reshape(-1, *in_shape[len(in_shape) - len(maps) :])
    out = lead[(slice(None), *np.ix_(*maps))]
    return out.reshape(*in_shape[: len(in_shape) - len(maps)], *out.shape[1:])


def _gather_adjoint(grad, args):
    in_shape, maps = args
    k = len(maps)
    out = np.zeros(
        (int(np.prod(in_shape[: len(in_shape) - k])), *in_shape[len(in_shape) - k :]),
        dtype=grad.dtype,
    )
    np.add.at(out, (slice(None), *np.ix_(*maps)), grad.reshape(out.shape[0], *grad.shape[-k:]))
    return out.reshape(in_shape)


_GATHER = {}
for _mode, _title in (
    ("reflect", "Reflection"),
    ("replicate", "Replication"),
    ("circular", "Circular"),
):
    for _k in (1, 2, 3):
        _GATHER[_mode, _k] = N.linear_pair(
            f"{_title}Pad{_k}DBackward0",
            f"{_title}Pad{_k}DBackwardBackward0",
            _gather_forward,
            _gather_adjoint,
        )
_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _index_maps(shape, widths, mode):
    maps = []
    for k in reversed(range(len(widths) // 2)):
        dim = len(shape) - 1 - k
        left, right = widths[2 * k], widths[2 * k + 1]
        if mode == "reflect" and (left >= shape[dim] or right >= shape[dim]):
            raise RuntimeError(
                f"Argument #{4 + 2 * k}: Padding size should be less than the corresponding "
                f"input dimension, but got: padding ({left}, {right}) at dimension "
                f"{dim} of input {list(shape)}"
            )
        maps.append(np.pad(np.arange(shape[dim]), (left, right), mode=_NP_MODE[mode]))
    return maps


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions (``pad`` lists widths from the last dim)."""
    widths = [int(w) for w in pad]
    if len(widths) % 2 or len(widths) // 2 > input.ndim:
        raise RuntimeError(
            "Padding length must be divisible by 2"
            if len(widths) % 2
            else "Padding length should be less than or equal to two times the input "
            "dimension but got padding length "
            f"{len(widths)} and input of "
            f"dimension {input.ndim}"
        )
    shape = input._data.shape
    if mode == "constant":
        src, dst, out_shape = _regions(shape, widths)
        out = _constant_pad(input, (shape, out_shape, tuple(src), tuple(dst)))
        if value:  # the border is constant: filling the fresh result leaves the gradient alone
            mask = np.ones(out_shape, dtype=bool)
            mask[_key(len(shape), dst)] = False
            out._data[mask] = value
        return out
    if mode not in _NP_MODE:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    k = len(widths) // 2
    if input.ndim not in (k + 1, k + 2):  # PyTorch's kernels take (C, ...) or (N, C, ...) only
        raise NotImplementedError(
            f"Padding size {len(widths)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    return _GATHER[mode, k](input, (shape, tuple(_index_maps(shape, widths, mode))))


register(
    "pad",
    pad,
    method=False,
    function=False,
    samples=lambda rng: [
        ((rng.standard_normal((2, 3, 4)),), {"pad": (1, 2)}),
        ((rng.standard_normal((1, 2, 4, 4)),), {"pad": (1, 1, 2, 0), "mode": "reflect"}),
        ((rng.standard_normal((1, 2, 4, 4)),), {"pad": (1, 2, 1, 1), "mode": "replicate"}),
    ],
)
register(
    "interpolate",
    interpolate,
    method=False,
    function=False,
    samples=lambda rng: [
        ((rng.standard_normal((1, 2, 3, 4)),), {"scale_factor": 2}),
        (
            (rng.standard_normal((1, 2, 3, 4)),),
            {"size": (5, 7), "mode": "bilinear", "align_corners": False},
        ),
    ],
)
