"""Two-dimensional pooling: ``max_pool2d``, ``avg_pool2d`` and the adaptive pools (the 1-D and
power-average pools are in ``pool1d.py``; ``pad`` and ``interpolate`` in ``nn/pad.py`` and
``nn/upsample.py``).

Windows are strided views (no Python loop over pixels); gradients that scatter back into windows
loop over the kernel offsets only. Every op here except the max pools is linear in its input, so
each is recorded as a ``linear_pair``: its backward is its adjoint, whose backward is the op
again, which makes double backward exact without further rules.
"""

from __future__ import annotations

import numpy as np

from glassgrad import _bfloat16
from glassgrad._batched import as_strided as _as_strided  # (vmap: a batch stays one)
from glassgrad._batched import pick
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import results
from glassgrad.ops import _dual as D
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.pool import tiled as T
from glassgrad.ops.registry import register


def _windows(xp, kernel, stride, dilation, out_hw):
    """(N, C, OH, OW, kh, kw) view of the windows of the padded array ``xp``."""
    s = xp.strides
    shape = xp.shape[:2] + tuple(out_hw) + tuple(kernel)
    strides = (
        s[0],
        s[1],
        s[2] * stride[0],
        s[3] * stride[1],
        s[2] * dilation[0],
        s[3] * dilation[1],
    )
    return _as_strided(xp, shape, strides, writeable=False)


