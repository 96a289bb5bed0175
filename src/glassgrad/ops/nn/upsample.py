"""``interpolate`` in every mode PyTorch has on CPU: nearest, nearest-exact, (bi/tri)linear,
bicubic and area, on (N, C, L), (N, C, H, W) and (N, C, D, H, W) inputs.

Each mode is separable: one small (out, in) matrix per spatial dim, applied along that dim. The
op is linear in its input, so it is recorded as a ``linear_pair`` (backward = the transposed
matrices, whose backward is the op again) and double backward needs no further rule.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad import _bfloat16
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.pool.pool import _SEPARABLE, adaptive_avg_pool2d

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"


def _along(x, matrices):
    """Apply ``matrices[i]`` along spatial dim ``i`` of ``x`` (the trailing dims, so an
    unbatched input works too)."""
    first, dtype = x.ndim - len(matrices), x.dtype
    x = x.astype(_bfloat16.accumulating(x), copy=False)  # (bfloat16: in float32, rounded once)
    for i, matrix in enumerate(matrices):
        if matrix is not None:
            axis = first + i
            x = np.moveaxis(np.tensordot(matrix.astype(x.dtype), x, axes=(1, axis)), 0, axis)
    return x.astype(dtype, copy=False)


def _along_adjoint(grad, matrices):
    return _along(grad, [None if m is None else m.T for m in matrices])


_PAIRS = {}


def _apply(name, input, matrices):
    """Record ``input`` resized by the per-dim ``matrices`` as the node ``name``Backward0."""
    if name in _SEPARABLE:  # the 1D/2D pairs that pool/pool.py already records
        return _SEPARABLE[name](input, tuple(matrices) if len(matrices) == 2 else (None, *matrices))
    if name not in _PAIRS:
        _PAIRS[name] = N.linear_pair(
            f"{name}Backward0", f"{name}BackwardBackward0", _along, _along_adjoint
        )
    return _PAIRS[name](input, tuple(matrices))


# -- one matrix per dim -------------------------------------------------------------------------
def _nearest_matrix(size, out, scale, exact, index_type):
    dst = np.arange(out, dtype=index_type) + index_type(0.5 if exact else 0.0)
    src = np.minimum(np.floor(dst * index_type(scale)), size - 1).astype(np.int64)
    matrix = np.zeros((out, size))
    matrix[np.arange(out), src] = 1.0
    return matrix


def _source(size, out, scale, align_corners, cubic):
    dst = np.arange(out, dtype=np.float64)
    if align_corners:
        return dst * ((size - 1) / (out - 1) if out > 1 else 0.0)
    src = scale * (dst + 0.5) - 0.5
    return src if cubic else np.maximum(src, 0.0)  # cubic keeps negative source positions


def _linear_matrix(size, out, scale, align_corners):
    src = _source(size, out, scale, align_corners, False)
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    frac = src - low
    matrix = np.zeros((out, size))
    np.add.at(matrix, (np.arange(out), low), 1 - frac)
    np.add.at(matrix, (np.arange(out), high), frac)
    return matrix


def _cubic_weights(t, a=-0.75):
    """Keys' cubic convolution weights (``a = -0.75`` as in PyTorch) for offsets -1, 0, 1, 2."""

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_matrix(size, out, scale, align_corners):
    src = _source(size, out, scale, align_corners, True)
    low = np.floor(src).astype(np.int64)
    matrix = np.zeros((out, size))
    for offset, weight in zip(range(-1, 3), _cubic_weights(src - low), strict=True):
        np.add.at(matrix, (np.arange(out), np.clip(low + offset, 0, size - 1)), weight)
    return matrix


def _antialias_matrix(size, out, scale, cubic):
    """PyTorch's antialiased weights: the filter stretched by the downscale factor."""
    support = (2.0 if cubic else 1.0) * max(scale, 1.0)
    stretch = 1.0 / max(scale, 1.0)
    center = scale * (np.arange(out) + 0.5)
    low = np.maximum((center - support + 0.5).astype(np.int64), 0)
    high = np.minimum((center + support + 0.5).astype(np.int64), size)
    taps = np.arange(size)[None, :]
    offset = (taps - center[:, None] + 0.5) * stretch
    if cubic:  # Keys' cubic with a = -0.5, PyTorch's choice for antialiasing
        near, far = np.abs(offset), np.abs(offset)
        weights = np.where(
            near < 1,
            (1.5 * near - 2.5) * near * near + 1,
            np.where(far < 2, ((-0.5 * far + 2.5) * far - 4) * far + 2, 0.0),
        )
    else:
        weights = np.maximum(0.0, 1.0 - np.abs(offset))
    weights = np.where((taps >= low[:, None]) & (taps < high[:, None]), weights, 0.0)
    return weights / weights.sum(axis=1, keepdims=True)


