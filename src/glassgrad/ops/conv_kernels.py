"""NumPy kernels for 2-D convolution: channels-last im2col plus one matmul per group.

The three functions are the convolution and its two adjoints. ``conv_transpose2d`` is the
input-adjoint run forward, so one set of kernels serves both ops and all their gradients. No
Python loop visits a pixel: ``im2col`` is a strided view copied once, and ``col2im`` loops over
the ``kh * kw`` kernel offsets only.

Why channels-last: the columns are gathered from an (N, H, W, C) copy of the input, where each
kernel offset reads runs of ``C`` contiguous values instead of runs of a few pixels; the columns
come out as (N, G, OH*OW, kh*kw*C/G), whose batched product with the weight lands directly in
(N, O, OH*OW), the NCHW output, without a transposing copy. The forward keeps the columns so that
the weight gradient is one product with them.
"""

from __future__ import annotations

import numpy as np

_as_strided = np.lib.stride_tricks.as_strided


def out_size(size, kernel, stride, padding, dilation):
    """The output length of a convolution along one dimension."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _channels_last(x, padding):
    """``x`` (N, C, H, W) as a zero-padded, contiguous (N, H + 2ph, W + 2pw, C) array."""
    n, c, h, w = x.shape
    ph, pw = padding
    out = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    out[:, ph : ph + h, pw : pw + w] = x.transpose(0, 2, 3, 1)
    return out


def im2col(x, kernel, stride, padding, dilation, groups):
    """The receptive fields of ``x`` (N, C, H, W) as (N, G, OH*OW, kh*kw*C/G) and (OH, OW)."""
    xp = _channels_last(x, padding)
    n, h, w, c = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    s = xp.strides
    view = _as_strided(
        xp,
        (n, oh, ow, kh, kw, c),
        (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]),
        writeable=False,
    )
    if groups == 1:  # the reshape is the one copy
        return view.reshape(n, 1, oh * ow, kh * kw * c), (oh, ow)
    view = view.reshape(n, oh, ow, kh, kw, groups, c // groups).transpose(0, 5, 1, 2, 3, 4, 6)
    return view.reshape(n, groups, oh * ow, kh * kw * (c // groups)), (oh, ow)


def _weight_matrix(weight, groups):
    """(O, C/G, kh, kw) as (G, O/G, kh*kw*C/G), matching the column order of ``im2col``."""
    o, cg, kh, kw = weight.shape
    return (
        weight.reshape(groups, o // groups, cg, kh * kw)
        .transpose(0, 1, 3, 2)
        .reshape(groups, o // groups, kh * kw * cg)
    )


def conv_forward(x, weight, stride, padding, dilation, groups, keep=False):
    """Cross-correlation of ``x`` (N, C, H, W) with ``weight`` (O, C/g, kh, kw).

    With ``keep``, returns ``(out, cols)``: the columns for ``conv_weight_grad``.
    """
    o, _, kh, kw = weight.shape
    cols, (oh, ow) = im2col(x, (kh, kw), stride, padding, dilation, groups)
    out = np.matmul(_weight_matrix(weight, groups), cols.swapaxes(2, 3))
    out = out.reshape(x.shape[0], o, oh, ow)
    return (out, cols) if keep else out


def conv_input_grad(grad, weight, x_shape, stride, padding, dilation, groups):
    """The adjoint of ``conv_forward`` in ``x``: ``grad`` (N, O, OH, OW) -> (N, C, H, W)."""
    o, cg, kh, kw = weight.shape
    n, _, oh, ow = grad.shape
    g = grad.reshape(n, groups, o // groups, oh * ow).swapaxes(2, 3)
    cols = np.matmul(g, _weight_matrix(weight, groups))  # (N, G, OH*OW, kh*kw*C/G)
    cols = cols.reshape(n, groups, oh, ow, kh, kw, cg)
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    c, h, w = x_shape[1], x_shape[2], x_shape[3]
    out = np.zeros((n, h + 2 * ph, w + 2 * pw, groups, cg), dtype=grad.dtype)
    for i in range(kh):
        top = i * dh
        for j in range(kw):
            left = j * dw
            out[:, top : top + sh * (oh - 1) + 1 : sh, left : left + sw * (ow - 1) + 1 : sw] += (
                cols[:, :, :, :, i, j].transpose(0, 2, 3, 1, 4)
            )
    out = out[:, ph : ph + h, pw : pw + w].reshape(n, h, w, c)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def conv_weight_grad(x, grad, w_shape, stride, padding, dilation, groups, cols=None):
    """The adjoint of ``conv_forward`` in ``weight``: (N, O, OH, OW) -> (O, C/g, kh, kw).

    ``cols`` are ``x``'s columns if the forward kept them (``x`` is then not read).
    """
    o, cg, kh, kw = w_shape
    n, _, oh, ow = grad.shape
    if cols is None:
        cols, (ch, cw) = im2col(x, (kh, kw), stride, padding, dilation, groups)
        if (ch, cw) != (oh, ow):  # a transposed conv's output padding: rows no output read
            cols = cols.reshape(n, groups, ch, cw, -1)[:, :, :oh, :ow]
    cols = cols.reshape(n, groups, oh * ow, kh * kw * cg)
    g = grad.reshape(n, groups, o // groups, oh * ow).transpose(1, 2, 0, 3)
    g = g.reshape(groups, o // groups, n * oh * ow)
    mat = cols.transpose(1, 0, 2, 3).reshape(groups, n * oh * ow, kh * kw * cg)
    out = np.matmul(g, mat).reshape(groups, o // groups, kh * kw, cg)
    return out.transpose(0, 1, 3, 2).reshape(o, cg, kh, kw)
