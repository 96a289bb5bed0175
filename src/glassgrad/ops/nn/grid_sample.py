"""``affine_grid`` and ``grid_sample``: spatial transformers.

``affine_grid`` is linear in ``theta`` (the base grid times theta's transpose), recorded as a
``linear_pair`` named as PyTorch's node. ``grid_sample`` samples (N, C, H, W) images at the grid's
normalised positions, bilinearly or at the nearest pixel, with PyTorch's padding modes and
``align_corners``; its backward gives the input's gradient (scattered back to the pixels read) and
the grid's (the bilinear surface's slope, through the padding's clip or reflection).
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad import _bfloat16
from glassgrad._batched import zeros_over
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import results
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
    "Please specify align_corners=True if the old behavior is desired. See the documentation of "
    "grid_sample for details."
)


# -- affine_grid ---------------------------------------------------------------------------------
def _linspace(size, align_corners):
    if size <= 1:
        return np.zeros(max(size, 0))
    steps = np.linspace(-1.0, 1.0, size)
    return steps if align_corners else steps * (size - 1) / size


def _base_grid(spatial, align_corners):
    """(prod(spatial), len(spatial) + 1) rows ``(x, y[, z], 1)``, x varying fastest."""
    axes = [_linspace(s, align_corners) for s in reversed(spatial)]  # x, y, z
    mesh = np.meshgrid(*axes[::-1], indexing="ij")  # (z,) y, x order
    columns = [m.reshape(-1) for m in mesh[::-1]] + [np.ones(int(np.prod(spatial)))]
    return np.stack(columns, axis=1)


def _affine_forward(theta, args):
    base, shape = args
    work = _bfloat16.accumulating(theta)  # (bfloat16: in float32, rounded once)
    grid = np.matmul(base.astype(work), np.swapaxes(theta.astype(work, copy=False), 1, 2))
    return grid.reshape(shape).astype(theta.dtype, copy=False)


def _affine_adjoint(grad, args):
    base, _ = args
    work = _bfloat16.accumulating(grad)
    flat = grad.reshape(grad.shape[0], -1, grad.shape[-1]).astype(work, copy=False)
    out = np.swapaxes(np.matmul(np.swapaxes(base.astype(work), 0, 1), flat), 1, 2)
    return out.astype(grad.dtype, copy=False)


_affine = N.linear_pair(
    "AffineGridGeneratorBackward0",
    "AffineGridGeneratorBackwardBackward0",
    _affine_forward,
    _affine_adjoint,
)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps ``theta`` for an output of ``size``."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    rows = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[-2:]) != (rows, rows + 1):
        kind = f"{rows}D affine matrices of shape Nx{rows}x{rows + 1}"
        raise ValueError(f"Expected a batch of {kind} for size {size}. Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.",
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{size[0]}, "
            f"{rows + 1}] but got: [{theta.shape[0]}, {rows + 1}]."
        )
    return _affine(theta, (_base_grid(spatial, align_corners), (size[0], *spatial, rows)))


# -- grid_sample ---------------------------------------------------------------------------------
def _reflect(coord, low2, high2):
    """PyTorch's reflect_coordinates and the derivative of the reflected coordinate."""
    if low2 == high2:
        return np.zeros_like(coord), np.zeros_like(coord)
    low, span = low2 / 2, (high2 - low2) / 2
    sign = np.where(coord < low, -1.0, 1.0)
    distance = np.abs(coord - low)
    extra = np.fmod(distance, span)
    flips = np.floor(distance / span)
    even = flips % 2 == 0
    return np.where(even, extra + low, span - extra + low), np.where(even, sign, -sign)


def _source(coord, size, padding_mode, align_corners):
    """Pixel coordinate of normalised ``coord`` after padding, and d(pixel)/d(coord)."""
    scale = (size - 1) / 2 if align_corners else size / 2
    pixel = ((coord + 1) * (size - 1)) / 2 if align_corners else ((coord + 1) * size - 1) / 2
    slope = np.full_like(pixel, scale)
    if padding_mode == "zeros":
        return pixel, slope
    if padding_mode == "reflection":
        low2, high2 = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        pixel, flip = _reflect(pixel, low2, high2)
        slope = slope * flip
    inside = (pixel > 0) & (pixel < size - 1)  # clip_coordinates: no slope at or past the edges
    return np.clip(pixel, 0, size - 1), np.where(inside, slope, 0.0)


def _corners(ix, iy, mode):
    """Each sampled pixel (x, y) with its weight, for the four corners or the nearest pixel."""
    if mode == "nearest":
        return [(np.rint(ix), np.rint(iy), np.ones_like(ix))]
    x0, y0 = np.floor(ix), np.floor(iy)
    x1, y1 = x0 + 1, y0 + 1
    return [
        (x0, y0, (x1 - ix) * (y1 - iy)),
        (x1, y0, (ix - x0) * (y1 - iy)),
        (x0, y1, (x1 - ix) * (iy - y0)),
        (x1, y1, (ix - x0) * (iy - y0)),
    ]


def _read(x, px, py):
    """``x[n, :, py, px]`` as (N, C, Ho, Wo), zero where (px, py) lies outside the image."""
    n, _, h, w = x.shape
    inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    cx, cy = np.clip(px, 0, w - 1).astype(np.int64), np.clip(py, 0, h - 1).astype(np.int64)
    values = x[np.arange(n)[:, None, None], :, cy, cx]  # (N, Ho, Wo, C)
    return np.moveaxis(values * inside[..., None], -1, 1), inside, cx, cy