def _pool_size(size, kernel, stride, padding, dilation, ceil_mode):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def _geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = N.pair(kernel_size)
    stride = N.pair(stride if stride not in (None, [], ()) else kernel)
    padding, dilation = N.pair(padding), N.pair(dilation)
    if 0 in stride:
        raise RuntimeError("stride should not be zero")
    # C's division, which rounds toward zero (a negative kernel passes to the next check)
    if any(
        p > int(((k - 1) * d + 1) / 2) for p, k, d in zip(padding, kernel, dilation, strict=True)
    ):
        raise RuntimeError(
            "pad should be at most half of effective kernel size, but got "
            f"pad={padding[0]}, kernel_size={kernel[0]} and dilation={dilation[0]}"
        )
    if min(kernel) <= 0:
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[1]}"
        )
    if min(dilation) <= 0:
        raise RuntimeError(
            "dilation should be greater than zero, but got dilationH: "
            f"{dilation[0]} dilationW: {dilation[1]}"
        )
    out = tuple(
        _pool_size(shape[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        for i in range(2)
    )
    if min(out) < 1:
        raise RuntimeError(
            f"Given input size: ({shape[1]}x{shape[2]}x{shape[3]}). Calculated output size: "
            f"({shape[1]}x{out[0]}x{out[1]}). Output size is too small"
        )
    return kernel, stride, padding, dilation, out


def _padded(x, padding, out, kernel, stride, dilation, fill):
    """``x`` padded by ``padding`` and, on the right, as far as the last window reaches."""
    extra = [
        max(
            0,
            (out[i] - 1) * stride[i]
            + dilation[i] * (kernel[i] - 1)
            + 1
            - x.shape[2 + i]
            - padding[i],
        )
        for i in range(2)
    ]
    width = ((0, 0), (0, 0), (padding[0], extra[0]), (padding[1], extra[1]))
    return np.pad(x, width, constant_values=fill)


def _sample_shape(input):
    """The (N, C, H, W) shape the kernels see: an unbatched (C, H, W) input has N = 1."""
    return (1, *input._data.shape) if input.ndim == 3 else input._data.shape


def _batched(input):
    return (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)


# -- max pooling -------------------------------------------------------------------------------
def _max_backward(ctx, grad, indices):
    shape, unique, tiled = ctx._args
    if len(grad.shape) == 3:  # an unbatched (C, H, W) input: the kernels see N = 1
        grad = D.reshape(grad, (1, *grad.shape))
    if tiled:  # ``indices`` holds the tiled fast path's first-maximum masks
        if D._is_array(grad):
            return (T.tiled_backward(grad, indices, shape),)
        indices = T.tiled_index(N.arr(indices), shape)
    n, c = shape[0], shape[1]
    flat = indices.reshape(n, c, -1)
    key = (np.arange(n)[:, None, None], np.arange(c)[None, :, None], flat)
    g = D.reshape(grad, flat.shape)
    if D._is_array(grad):
        out = np.zeros((n, c, shape[2] * shape[3]), dtype=grad.dtype)
        if unique:  # windows that do not overlap never share a maximum: plain assignment
            out[key] = g
        else:
            np.add.at(out, key, g)
        return (out.reshape(shape),)
    return (D.reshape(D.scatter_into((n, c, shape[2] * shape[3]), key, g), shape),)


MaxPool2DWithIndicesBackward0 = node_class("MaxPool2DWithIndicesBackward0", _max_backward)
AdaptiveMaxPool2DBackward0 = node_class("AdaptiveMaxPool2DBackward0", _max_backward)


def _max_of(windows):
    """Max over the last two axes of ``windows`` and its position ``(di, dj)`` in the window."""
    n, c, oh, ow, kh, kw = windows.shape
    flat = windows.reshape(n, c, oh, ow, kh * kw)
    arg = flat.argmax(axis=-1)
    if _floating(flat):
        nan = np.isnan(flat)
        if nan.__class__ is not np.ndarray or nan.any():  # NaN wins (vmap: always asked)
            arg = np.where(nan.any(axis=-1), nan.argmax(axis=-1), arg)
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return out, np.divmod(arg, kw)


# -- max pooling over windows that tile the input exactly (kernels in pool_tiled) -----------
def _tiled_pool(input, batched, kernel, unbatched, return_indices):
    x = batched._data
    out, masks = T.tiled_max(x, kernel)
    if out is None:
        return None
    outs = (out, T.tiled_index(masks, x.shape)) if return_indices else (out,)
    if unbatched:  # record on the (C, H, W) input itself, as PyTorch's grad_fn shows
        outs = tuple(o[0] for o in outs)
    made = results(
        outs,
        MaxPool2DWithIndicesBackward0,
        (input,),
        (masks,),
        args=(x.shape, True, True),
        differentiable=(True, False)[: len(outs)],
    )
    return made if return_indices else made[0]


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Maximum over each window; ``return_indices`` also gives each maximum's flat position."""
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    batched, unbatched = _batched(input)
    x = batched._data
    kernel, stride, padding, dilation, out_hw = _geometry(
        x.shape, kernel_size, stride, padding, dilation, ceil_mode
    )
    if T.tiles(x.shape, kernel, stride, padding, dilation):
        made = _tiled_pool(input, batched, kernel, unbatched, return_indices)
        if made is not None:
            return made
    fill = -np.inf if _floating(x) else np.iinfo(x.dtype).min
    xp = _padded(x, padding, out_hw, kernel, stride, dilation, fill)
    windows = _windows(xp, kernel, stride, dilation, out_hw)
    out, (di, dj) = _max_of(windows)
    rows = (np.arange(out_hw[0]) * stride[0] - padding[0])[:, None] + di * dilation[0]
    cols = (np.arange(out_hw[1]) * stride[1] - padding[1])[None, :] + dj * dilation[1]
    unique = all(s >= d * (k - 1) + 1 for s, k, d in zip(stride, kernel, dilation, strict=False))
    return _with_indices(
        input,
        out,
        rows * x.shape[3] + cols,
        MaxPool2DWithIndicesBackward0,
        unbatched,
        return_indices,
        unique,
    )


def _with_indices(input, out, index, cls, unbatched, return_indices, unique=False):
    shape = (1, *input._data.shape) if unbatched else input._data.shape
    if unbatched:  # record on the (C, H, W) input itself, as PyTorch's grad_fn shows
        out, index = out[0], index[0]
    out_t, index_t = results(
        (out, index.astype(np.int64)),
        cls,
        (input,),
        (index[None] if unbatched else index,),
        args=(shape, unique, False),
        differentiable=(True, False),
    )
    return (out_t, index_t) if return_indices else out_t


def _adaptive_ranges(size, out):
    starts = (np.arange(out) * size) // out
    ends = -((-(np.arange(out) + 1) * size) // out)
    return starts, ends


def _list_with_default(output_size, shape):
    """``output_size`` as two ints, a ``None`` entry taking the input's size (PyTorch's rule)."""
    if not isinstance(output_size, (list, tuple)):
        return (int(output_size),) * 2
    if len(shape) <= len(output_size):
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    defaults = shape[-len(output_size) :]
    sizes = [d if v is None else v for v, d in zip(output_size, defaults, strict=True)]
    return tuple(int(v) for v in (sizes * 2 if len(sizes) == 1 else sizes))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maximum over ``output_size`` windows that tile the input as evenly as possible."""
    if isinstance(output_size, (list, tuple)):
        _list_with_default(output_size, input.shape)  # PyTorch's rank error comes first
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}"
        )
    batched, unbatched = _batched(input)
    x = batched._data
    sizes = _list_with_default(output_size, x.shape)
    (sh, eh), (sw, ew) = (_adaptive_ranges(x.shape[2 + i], sizes[i]) for i in range(2))
    kh, kw = int((eh - sh).max()), int((ew - sw).max())
    # windows shorter than the longest repeat their last row/column, which leaves the max alone
    rows = np.minimum(sh[:, None] + np.arange(kh), eh[:, None] - 1)
    cols = np.minimum(sw[:, None] + np.arange(kw), ew[:, None] - 1)
    windows = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    out, (di, dj) = _max_of(windows)
    index = (  # (pick: vmap's per-sample offsets)
        pick(rows, np.arange(sizes[0])[:, None], di) * x.shape[3]
        + pick(cols, np.arange(sizes[1])[None, :], dj)
    )
    return _with_indices(input, out, index, AdaptiveMaxPool2DBackward0, unbatched, return_indices)


# -- average pooling -----------------------------------------------------------------------------
def _avg_forward(x, args):
    if x.ndim == 3:  # an unbatched (C, H, W) input
        return _avg_forward(x[None], args)[0]
    kernel, stride, padding, out_hw, divisor, _ = args
    xp = _padded(x, padding, out_hw, kernel, stride, (1, 1), 0)
    total = _windows(xp, kernel, stride, (1, 1), out_hw).sum(axis=(4, 5))
    return (total / divisor).astype(x.dtype, copy=False)


def _avg_adjoint(grad, args):
    if grad.ndim == 3:
        return _avg_adjoint(grad[None], args)[0]
    kernel, stride, padding, out_hw, divisor, (h, w) = args
    g = (grad / divisor).astype(grad.dtype, copy=False)
    (oh, ow), (sh, sw) = out_hw, stride
    full = (
        max(h + 2 * padding[0], (oh - 1) * sh + kernel[0]),
        max(w + 2 * padding[1], (ow - 1) * sw + kernel[1]),
    )
    out = np.zeros(grad.shape[:2] + full, dtype=grad.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            out[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += g
    return out[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]


_avg_pool = N.linear_pair(
    "AvgPool2DBackward0", "AvgPool2DBackwardBackward0", _avg_forward, _avg_adjoint
)


def _divisor(in_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    """PyTorch's per-window divisor: the window clipped to the padded input, or to the input."""
    if divisor_override:
        return divisor_override
    sizes = []
    for i in range(2):
        start = np.arange(out_hw[i]) * stride[i] - padding[i]
        end = np.minimum(start + kernel[i], in_hw[i] + padding[i])
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(np.minimum(end, in_hw[i]) - np.maximum(start, 0))
    return sizes[0][:, None] * sizes[1][None, :]


def _check_image(input):
    """PyTorch's errors for inputs that are not (C, H, W) or (N, C, H, W)."""
    if input.ndim < 3:  # PyTorch reads the channel dim -3 first
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(input.ndim, 1)}, "
            f"{max(input.ndim, 1) - 1}], but got -3)"
        )
    if input.ndim > 4:
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
            f"but got:{list(input.shape)}"
        )


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """Mean over each window."""
    _check_image(input)
    shape = _sample_shape(input)
    kernel, stride, padding, _, out_hw = _geometry(
        shape, kernel_size, stride, padding, 1, ceil_mode
    )
    divisor = _divisor(
        shape[2:], kernel, stride, padding, out_hw, count_include_pad, divisor_override
    )
    return _avg_pool(input, (kernel, stride, padding, out_hw, divisor, shape[2:]))


