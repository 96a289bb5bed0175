"""``unfold`` (im2col: sliding blocks of an image as columns) and ``fold`` (col2im: columns
summed back into an image), the ops behind ``nn.Unfold`` and ``nn.Fold``.

Each is the other's adjoint, so both are recorded as one ``linear_pair`` (``Im2ColBackward0`` and
``Col2ImBackward0``, as PyTorch names them): double backward needs no further rule. The blocks are
a strided view of the padded image; putting them back loops over the kernel offsets only.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import as_strided as _as_strided  # (vmap: a batch stays one)
from glassgrad._batched import zeros_over
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register


def _blocks(size, kernel, dilation, padding, stride):
    # C's division, which rounds toward zero, as PyTorch's shape check computes it
    return int((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1


def _im2col(x, args):
    if x.ndim == 3:
        return _im2col(x[None], args)[0]
    kernel, dilation, padding, stride, blocks, _ = args
    n, c = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    s = xp.strides
    view = _as_strided(
        xp,
        (n, c, kernel[0], kernel[1], blocks[0], blocks[1]),
        (s[0], s[1], s[2] * dilation[0], s[3] * dilation[1], s[2] * stride[0], s[3] * stride[1]),
        writeable=False,
    )
    return view.reshape(n, c * kernel[0] * kernel[1], blocks[0] * blocks[1])


def _col2im(cols, args):
    if cols.ndim == 2:
        return _col2im(cols[None], args)[0]
    kernel, dilation, padding, stride, blocks, size = args
    n = cols.shape[0]
    c = cols.shape[1] // (kernel[0] * kernel[1])
    view = cols.reshape(n, c, kernel[0], kernel[1], blocks[0], blocks[1])
    # room for every block, even those that reach past the padded image (PyTorch drops them)
    full = [
        max(
            size[i] + 2 * padding[i],
            (blocks[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1,
        )
        for i in range(2)
    ]
    out = zeros_over((n, c, *full), cols.dtype, cols)  # (vmap: batched columns)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            top, left = i * dilation[0], j * dilation[1]
            rows = slice(top, top + stride[0] * (blocks[0] - 1) + 1, stride[0])
            columns = slice(left, left + stride[1] * (blocks[1] - 1) + 1, stride[1])
            out[:, :, rows, columns] += view[:, :, i, j]
    return out[:, :, padding[0] : padding[0] + size[0], padding[1] : padding[1] + size[1]]


_unfold = N.linear_pair("Im2ColBackward0", "Col2ImBackward0", _im2col, _col2im)
_fold = _unfold.adjoint


def _two(value, name):
    values = tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value),) * 2
    if len(values) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(values)}")
    return values


def _check_positive(values, text, first, second):
    if min(values) <= 0:
        raise RuntimeError(
            f"{text} should be greater than zero, but got {first}: {values[0]} "
            f"{second}: {values[1]}"
        )


def _check_padding(padding):
    if min(padding) < 0:
        raise RuntimeError(
            "padding should be non-negative, but got pad_height: "
            f"{padding[0]} pad_width: {padding[1]}"
        )


def _check_dtype(input, kernel_name):
    """PyTorch's kernels take floating, complex and bool data, not integers."""
    if input._data.dtype.kind not in "iu":
        return
    label = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte"}
    name = label.get(input._data.dtype.name, input._data.dtype.name)
    raise NotImplementedError(f"\"{kernel_name}\" not implemented for '{name}'")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding ``kernel_size`` blocks of an (N, C, H, W) image as (N, C*kh*kw, L) columns."""
    kernel = _two(kernel_size, "kernel_size")
    dilation, padding, stride = (
        _two(dilation, "dilation"),
        _two(padding, "padding"),
        _two(stride, "stride"),
    )
    _check_positive(kernel, "kernel size", "kernel_height", "kernel_width")
    _check_positive(dilation, "dilation", "dilation_height", "dilation_width")
    _check_padding(padding)
    _check_positive(stride, "stride", "stride_height", "stride_width")
    shape = tuple(input.shape)
    if len(shape) < 3:  # PyTorch reads the image's height first
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(len(shape), 1)}, "
            f"{max(len(shape), 1) - 1}], but got {max(len(shape), 1)})"
        )
    if len(shape) > 4 or 0 in shape[-3:]:
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(shape)}"
        )
    size = shape[-2:]
    blocks = tuple(
        _blocks(size[i], kernel[i], dilation[i], padding[i], stride[i]) for i in range(2)
    )
    if min(blocks) < 1:
        raise RuntimeError(
            f"Given input with spatial size {size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, calculated shape of the array of sliding blocks as {blocks}, "
            "but its components must be at least one."
        )
    _check_dtype(input, "im2col_out_cpu")
    return _unfold(input, (kernel, dilation, padding, stride, blocks, size))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C*kh*kw, L) columns summed back into an (N, C, ``output_size``) image."""
    size = _two(output_size, "output_size")
    kernel = _two(kernel_size, "kernel_size")
    dilation, padding, stride = (
        _two(dilation, "dilation"),
        _two(padding, "padding"),
        _two(stride, "stride"),
    )
    _check_positive(kernel, "kernel size", "kernel_height", "kernel_width")
    _check_positive(stride, "stride", "stride_height", "stride_width")
    _check_positive(dilation, "dilation", "dilation_height", "dilation_width")
    _check_padding(padding)
    shape = tuple(input.shape)
    if len(shape) not in (2, 3) or 0 in shape[-2:]:
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
            f"non-zero dimensions for input, but got: {list(shape)}"
        )
    if shape[-2] % (kernel[0] * kernel[1]):
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={shape[-2]} and kernel_size={kernel}."
        )
    blocks = tuple(
        _blocks(size[i], kernel[i], dilation[i], padding[i], stride[i]) for i in range(2)
    )
    if blocks[0] * blocks[1] != shape[-1] or min(blocks) < 1:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride}, expected size of input's dimension 2 to match "
            f"the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={shape[-1]}."
        )
    _check_dtype(input, "col2im_out_cpu")
    return _fold(input, (kernel, dilation, padding, stride, blocks, size))


register(
    "im2col",
    unfold,
    method=False,
    function=False,
    samples=lambda rng: [
        ((rng.standard_normal((2, 3, 5, 6)), 2), {}),
        ((rng.standard_normal((3, 5, 6)), (2, 3)), {"dilation": (2, 1), "padding": 1, "stride": 2}),
    ],
)
register(
    "col2im",
    fold,
    method=False,
    function=False,
    samples=lambda rng: [
        ((rng.standard_normal((2, 12, 16)), (5, 5), 2), {}),
        (
            (rng.standard_normal((6, 6)), (4, 5), (2, 3)),
            {"dilation": (1, 2), "padding": 1, "stride": 2},
        ),
    ],
)
