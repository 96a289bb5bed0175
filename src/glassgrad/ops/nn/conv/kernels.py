"""NumPy kernels for N-d convolution: channels-last im2col plus one matmul per group.

The three functions are the convolution and its two adjoints. A transposed convolution is the
input-adjoint run forward, so one set of kernels serves every op and all their gradients, in any
number of spatial dimensions (1-D, 2-D and 3-D alike). No Python loop visits a pixel: ``im2col``
is a strided view copied once, and ``col2im`` loops over the kernel offsets only.

Why channels-last: the columns are gathered from an (N, *S, C) copy of the input, where each
kernel offset reads runs of ``C`` contiguous values instead of runs of a few pixels; the columns
come out as (N, G, prod(OS), prod(K)*C/G), whose batched product with the weight lands directly in
(N, O, prod(OS)), the channels-first output, without a transposing copy. The forward keeps the
columns so that the weight gradient is one product with them.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np

from glassgrad._batched import as_strided as _as_strided  # (vmap: a batch stays one)
from glassgrad._batched import c_order, zeros_over


def out_size(size, kernel, stride, padding, dilation):
    """The output length of a convolution along one dimension."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _channels_last(x, padding):
    """``x`` (N, C, *S) as a zero-padded, contiguous (N, *(S + 2P), C) array."""
    n, c, *size = x.shape
    shape = (n, *[s + 2 * p for s, p in zip(size, padding, strict=False)], c)
    out = zeros_over(shape, x.dtype, x)  # (vmap: a batch's buffer is a batch)
    inner = [slice(p, p + s) for s, p in zip(size, padding, strict=False)]
    out[(slice(None), *inner)] = x.transpose(0, *range(2, x.ndim), 1)
    return out


def im2col(x, kernel, stride, padding, dilation, groups):
    """The receptive fields of ``x`` (N, C, *S) as (N, G, prod(OS), prod(K)*C/G) and OS."""
    xp = _channels_last(x, padding)
    n, *size, c = xp.shape
    dims = len(kernel)
    outs = [
        (s - d * (k - 1) - 1) // st + 1
        for s, k, st, d in zip(size, kernel, stride, dilation, strict=False)
    ]
    s = xp.strides
    steps = [s[1 + i] * stride[i] for i in range(dims)]
    spread = [s[1 + i] * dilation[i] for i in range(dims)]
    view = _as_strided(xp, (n, *outs, *kernel, c), (s[0], *steps, *spread, s[-1]), writeable=False)
    rows, taps = prod(outs), prod(kernel)
    if groups == 1:  # the reshape is the one copy
        return view.reshape(n, 1, rows, taps * c), outs
    view = view.reshape(n, *outs, *kernel, groups, c // groups)
    view = view.transpose(0, 2 * dims + 1, *range(1, 2 * dims + 1), 2 * dims + 2)
    return view.reshape(n, groups, rows, taps * (c // groups)), outs


def _weight_matrix(weight, groups):
    """(O, C/G, *K) as (G, O/G, prod(K)*C/G), matching the column order of ``im2col``."""
    o, cg = weight.shape[:2]
    taps = prod(weight.shape[2:])
    return (
        weight.reshape(groups, o // groups, cg, taps)
        .transpose(0, 1, 3, 2)
        .reshape(groups, o // groups, taps * cg)
    )


def conv_forward(x, weight, stride, padding, dilation, groups, keep=False):
    """Cross-correlation of ``x`` (N, C, *S) with ``weight`` (O, C/g, *K).

    With ``keep``, returns ``(out, cols)``: the columns for ``conv_weight_grad``.
    """
    cols, outs = im2col(x, weight.shape[2:], stride, padding, dilation, groups)
    out = np.matmul(_weight_matrix(weight, groups), cols.swapaxes(2, 3))
    out = out.reshape(x.shape[0], weight.shape[0], *outs)
    return (out, cols) if keep else out


def conv_input_grad(grad, weight, x_shape, stride, padding, dilation, groups):
    """The adjoint of ``conv_forward`` in ``x``: ``grad`` (N, O, *OS) -> (N, C, *S)."""
    o, cg, *kernel = weight.shape
    n, _, *outs = grad.shape
    dims = len(kernel)
    g = grad.reshape(n, groups, o // groups, prod(outs)).swapaxes(2, 3)
    cols = np.matmul(g, _weight_matrix(weight, groups))  # (N, G, prod(OS), prod(K)*C/G)
    cols = cols.reshape(n, groups, *outs, *kernel, cg)
    size = x_shape[2:]
    padded = [s + 2 * p for s, p in zip(size, padding, strict=False)]
    out = zeros_over((n, *padded, groups, cg), grad.dtype, cols)  # (vmap: batched columns)
    order = (0, *range(2, dims + 2), 1, dims + 2)  # (N, *OS, G, C/G) for each offset
    lead = (slice(None),) * (dims + 2)
    # each dimension's output window per kernel offset, built once; ``product`` then pairs them
    windows = []
    for k, d, st, os in zip(kernel, dilation, stride, outs, strict=False):
        windows.append([slice(i * d, i * d + st * (os - 1) + 1, st) for i in range(k)])
    taps = product(*map(range, kernel))
    for offset, window in zip(taps, product([slice(None)], *windows), strict=False):
        out[window] += cols[lead + offset].transpose(order)
    inner = tuple(slice(p, p + s) for s, p in zip(size, padding, strict=True))
    out = out[(slice(None), *inner)].reshape(n, *size, x_shape[1])
    return c_order(out.transpose(0, dims + 1, *range(1, dims + 1)))


def conv_weight_grad(x, grad, w_shape, stride, padding, dilation, groups, cols=None):
    """The adjoint of ``conv_forward`` in ``weight``: (N, O, *OS) -> (O, C/g, *K).

    ``cols`` are ``x``'s columns if the forward kept them (``x`` is then not read).
    """
    o, cg, *kernel = w_shape
    n, _, *outs = grad.shape
    rows, taps = prod(outs), prod(kernel)
    if cols is None:
        cols, sizes = im2col(x, kernel, stride, padding, dilation, groups)
        if tuple(sizes) != tuple(outs):  # a transposed conv's output padding: rows no output read
            crop = tuple(slice(0, os) for os in outs)
            cols = cols.reshape(n, groups, *sizes, -1)[(slice(None), slice(None), *crop)]
    cols = cols.reshape(n, groups, rows, taps * cg)
    g = grad.reshape(n, groups, o // groups, rows).transpose(1, 2, 0, 3)
    g = g.reshape(groups, o // groups, n * rows)
    mat = cols.transpose(1, 0, 2, 3).reshape(groups, n * rows, taps * cg)
    out = np.matmul(g, mat).reshape(groups, o // groups, taps, cg)
    return out.transpose(0, 1, 3, 2).reshape(o, cg, *kernel)