def _geometry(x, grid, mode, padding_mode, align_corners):
    h, w = x.shape[2:]
    ix, dx = _source(grid[..., 0].astype(np.float64), w, padding_mode, align_corners)
    iy, dy = _source(grid[..., 1].astype(np.float64), h, padding_mode, align_corners)
    return ix, iy, dx, dy, _corners(ix, iy, mode)


def _grid_sample_backward(ctx, grad, x, grid):
    mode, padding_mode, align_corners = ctx._args
    xa, ga, g = N.arr(x), N.arr(grid), N.arr(grad).astype(np.float64)
    ix, iy, dx, dy, corners = _geometry(xa, ga, mode, padding_mode, align_corners)
    n, c, h, w = xa.shape
    grad_x = np.zeros((n, c, h, w))
    slope_x, slope_y = np.zeros(ix.shape), np.zeros(ix.shape)
    for px, py, weight in corners:
        values, inside, cx, cy = _read(xa, px, py)
        flat = np.moveaxis(g * (weight * inside)[:, None], 1, -1)  # (N, Ho, Wo, C)
        np.add.at(grad_x, (np.arange(n)[:, None, None], slice(None), cy, cx), flat)
        if mode == "bilinear":  # d weight / d ix and d iy for this corner
            sx = np.where(px > ix, 1.0, -1.0) * np.where(
                py > iy, iy - np.floor(iy), np.floor(iy) + 1 - iy
            )
            sy = np.where(py > iy, 1.0, -1.0) * np.where(
                px > ix, ix - np.floor(ix), np.floor(ix) + 1 - ix
            )
            seen = (g * values).sum(axis=1)
            slope_x += seen * sx
            slope_y += seen * sy
    grad_grid = np.stack([slope_x * dx, slope_y * dy], axis=-1).astype(ga.dtype)
    grad_x = grad_x.astype(xa.dtype)
    if isinstance(grad, Tensor):  # (PyTorch's grid_sampler backward is once differentiable)
        return Tensor._from_array(grad_x), Tensor._from_array(grad_grid)
    return grad_x, grad_grid


GridSampler2DBackward0 = node_class(
    "GridSampler2DBackward0",
    _grid_sample_backward,
    jvp="none",  # none in PyTorch either
)
GridSampler2DBackward0._fw_name = "grid_sampler_2d"  # (the name PyTorch's error gives)


def _check_sample(input, grid):
    if input._data.dtype != grid._data.dtype:
        raise RuntimeError(
            f"expected scalar type {_C_TYPES.get(input._data.dtype.name)} but found "
            f"{_C_TYPES.get(grid._data.dtype.name)}"
        )
    shapes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.ndim != 4 or grid.ndim != 4:
        if input.ndim == 4 and grid.ndim >= 1 and grid.shape[0] != input.shape[0]:
            raise RuntimeError(
                f"grid_sampler(): expected grid and input to have same batch size, but got {shapes}"
            )
        raise RuntimeError(
            "grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
            f"but got {shapes}"
        )
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            f"grid_sampler(): expected grid and input to have same batch size, but got {shapes}"
        )
    if grid.shape[-1] != 2:
        raise RuntimeError(
            "grid_sampler(): expected grid to have size 2 in last dimension, but got grid with "
            f"sizes {list(grid.shape)}"
        )
    for dim in (2, 3):
        if input.shape[dim] == 0:
            raise RuntimeError(
                "grid_sampler(): expected input to have non-empty spatial dimensions, but input "
                f"has sizes {list(input.shape)} with dimension {dim} being empty"
            )
    if input._data.dtype.kind not in "f":
        raise NotImplementedError(
            '"grid_sampler_2d_cpu_kernel_impl" not implemented for '
            f"'{_C_TYPES.get(input._data.dtype.name)}'"
        )


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample (N, C, H, W) ``input`` at the (N, Ho, Wo, 2) normalised positions of ``grid``."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_sample(input, grid)
    if mode == "bicubic":
        raise ValueError("grid_sample: mode='bicubic' is not available in glassgrad")
    x = input._data
    ix, iy, _, _, corners = _geometry(x, grid._data, mode, padding_mode, align_corners)
    out = zeros_over((x.shape[0], x.shape[1], *ix.shape[1:]), np.float64, x, ix)  # (vmap)
    for px, py, weight in corners:
        out += _read(x, px, py)[0] * weight[:, None]
    (made,) = results(
        (out.astype(x.dtype),),
        GridSampler2DBackward0,
        (input, grid),
        (input, grid),
        args=(mode, padding_mode, bool(align_corners)),
    )
    return made


register(
    "affine_grid",
    affine_grid,
    method=False,
    function=False,
    samples=lambda rng: [
        ((rng.standard_normal((2, 2, 3)), (2, 3, 4, 5)), {"align_corners": False}),
        ((rng.standard_normal((1, 3, 4)), (1, 1, 2, 3, 4)), {"align_corners": True}),
    ],
)
register(
    "grid_sample",
    grid_sample,
    method=False,
    function=False,
    second_order=False,
    samples=lambda rng: [
        (
            (rng.standard_normal((2, 3, 4, 5)), rng.uniform(-1.1, 1.1, (2, 3, 2, 2))),
            {"align_corners": False},
        ),
        (
            (rng.standard_normal((1, 2, 3, 4)), rng.uniform(-1.3, 1.3, (1, 2, 3, 2))),
            {"padding_mode": "reflection", "align_corners": True},
        ),
        (
            (rng.standard_normal((1, 2, 3, 4)), rng.uniform(-1.3, 1.3, (1, 2, 3, 2))),
            {"padding_mode": "border", "mode": "nearest", "align_corners": False},
        ),
    ],
)