def _averaging(size, out):
    starts = (np.arange(out) * size) // out
    ends = -((-(np.arange(out) + 1) * size) // out)
    inside = (np.arange(size) >= starts[:, None]) & (np.arange(size) < ends[:, None])
    return inside / (ends - starts)[:, None]


# -- arguments, checked in PyTorch's order --------------------------------------------------------
def _output_size(input, size, scale_factor, recompute):
    """``(sizes, factors)``: the output size and the factors the kernels see (None: derived)."""
    dim, spatial = input.ndim - 2, list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size "
                    "in (o1, o2, ...,oK) format."
                )
            if not all(isinstance(s, (int, np.integer)) for s in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    "Tuple[int, int, int], but got size with types "
                    f"{[type(s) for s in size]}"
                )
        if recompute:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        return [int(s) for s in sizes], [None] * dim
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {spatial} and scale_factor of shape "
                f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                "and scale_factor in (s1, s2, ...,sK) format."
            )
        factors = [float(f) for f in scale_factor]
    else:
        factors = [float(scale_factor)] * dim
    sizes = [int(math.floor(i * f)) for i, f in zip(spatial, factors, strict=True)]
    return sizes, [None] * dim if recompute else factors


def _scale(size, out, factor):
    """The source step per output step: ``1 / scale_factor`` if given, else ``in / out``."""
    return 1.0 / factor if factor else size / out


def _check_mode(ndim, mode, antialias):
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and ndim == 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires "
            "a 4-D tensor as input"
        )
    wanted = {"linear": 3, "bilinear": 4, "trilinear": 5}.get(mode)
    if wanted is not None and ndim in (3, 4, 5) and ndim != wanted:
        raise NotImplementedError(f"Got {ndim}D input, but {mode} mode needs {wanted}D input")
    known = ("nearest", "nearest-exact", "area", "linear", "bilinear", "trilinear")
    if ndim not in (3, 4, 5) or not (mode in known or (mode == "bicubic" and ndim == 4)):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) for the "
            f"modes: {_MODES} (got {mode})"
        )


_NAMES = {
    "nearest": "UpsampleNearest{}D",
    "nearest-exact": "UpsampleNearestExact{}D",
    "linear": "UpsampleLinear1D",
    "bilinear": "UpsampleBilinear2D",
    "trilinear": "UpsampleTrilinear3D",
    "bicubic": "UpsampleBicubic2D",
}


def _matrices(input, mode, sizes, factors, align_corners, antialias=False):
    # the float type PyTorch computes nearest source indices in (its opmath type)
    index_type = np.float64 if input._data.dtype == np.float64 else np.float32
    matrices = []
    for size, out, factor in zip(input.shape[2:], sizes, factors, strict=True):
        scale = _scale(size, out, factor)
        if antialias:
            if align_corners:
                scale = (size - 1) / (out - 1) if out > 1 else 0.0
            matrices.append(_antialias_matrix(size, out, scale, mode == "bicubic"))
        elif mode in ("nearest", "nearest-exact"):
            exact = mode == "nearest-exact"
            matrices.append(_nearest_matrix(size, out, scale, exact, index_type))
        elif mode == "bicubic":
            matrices.append(_cubic_matrix(size, out, scale, align_corners))
        else:
            matrices.append(_linear_matrix(size, out, scale, align_corners))
    return matrices


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Resize the spatial dims of an (N, C, L), (N, C, H, W) or (N, C, D, H, W) ``input``."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    sizes, factors = _output_size(
        input, size, scale_factor, recompute_scale_factor or (mode == "area" and size is None)
    )
    _check_mode(input.ndim, mode, antialias)
    if mode == "area":
        return _area(input, sizes)
    matrices = _matrices(input, mode, sizes, factors, bool(align_corners), antialias)
    name = _NAMES[mode].format(input.ndim - 2)
    return _apply(name.replace("2D", "2DAa") if antialias else name, input, matrices)


def _area(input, sizes):
    """Area interpolation is adaptive average pooling, as in PyTorch."""
    if input.ndim == 4:
        return adaptive_avg_pool2d(input, sizes)
    matrices = [_averaging(i, o) for i, o in zip(input.shape[2:], sizes, strict=True)]
    if input.ndim == 3:  # PyTorch pools 1D inputs as (N, C, 1, L) images and squeezes
        pooled = _apply("AdaptiveAvgPool2D", input.unsqueeze(-2), [np.ones((1, 1)), *matrices])
        return pooled.squeeze(-2)
    return _apply("AdaptiveAvgPool3D", input, matrices)
