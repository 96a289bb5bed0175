"""Three-dimensional pooling: ``max_pool3d``, ``avg_pool3d`` and the adaptive 3-D pools.

As the 2-D pools (``pool.py``): windows are strided views, the max pools scatter their gradient
to each window's first maximum, and the average pools are linear, recorded as a ``linear_pair``
so double backward is exact. ``lp_pool3d`` is a composite of these, as in PyTorch.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from glassgrad import _bfloat16
from glassgrad._batched import as_strided as _as_strided  # (vmap: a batch stays one)
from glassgrad._batched import pick
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import results
from glassgrad.ops import _dual as D
from glassgrad.ops.elementwise.unary import relu
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn import upsample as U
from glassgrad.ops.nn.pool import pool as P
from glassgrad.ops.registry import register

_RANK = "non-empty 4D or 5D (batch mode) tensor expected for input"


def _triple(value, message):
    """An int or a sequence of one or three ints as three ints (PyTorch's rule and error)."""
    if isinstance(value, (list, tuple)):
        if len(value) not in (1, 3):
            raise RuntimeError(message)
        return tuple(int(v) for v in value) * (3 // len(value))
    return (int(value),) * 3


def _windows(xp, kernel, stride, dilation, out):
    """(N, C, OD, OH, OW, kd, kh, kw) view of the windows of the padded array ``xp``."""
    s = xp.strides
    shape = xp.shape[:2] + tuple(out) + tuple(kernel)
    strides = s[:2] + tuple(s[2 + i] * stride[i] for i in range(3))
    strides += tuple(s[2 + i] * dilation[i] for i in range(3))
    return _as_strided(xp, shape, strides, writeable=False)


def _padded(x, padding, out, kernel, stride, dilation, fill):
    """``x`` padded by ``padding`` and, on the right, as far as the last window reaches."""
    width = [(0, 0), (0, 0)]
    for i in range(3):
        reach = (out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
        width.append((padding[i], max(0, reach - x.shape[2 + i] - padding[i])))
    return np.pad(x, width, constant_values=fill)


def _check_volume(input, op):
    if input.ndim not in (4, 5):
        raise RuntimeError(_RANK)
    if 0 in tuple(input.shape)[-4:]:
        dim = tuple(input.shape)[-4:].index(0)
        raise RuntimeError(
            f"{op}(): Expected input's non-batch dimensions to have positive length, but input "
            f"has a shape of {list(input.shape)} and non-batch dimension {dim} has length zero!"
        )


def _geometry(input, op, kernel, stride, padding, dilation, ceil_mode, names):
    """PyTorch's checks, in its order; returns the output's (D, H, W)."""
    if 0 in stride:
        raise RuntimeError("stride should not be zero")
    if min(kernel) <= 0:
        raise RuntimeError(
            "kernel size should be greater than zero, but got "
            f"kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]}"
        )
    if min(stride) <= 0:
        raise RuntimeError(
            "stride should be greater than zero, but got "
            f"dT: {stride[0]} dH: {stride[1]} dW: {stride[2]}"
        )
    if min(dilation) <= 0:
        raise RuntimeError(
            "dilation should be greater than zero, but got "
            f"dilationT: {dilation[0]} dilationH: {dilation[1]} dilationW: {dilation[2]}"
        )
    _check_volume(input, names)
    size = tuple(input.shape)[-3:]
    if op == "avg" and any(s < k for s, k in zip(size, kernel, strict=True)):
        raise RuntimeError(
            f"input image (T: {size[0]} H: {size[1]} W: {size[2]}) smaller than kernel size "
            f"(kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]})"
        )
    for p, k, d in zip(padding, kernel, dilation, strict=True):
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > int(((k - 1) * d + 1) / 2):
            raise RuntimeError(
                "pad should be at most half of effective kernel size, but got "
                f"pad={p}, kernel_size={k} and dilation={d}"
            )
    out = tuple(
        P._pool_size(size[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        for i in range(3)
    )
    if min(out) < 1:
        channels = tuple(input.shape)[-4]
        raise RuntimeError(
            f"Given input size: ({channels}x{size[0]}x{size[1]}x{size[2]}). Calculated output "
            f"size: ({channels}x{out[0]}x{out[1]}x{out[2]}). Output size is too small"
        )
    return out


# -- max pooling -------------------------------------------------------------------------------
def _max_backward(ctx, grad, index):
    (shape,) = ctx._args
    if len(grad.shape) == 4:  # an unbatched (C, D, H, W) input: the kernels see N = 1
        grad = D.reshape(grad, (1, *grad.shape))
    n, c = shape[0], shape[1]
    flat = index.reshape(n, c, -1)
    key = (np.arange(n)[:, None, None], np.arange(c)[None, :, None], flat)
    g = D.reshape(grad, flat.shape)
    volume = math.prod(shape[2:])
    if D._is_array(grad):
        out = np.zeros((n, c, volume), dtype=grad.dtype)
        np.add.at(out, key, g)
        return (out.reshape(shape),)
    return (D.reshape(D.scatter_into((n, c, volume), key, g), shape),)


MaxPool3DWithIndicesBackward0 = node_class("MaxPool3DWithIndicesBackward0", _max_backward)
AdaptiveMaxPool3DBackward0 = node_class("AdaptiveMaxPool3DBackward0", _max_backward)


def _max_of(windows):
    """Max over the last three axes and its flat position in the window (NaN wins)."""
    flat = windows.reshape(*windows.shape[:5], -1)
    arg = flat.argmax(axis=-1)
    if _floating(flat):
        nan = np.isnan(flat)
        if nan.__class__ is not np.ndarray or nan.any():  # NaN wins (vmap: always asked)
            arg = np.where(nan.any(axis=-1), nan.argmax(axis=-1), arg)
    return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0], arg


def _with_indices(input, out, index, cls, return_indices):
    unbatched = input.ndim == 4
    shape = (1, *input._data.shape) if unbatched else input._data.shape
    saved = index
    if unbatched:  # record on the (C, D, H, W) input itself, as PyTorch's grad_fn shows
        out, index = out[0], index[0]
    made = results(
        (out, index.astype(np.int64)),
        cls,
        (input,),
        (saved,),
        args=(shape,),
        differentiable=(True, False),
    )
    return made if return_indices else made[0]


def max_pool3d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Maximum over each window of an (N, C, D, H, W) or (C, D, H, W) input."""
    kernel = _triple(
        kernel_size, "max_pool3d: kernel_size must either be a single int, or a tuple of three ints"
    )
    stride = (
        kernel
        if stride in (None, [], ())
        else _triple(
            stride,
            "max_pool3d: stride must either be omitted, a single int, or a tuple of three ints",
        )
    )
    padding = _triple(
        padding, "max_pool3d: padding must either be a single int, or a tuple of three ints"
    )
    dilation = _triple(
        dilation, "max_pool3d: dilation must be either a single int, or a tuple of three ints"
    )
    out_size = _geometry(
        input, "max", kernel, stride, padding, dilation, ceil_mode,
        "max_pool3d_with_indices_out_cpu_template",
    )  # fmt: skip
    x = input._data if input.ndim == 5 else input._data[None]
    fill = -np.inf if _floating(x) else np.iinfo(x.dtype).min
    xp = _padded(x, padding, out_size, kernel, stride, dilation, fill)
    out, arg = _max_of(_windows(xp, kernel, stride, dilation, out_size))
    offsets = np.unravel_index(arg, kernel)
    index = np.zeros(arg.shape, dtype=np.int64)
    for i in range(3):
        start = np.arange(out_size[i]) * stride[i] - padding[i]
        position = start.reshape([-1 if j == i else 1 for j in range(3)]) + offsets[i] * dilation[i]
        index = index * x.shape[2 + i] + position
    return _with_indices(input, out, index, MaxPool3DWithIndicesBackward0, return_indices)


def _sizes3(output_size, shape, op):
    """``output_size`` as three ints, a ``None`` entry taking the input's size."""
    if not isinstance(output_size, (list, tuple)):
        return (int(output_size),) * 3
    if len(output_size) != 3:
        raise RuntimeError(op)
    return tuple(shape[-3 + i] if v is None else int(v) for i, v in enumerate(output_size))


def _check_float(input, kernel_name):
    if input._data.dtype.kind in "iub":
        name = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char"}
        label = name.get(input._data.dtype.name, input._data.dtype.name.capitalize())
        raise NotImplementedError(f"\"{kernel_name}\" not implemented for '{label}'")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Maximum over ``output_size`` windows that tile the input as evenly as possible."""
    if input.ndim not in (4, 5):
        raise RuntimeError(
            f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: {list(input.shape)}"
        )
    sizes = _sizes3(
        output_size,
        input.shape,
        "adaptive_max_pool3d(): internal error: output_size.size() must be 3",
    )
    _check_float(input, "adaptive_max_pool3d_cpu")
    x = input._data if input.ndim == 5 else input._data[None]
    axes = []
    for i in range(3):
        starts, ends = P._adaptive_ranges(x.shape[2 + i], sizes[i])
        width = int((ends - starts).max()) if sizes[i] else 1
        # shorter windows repeat their last element, which leaves the max alone
        axes.append(np.minimum(starts[:, None] + np.arange(width), ends[:, None] - 1))
    d, h, w = axes
    windows = x[
        :,
        :,
        d[:, None, None, :, None, None],
        h[None, :, None, None, :, None],
        w[None, None, :, None, None, :],
    ]
    out, arg = _max_of(windows)
    od, oh, ow = np.unravel_index(arg, windows.shape[-3:])
    grid = np.ix_(*(np.arange(s) for s in sizes))
    depth, height, width = pick(d, grid[0], od), pick(h, grid[1], oh), pick(w, grid[2], ow)
    index = (depth * x.shape[3] + height) * x.shape[4] + width  # (pick: vmap's offsets)
    return _with_indices(input, out, index, AdaptiveMaxPool3DBackward0, return_indices)


# -- average pooling -----------------------------------------------------------------------------
def _avg_forward(x, args):
    if x.ndim == 4:
        return _avg_forward(x[None], args)[0]
    kernel, stride, padding, out_size, divisor, _ = args
    xp = _padded(x, padding, out_size, kernel, stride, (1, 1, 1), 0)
    total = _windows(xp, kernel, stride, (1, 1, 1), out_size).sum(axis=(5, 6, 7))
    return (total / divisor).astype(x.dtype, copy=False)


def _avg_adjoint(grad, args):
    if grad.ndim == 4:
        return _avg_adjoint(grad[None], args)[0]
    kernel, stride, padding, out_size, divisor, size = args
    g = (grad / divisor).astype(grad.dtype, copy=False)
    full = tuple(
        max(size[i] + 2 * padding[i], (out_size[i] - 1) * stride[i] + kernel[i]) for i in range(3)
    )
    out = np.zeros(grad.shape[:2] + full, dtype=grad.dtype)
    for offset in itertools.product(*(range(k) for k in kernel)):
        key = tuple(
            slice(o, o + stride[i] * (out_size[i] - 1) + 1, stride[i]) for i, o in enumerate(offset)
        )
        out[(slice(None), slice(None), *key)] += g
    return out[
        (slice(None), slice(None), *(slice(p, p + s) for p, s in zip(padding, size, strict=True)))
    ]


_avg_pool = N.linear_pair(
    "AvgPool3DBackward0", "AvgPool3DBackwardBackward0", _avg_forward, _avg_adjoint
)


def _divisor(size, kernel, stride, padding, out_size, count_include_pad, divisor_override):
    """PyTorch's per-window divisor: the window clipped to the padded input, or to the input."""
    if divisor_override:
        return divisor_override
    sizes = []
    for i in range(3):
        start = np.arange(out_size[i]) * stride[i] - padding[i]
        end = np.minimum(start + kernel[i], size[i] + padding[i])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size[i])
        sizes.append(end - start)
    return sizes[0][:, None, None] * sizes[1][None, :, None] * sizes[2][None, None, :]


def avg_pool3d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """Mean over each window of an (N, C, D, H, W) or (C, D, H, W) input."""
    kernel = _triple(
        kernel_size, "avg_pool3d: kernel_size must be a single int, or a tuple of three ints"
    )
    stride = (
        kernel
        if stride in (None, [], ())
        else _triple(
            stride, "avg_pool3d: stride must be omitted, a single int, or a tuple of three ints"
        )
    )
    padding = _triple(padding, "avg_pool3d: padding must be a single int, or a tuple of three ints")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    out_size = _geometry(input, "avg", kernel, stride, padding, (1, 1, 1), ceil_mode, "avg_pool3d")
    size = tuple(input.shape)[-3:]
    divisor = _divisor(size, kernel, stride, padding, out_size, count_include_pad, divisor_override)
    _bfloat16.refuse(input._data, "avg_pool3d_out_frame")
    return _avg_pool(input, (kernel, stride, padding, out_size, divisor, size))


def adaptive_avg_pool3d(input, output_size):
    """Mean over ``output_size`` windows that tile the input as evenly as possible."""
    if input.ndim not in (4, 5):
        raise RuntimeError(
            f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}"
        )
    sizes = _sizes3(output_size, input.shape, "adaptive_avg_pool3d: output_size must be 3")
    _check_float(input, "adaptive_avg_pool3d_cpu")
    size = tuple(input.shape)[-3:]
    # the same separable linear pair that ``interpolate(mode="area")`` records
    return U._apply("AdaptiveAvgPool3D", input, [P._averaging(size[i], sizes[i]) for i in range(3)])


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum of x ** p over each window) ** (1 / p)`` over the last three dims."""
    kd, kw, kh = N.pair(kernel_size, 3)
    if norm_type == float("inf"):
        return max_pool3d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool3d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool3d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kd * kw * kh).pow(1.0 / norm_type)


def _volume(rng):
    return rng.standard_normal((2, 2, 4, 5, 6))


register(
    "max_pool3d",
    max_pool3d,
    method=False,
    samples=lambda rng: [
        ((_volume(rng), 2), {}),
        ((_volume(rng), 3), {"stride": 2, "padding": 1, "ceil_mode": True}),
        ((_volume(rng)[0], (2, 3, 2)), {"stride": 1, "dilation": (1, 1, 2)}),
    ],
    edge_samples=lambda rng: [
        ((np.round(_volume(rng)), 2), {"return_indices": True}),
        ((np.maximum(_volume(rng), 0), 3), {"stride": 1, "padding": 1}),
    ],
)
register(
    "avg_pool3d",
    avg_pool3d,
    method=False,
    function=False,
    samples=lambda rng: [
        ((_volume(rng), 2), {}),
        (
            (_volume(rng), 3),
            {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
        ),
        ((_volume(rng)[0], (2, 3, 2)), {"stride": 1, "padding": 1, "divisor_override": 5}),
    ],
)
register(
    "adaptive_avg_pool3d",
    adaptive_avg_pool3d,
    method=False,
    function=False,
    samples=lambda rng: [((_volume(rng), (3, 2, 4)), {}), ((_volume(rng)[0], (2, None, 5)), {})],
)
register(
    "adaptive_max_pool3d",
    adaptive_max_pool3d,
    method=False,
    function=False,
    samples=lambda rng: [((_volume(rng), (3, 2, 4)), {}), ((_volume(rng)[0], 3), {})],
)
