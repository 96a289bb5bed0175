"""``max_unpool1d/2d/3d``: put each value back at the position its max pool's indices name,
zeros elsewhere (the 1-D form runs the 2-D kernel on an (N, C, L, 1) view, as PyTorch's does).

Given the indices the op is linear in its input: it and its adjoint (gathering the gradient at
the indices) are recorded as a ``linear_pair``, so double backward is exact.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad._batched import zeros_over
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register


def _scatter(x, args):
    index, size, batched = args
    if not batched:
        return _scatter(x[None], (index, size, True))[0]
    n, c = x.shape[:2]
    out = zeros_over((n, c, math.prod(size)), x.dtype, x, index)  # (vmap: a batch's buffer)
    key = (np.arange(n)[:, None, None], np.arange(c)[None, :, None], index.reshape(n, c, -1))
    out[key] = x.reshape(n, c, -1)
    return out.reshape(n, c, *size)


def _gather(grad, args):
    index, size, batched = args
    if not batched:
        return _gather(grad[None], (index, size, True))[0]
    n, c = grad.shape[:2]
    flat = grad.reshape(n, c, -1)
    return np.take_along_axis(flat, index.reshape(n, c, -1), axis=-1).reshape(index.shape)


_UNPOOL = {
    dims: N.linear_pair(
        f"MaxUnpool{dims}DBackward0", f"MaxUnpool{dims}DBackwardBackward0", _scatter, _gather
    )
    for dims in (2, 3)
}


def _as_list(value, n):
    if isinstance(value, (list, tuple)):
        values = [int(v) for v in value]
        return values * n if len(values) == 1 else values
    return [int(value)] * n


def _output_size(input, kernel, stride, padding, output_size):
    """PyTorch's ``_unpool_output_size``: the default size, or ``output_size`` checked."""
    n = len(kernel)
    shape = tuple(input.shape)
    default = [(shape[-n + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(n)]
    if output_size is None:
        sizes = default
    else:
        if len(output_size) == n + 2:
            output_size = output_size[2:]
        if len(output_size) != n:
            raise ValueError(
                f"output_size should be a sequence containing {n} or {n + 2} elements, but it "
                f"has a length of '{len(output_size)}'"
            )
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < output_size[d] < high:
                raise ValueError(
                    f'invalid output_size "{output_size}" (dim {d} must be between {low} and '
                    f"{high})"
                )
        sizes = output_size
    for d in range(n):
        if sizes[d] < 0:
            raise ValueError(
                "max_unpooling: output_size must contain non-negative spatial dimensions, but "
                f"got output_size[{d}]={sizes[d]}"
            )
    return [int(s) for s in sizes]


_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int32": "Int"}


def _unpool(input, indices, size, dims):
    """PyTorch's checks (in its order), then the scatter."""
    if indices.dtype.name != "int64":
        name = _DTYPE_NAMES.get(indices.dtype.name, indices.dtype.name.capitalize())
        raise RuntimeError(f"elements in indices should be type int64 but got: {name}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            "Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"Input to max_unpooling{dims}d should be a {dims + 1}d or {dims + 2}d Tensor, but "
            f"got a tensor with {input.ndim} dimensions."
        )
    shape = tuple(input.shape)
    for d in range(input.ndim - dims - 1, input.ndim):
        if shape[d] == 0:
            raise RuntimeError(
                f"max_unpooling{dims}d_forward_out_cpu(): Expected input to have non-zero size "
                f"for non-batch dimensions, but got {list(shape)} with dimension {d} being empty."
            )
    if input._data.dtype.kind in "iub":
        name = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char"}
        label = name.get(input._data.dtype.name, input._data.dtype.name.capitalize())
        raise NotImplementedError(f"\"max_unpool{dims}d\" not implemented for '{label}'")
    index = indices._data
    bad = (index < 0) | (index >= math.prod(size))
    if bad.any():  # PyTorch names the last invalid index it meets
        raise RuntimeError(
            f"Found an invalid max index: {index.reshape(-1)[np.flatnonzero(bad)[-1]]} "
            f"(output volumes are of size {'x'.join(str(s) for s in size)})"
        )
    batched = input.ndim == dims + 2
    return _UNPOOL[dims](input, (index if batched else index[None], tuple(size), batched))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool1d``: each value at its index, zeros elsewhere."""
    kernel = _as_list(kernel_size, 1)
    stride = kernel if stride is None else _as_list(stride, 1)
    size = _output_size(input, kernel, stride, _as_list(padding, 1), output_size)
    return _unpool(input.unsqueeze(-1), indices.unsqueeze(-1), [*size, 1], 2).squeeze(-1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool2d``: each value at its index, zeros elsewhere."""
    kernel = _as_list(kernel_size, 2)
    stride = kernel if stride is None else _as_list(stride, 2)
    size = _output_size(input, kernel, stride, _as_list(padding, 2), output_size)
    return _unpool(input, indices, size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool3d``: each value at its index, zeros elsewhere."""
    kernel = _as_list(kernel_size, 3)
    stride = kernel if stride is None else _as_list(stride, 3)
    size = _output_size(input, kernel, stride, _as_list(padding, 3), output_size)
    return _unpool(input, indices, size, 3)


def _pooled(rng, shape, dims):
    """A max pool's output and indices (distinct positions, so the op is well defined)."""
    size = math.prod(shape[2:]) * 2**dims
    index = np.stack(
        [rng.permutation(size)[: math.prod(shape[2:])] for _ in range(shape[0] * shape[1])]
    )
    return rng.standard_normal(shape), index.reshape(shape).astype(np.int64)


register(
    "max_unpool1d",
    max_unpool1d,
    method=False,
    function=False,
    samples=lambda rng: [((*_pooled(rng, (2, 3, 4), 1), 2), {})],
)
register(
    "max_unpool2d",
    max_unpool2d,
    method=False,
    function=False,
    samples=lambda rng: [((*_pooled(rng, (2, 3, 2, 3), 2), 2), {})],
)
register(
    "max_unpool3d",
    max_unpool3d,
    method=False,
    function=False,
    samples=lambda rng: [((*_pooled(rng, (1, 2, 2, 2, 1), 3), 2), {})],
)