# -- separable linear maps: adaptive average pooling and interpolation ----------------------------
def _separable(x, args):
    rows, cols = args
    work = _bfloat16.accumulating(x)  # (bfloat16: in float32, rounded once)
    data = x.astype(work, copy=False)
    if rows is None:  # (N, C, L) inputs: only the last dim is resized
        return (data @ cols.T.astype(work)).astype(x.dtype, copy=False)
    return ((rows.astype(work) @ data) @ cols.T.astype(work)).astype(x.dtype, copy=False)


def _separable_adjoint(grad, args):
    rows, cols = args
    work = _bfloat16.accumulating(grad)
    data = grad.astype(work, copy=False)
    if rows is None:
        return (data @ cols.astype(work)).astype(grad.dtype, copy=False)
    return ((rows.T.astype(work) @ data) @ cols.astype(work)).astype(grad.dtype, copy=False)


def _pair_of(name):
    return N.linear_pair(
        f"{name}Backward0", f"{name}BackwardBackward0", _separable, _separable_adjoint
    )


_SEPARABLE = {
    name: _pair_of(name)
    for name in (
        "AdaptiveAvgPool2D",
        "UpsampleNearest2D",
        "UpsampleBilinear2D",
        "UpsampleNearest1D",
        "UpsampleLinear1D",
    )
}


