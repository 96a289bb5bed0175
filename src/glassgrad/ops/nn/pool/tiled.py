"""Max pooling over windows that tile the input exactly (the common 2x2, stride 2 case).

Each of the kh*kw offsets is a strided view of the input, so the maximum is kh*kw - 1 elementwise
maxima (a reduction over a 6-D reshape is ten times slower), and the gradient is kept as one
mask per offset marking the windows whose first maximum sits there: the backward writes each
offset's view once, with no index arithmetic and no scatter.
"""

from __future__ import annotations

import numpy as np

from glassgrad._bfloat16 import floating as _floating


def tiles(x_shape, kernel, stride, padding, dilation):
    """Whether the pooling windows cover the input exactly once, with no padding or gaps."""
    return (
        stride == kernel
        and padding == (0, 0)
        and dilation == (1, 1)
        and x_shape[2] % kernel[0] == 0
        and x_shape[3] % kernel[1] == 0
        and x_shape[2] * x_shape[3] > 0
    )


def _tile_views(x, kernel):
    kh, kw = kernel
    return [x[:, :, i::kh, j::kw] for i in range(kh) for j in range(kw)]


def tiled_max(x, kernel):
    """The maximum of each tile and (kh*kw, N, C, OH, OW) masks of each tile's first maximum."""
    views = _tile_views(x, kernel)
    out = views[0].copy()
    for view in views[1:]:
        np.maximum(out, view, out=out)
    if out.__class__ is not np.ndarray or (_floating(out) and np.isnan(out).any()):
        # NaN wins in PyTorch, at its own position (or a vmap batch): the general path
        return None, None
    masks = np.empty((len(views),) + out.shape, dtype=bool)
    taken = np.equal(views[0], out, out=masks[0]).copy()
    for mask, view in zip(masks[1:-1], views[1:-1], strict=True):
        np.equal(view, out, out=mask)
        mask &= ~taken
        taken |= mask
    if len(views) > 1:  # what no earlier offset took is the last offset's
        np.logical_not(taken, out=masks[-1])
    return out, masks


def tiled_backward(grad, masks, shape):
    """``grad`` written into each offset's view where that offset holds the first maximum."""
    kernel = (shape[2] // grad.shape[2], shape[3] // grad.shape[3])
    out = np.empty(shape, dtype=grad.dtype)
    if np.isfinite(grad).all():  # grad * mask is exact: a multiply is 4x cheaper than a select
        for view, mask in zip(_tile_views(out, kernel), masks, strict=True):
            np.multiply(grad, mask, out=view)
        return out
    zero = np.zeros((), dtype=grad.dtype)  # inf * 0 would put NaN where no maximum is
    for view, mask in zip(_tile_views(out, kernel), masks, strict=True):
        view[...] = np.where(mask, grad, zero)
    return out


def tiled_index(masks, shape):
    """The flat input position of each maximum, from the tiled path's masks."""
    oh, ow = masks.shape[3], masks.shape[4]
    kh, kw = shape[2] // oh, shape[3] // ow
    di, dj = np.divmod(masks.argmax(axis=0), kw)
    rows = np.arange(oh)[:, None] * kh + di
    return rows * shape[3] + np.arange(ow)[None, :] * kw + dj
