"""``pad`` (constant, reflect, replicate, circular) and ``interpolate`` (nearest, (bi)linear).

All of them are linear in the input and recorded as ``linear_pair``s (see ``nn_ops``): the
backward of each is its adjoint, and the adjoint's backward is the op again.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad.ops import nn_ops as N
from glassgrad.ops.pool import _SEPARABLE
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
    out = np.zeros(out_shape, dtype=x.dtype)
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
                f"Argument #4: Padding size should be less than the corresponding "
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
    return _GATHER[mode, k](input, (shape, tuple(_index_maps(shape, widths, mode))))


# -- interpolate ---------------------------------------------------------------------------------
def _nearest_matrix(size, out, scale):
    src = np.minimum(np.floor(np.arange(out, dtype=np.float32) * np.float32(scale)), size - 1)
    matrix = np.zeros((out, size))
    matrix[np.arange(out), src.astype(np.int64)] = 1.0
    return matrix


def _linear_matrix(size, out, scale, align_corners):
    dst = np.arange(out, dtype=np.float64)
    if align_corners:
        src = dst * ((size - 1) / (out - 1) if out > 1 else 0.0)
    else:
        src = np.maximum(scale * (dst + 0.5) - 0.5, 0.0)
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    frac = src - low
    matrix = np.zeros((out, size))
    np.add.at(matrix, (np.arange(out), low), 1 - frac)
    np.add.at(matrix, (np.arange(out), high), frac)
    return matrix


def _out_sizes(shape, size, scale_factor, recompute):
    spatial = shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = N.pair(size, len(spatial))
        return sizes, [i / o for i, o in zip(spatial, sizes, strict=False)]
    factors = (
        scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * len(spatial)
    )
    sizes = [int(math.floor(i * f)) for i, f in zip(spatial, factors, strict=False)]
    if recompute:
        return sizes, [i / o for i, o in zip(spatial, sizes, strict=False)]
    return sizes, [1.0 / f for f in factors]


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Resize the spatial dims of (N, C, L) or (N, C, H, W) ``input``."""
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    sizes, scales = _out_sizes(input.shape, size, scale_factor, recompute_scale_factor)
    flat = input.ndim == 3
    if mode == "nearest":
        matrices = [
            _nearest_matrix(i, o, s)
            for i, o, s in zip(input.shape[2:], sizes, scales, strict=False)
        ]
        name = "UpsampleNearest1D" if flat else "UpsampleNearest2D"
    elif mode in ("linear", "bilinear") and input.ndim == (3 if mode == "linear" else 4):
        matrices = [
            _linear_matrix(i, o, s, bool(align_corners))
            for i, o, s in zip(input.shape[2:], sizes, scales, strict=False)
        ]
        name = "UpsampleLinear1D" if flat else "UpsampleBilinear2D"
    else:
        raise NotImplementedError(
            f"Input Error: Only 3D and 4D input Tensors supported (got "
            f"{input.ndim}D) for the modes: nearest | linear | bilinear "
            f"(got {mode})"
        )
    if flat:
        return _SEPARABLE[name](input, (None, matrices[0]))
    return _SEPARABLE[name](input, tuple(matrices))


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