def _averaging(size, out):
    starts, ends = _adaptive_ranges(size, out)
    positions = np.arange(size)
    inside = (positions >= starts[:, None]) & (positions < ends[:, None])
    return inside / (ends - starts)[:, None]


def adaptive_avg_pool2d(input, output_size):
    """Mean over ``output_size`` windows that tile the input as evenly as possible."""
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}"
        )
    if isinstance(output_size, (tuple, list)) and len(output_size) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    shape = _sample_shape(input)
    sizes = N.pair(output_size)
    sizes = tuple(shape[2 + i] if sizes[i] is None else sizes[i] for i in range(2))
    matrices = (_averaging(shape[2], sizes[0]), _averaging(shape[3], sizes[1]))
    return _SEPARABLE["AdaptiveAvgPool2D"](input, matrices)


def _image(rng):
    return rng.standard_normal((2, 3, 6, 6))


register(
    "max_pool2d",
    max_pool2d,
    method=False,
    samples=lambda rng: [
        ((_image(rng), 2), {}),
        ((_image(rng), 3), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ],
    # ties (ReLU's zeros, repeated values): the first maximum of a window takes the gradient
    edge_samples=lambda rng: [
        ((np.maximum(_image(rng), 0), 2), {"return_indices": True}),
        ((np.round(_image(rng)), 3), {"return_indices": True}),
        ((np.round(_image(rng)), (2, 3)), {"stride": 2, "padding": 1}),
    ],
)
register(
    "avg_pool2d",
    avg_pool2d,
    method=False,
    function=False,
    samples=lambda rng: [
        ((_image(rng), 2), {}),
        (
            (_image(rng), 3),
            {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
        ),
    ],
)
register(
    "adaptive_avg_pool2d",
    adaptive_avg_pool2d,
    method=False,
    function=False,
    samples=lambda rng: [((_image(rng), (4, 5)), {})],
)
register(
    "adaptive_max_pool2d",
    adaptive_max_pool2d,
    method=False,
    function=False,
    samples=lambda rng: [((_image(rng), (4, 5)), {})],
)
