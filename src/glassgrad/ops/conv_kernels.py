"""NumPy kernels for 2-D convolution: im2col by stride tricks plus one matmul per group.

The three functions are the convolution and its two adjoints. ``conv_transpose2d`` is the
input-adjoint run forward, so one set of kernels serves both ops and all their gradients. No
Python loop visits a pixel: ``im2col`` is a strided view copied once, and ``col2im`` loops over
the ``kh * kw`` kernel offsets only.
"""

from __future__ import annotations

import numpy as np

_as_strided = np.lib.stride_tricks.as_strided


def out_size(size, kernel, stride, padding, dilation):
    """The output length of a convolution along one dimension."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _pad(x, padding):
    ph, pw = padding
    if not ph and not pw:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def im2col(x, kernel, stride, padding, dilation):
    """``x`` (N, C, H, W) as a view (N, C, kh, kw, OH, OW) of its receptive fields."""
    xp = _pad(x, padding)
    n, c, h, w = xp.shape
    kh, kw = kernel
    oh = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    s = xp.strides
    return _as_strided(
        xp,
        (n, c, kh, kw, oh, ow),
        (s[0], s[1], s[2] * dilation[0], s[3] * dilation[1], s[2] * stride[0], s[3] * stride[1]),
        writeable=False,
    )


def conv_forward(x, weight, stride, padding, dilation, groups):
    """Cross-correlation of ``x`` (N, C, H, W) with ``weight`` (O, C/g, kh, kw)."""
    o, cg, kh, kw = weight.shape
    cols = im2col(x, (kh, kw), stride, padding, dilation)
    n, c, _, _, oh, ow = cols.shape
    if groups == 1:
        # one (O, C*kh*kw) x (C*kh*kw, N*OH*OW) product; the reshape makes the single copy
        mat = cols.transpose(1, 2, 3, 0, 4, 5).reshape(c * kh * kw, n * oh * ow)
        out = weight.reshape(o, -1) @ mat
        return out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
    cols = cols.reshape(n, groups, cg, kh, kw, oh, ow).transpose(1, 2, 3, 4, 0, 5, 6)
    mat = cols.reshape(groups, cg * kh * kw, n * oh * ow)
    out = weight.reshape(groups, o // groups, -1) @ mat
    return out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)


def conv_input_grad(grad, weight, x_shape, stride, padding, dilation, groups):
    """The adjoint of ``conv_forward`` in ``x``: ``grad`` (N, O, OH, OW) -> (N, C, H, W)."""
    o, cg, kh, kw = weight.shape
    n, _, oh, ow = grad.shape
    g = grad.transpose(1, 0, 2, 3).reshape(groups, o // groups, n * oh * ow)
    # kernel offsets outermost, so that each offset's block of columns is contiguous below
    w = weight.reshape(groups, o // groups, cg, kh * kw).transpose(0, 3, 2, 1)
    w = w.reshape(groups, kh * kw * cg, o // groups)
    cols = (w @ g).reshape(groups, kh, kw, cg, n, oh, ow)
    ph, pw = padding
    c, h, wd = x_shape[1], x_shape[2], x_shape[3]
    out = np.zeros((c, n, h + 2 * ph, wd + 2 * pw), dtype=grad.dtype)
    sh, sw = stride
    for i in range(kh):
        top = i * dilation[0]
        for j in range(kw):
            left = j * dilation[1]
            out[:, :, top : top + sh * (oh - 1) + 1 : sh, left : left + sw * (ow - 1) + 1 : sw] += (
                cols[:, i, j].reshape(groups * cg, n, oh, ow)
            )
    return out[:, :, ph : ph + h, pw : pw + wd].transpose(1, 0, 2, 3)


def conv_weight_grad(x, grad, w_shape, stride, padding, dilation, groups):
    """The adjoint of ``conv_forward`` in ``weight``: (N, O, OH, OW) -> (O, C/g, kh, kw)."""
    o, cg, kh, kw = w_shape
    cols = im2col(x, (kh, kw), stride, padding, dilation)
    n, c, _, _, oh, ow = cols.shape
    cols = cols[..., : grad.shape[2], : grad.shape[3]]
    oh, ow = grad.shape[2], grad.shape[3]
    mat = cols.reshape(n, groups, cg, kh, kw, oh, ow).transpose(1, 0, 5, 6, 2, 3, 4)
    mat = mat.reshape(groups, n * oh * ow, cg * kh * kw)
    g = grad.transpose(1, 0, 2, 3).reshape(groups, o // groups, n * oh * ow)
    return (g @ mat).reshape(o, cg, kh, kw)
