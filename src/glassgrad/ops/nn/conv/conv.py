"""The convolutions ``conv1d``, ``conv2d`` and ``conv3d``.

Convolutions are fused primitives (one ``ConvolutionBackward0`` node, as in PyTorch): recording
im2col, a matmul and a reshape separately would save the (C*kh*kw, N*OH*OW) column matrix in
the graph and cost three nodes per layer. The transposed convolutions (``transpose.py``)
are the same primitive run as its input-adjoint.
"""

from __future__ import annotations

import warnings

from glassgrad.autograd.grad_mode import state
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.nn.conv import checks as C
from glassgrad.ops.nn.conv import kernels as K
from glassgrad.ops.registry import register


# -- convolution -------------------------------------------------------------------------------
def _conv_backward(ctx, grad, x, weight, cols):
    transposed, params, x_shape, w_shape = ctx._args
    if not D._is_array(grad):
        return _conv_backward_tensor(ctx, grad, x, weight)
    nexts = ctx.next_functions
    grad_x = grad_w = grad_b = None
    if nexts[0][0] is not None:
        if transposed:
            grad_x = _crop(K.conv_forward(grad, weight, *params), x.shape)
        else:
            grad_x = K.conv_input_grad(grad, weight, x_shape, *params)
    if nexts[1][0] is not None:
        if transposed:
            grad_w = K.conv_weight_grad(grad, x, w_shape, *params)
        else:
            grad_w = K.conv_weight_grad(x, grad, w_shape, *params, cols=cols)
    if nexts[2][0] is not None:
        grad_b = grad.sum(axis=(0, *range(2, grad.ndim)))
    return grad_x, grad_w, grad_b


def _crop(grad_x, shape):
    """An output padding at least the stride (allowed below the dilation) adds rows no input
    made: the transposed conv's input gradient drops them."""
    if tuple(grad_x.shape) == tuple(shape):
        return grad_x
    return grad_x[tuple(slice(0, size) for size in shape)]


def _conv_backward_tensor(ctx, grad, x, weight):
    """Under ``create_graph``: the gradients as convolutions, so they are differentiable too."""
    transposed, params, x_shape, w_shape = ctx._args
    stride, padding, dilation, groups = params
    nexts = ctx.next_functions
    grad_x = grad_w = grad_b = None
    if nexts[0][0] is not None:
        if transposed:
            grad_x = _convolution_raw(grad, weight, stride, padding, dilation, groups)
            grad_x = _crop(grad_x, x.shape)
        else:
            grad_x = _transposed_raw(grad, weight, params, x_shape)
    if nexts[1][0] is not None:
        inp, out = (grad, x) if transposed else (x, grad)
        grad_w = _weight_grad_tensor(inp, out, w_shape, params)
    if nexts[2][0] is not None:
        grad_b = grad.sum((0, *range(2, grad.ndim)))
    return grad_x, grad_w, grad_b


def _weight_grad_tensor(inp, out, w_shape, params):
    """``weight``'s gradient as convolutions: per group, ``inp`` correlated with ``out``.

    With batch and channels swapped, ``out`` acts as the kernel: strides become dilations and
    dilations strides. One convolution per group keeps the block structure of the weight.
    """
    from glassgrad.ops.shape.join import cat

    stride, padding, dilation, groups = params
    cg, og = w_shape[1], w_shape[0] // groups
    kernel = tuple(slice(0, k) for k in w_shape[2:])
    parts = []
    for group in range(groups):
        x_part = inp[:, group * cg : (group + 1) * cg].transpose(0, 1)
        g_part = out[:, group * og : (group + 1) * og].transpose(0, 1)
        part = _convolution_raw(x_part, g_part, dilation, padding, stride, 1)
        parts.append(part[(slice(None), slice(None), *kernel)].transpose(0, 1))
    return parts[0] if groups == 1 else cat(parts, 0)


def _convolution_raw(x, weight, stride, padding, dilation, groups):
    """A recorded convolution of batched tensors with tuple parameters, no checks."""
    params = (tuple(stride), tuple(padding), tuple(dilation), groups)
    out, cols = K.conv_forward(x._data, weight._data, *params, keep=True)
    args = (False, params, x._data.shape, weight._data.shape)
    return result(out, ConvolutionBackward0, (x, weight, None), (x, weight, cols), args=args)


def _transposed_raw(x, weight, params, out_full_shape):
    """A recorded transposed convolution producing ``out_full_shape``'s spatial sizes."""
    groups = params[3]
    out_shape = (x._data.shape[0], weight._data.shape[1] * groups, *out_full_shape[2:])
    out = K.conv_input_grad(x._data, weight._data, out_shape, *params)
    args = (True, params, out_shape, weight._data.shape)
    return result(out, ConvolutionBackward0, (x, weight, None), (x, weight, None), args=args)


def _conv_jvp(ctx, t_x, t_weight=None, t_bias=None):
    """Bilinear in input and weight: ``conv(tx, w) + conv(x, tw) + tb``."""
    transposed, params, x_shape, _ = ctx.args
    x, weight = ctx.inputs[0], ctx.inputs[1]

    def conv(a, b):
        if transposed:
            return _transposed_raw(a, b, params, x_shape)
        return _convolution_raw(a, b, *params)

    terms = []
    if t_x is not None:
        terms.append(conv(t_x, weight))
    if t_weight is not None:
        terms.append(conv(x, t_weight))
    if t_bias is not None:
        terms.append(t_bias.reshape(-1, *(1,) * (ctx.output.dim() - 2)))
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


ConvolutionBackward0 = node_class("ConvolutionBackward0", _conv_backward, jvp=_conv_jvp)


def _convolution(input, weight, bias, params, out_sizes=None, mkldnn=True, string_padding=False):
    """The one convolution primitive on checked, batched (N, C, *S) input.

    ``params`` is (stride, padding, dilation, groups) as tuples; ``out_sizes`` (the spatial
    sizes of the output) makes it a transposed convolution. ``mkldnn``: PyTorch's MKLDNN kernel
    may take it; ``string_padding``: the call gave ``padding='same'``/``'valid'`` (PyTorch's
    other entry point, whose dtype checks differ): both only choose PyTorch's dtype error.
    """
    transposed = out_sizes is not None
    C.check_types(input, weight, bias, transposed, params[3], mkldnn, string_padding)
    x, w = input._data, weight._data
    cols = None
    if transposed:
        x_shape = (x.shape[0], w.shape[1] * params[3], *out_sizes)
        out = K.conv_input_grad(x, w, x_shape, *params)
    else:
        keep = state.record and weight._requires_grad
        out = K.conv_forward(x, w, *params, keep=keep)
        if keep:  # the weight gradient is one product with these columns
            out, cols = out
        x_shape = x.shape
    if bias is not None:
        out += bias._data.reshape(-1, *(1,) * (x.ndim - 2))
    args = (transposed, params, x_shape, w.shape)
    saved = (input, weight, cols)
    return result(out, ConvolutionBackward0, (input, weight, bias), saved, args=args)


def _conv(input, weight, bias, stride, padding, dilation, groups, name):
    nominal = int(name[4])  # conv2d: PyTorch's parser makes ints 2-lists before any check
    stride, dilation = (
        v if isinstance(v, (list, tuple)) else (v,) * nominal for v in (stride, dilation)
    )
    C.expand("stride", stride, weight.ndim - 2)
    C.check_dims(input, weight, name)
    unbatched = input.ndim == weight.ndim - 1
    if unbatched:
        input = input.unsqueeze(0)
    dims = weight.ndim - 2
    stride, dilation = C.expand("stride", stride, dims), C.expand("dilation", dilation, dims)
    string_padding = isinstance(padding, str)
    if string_padding:
        input, padding = _string_padding(input, weight, padding, dilation, stride)
    else:
        padding = C.expand("padding", padding, dims)
    C.check_params(stride, padding, groups)
    C.check_conv(input, weight, bias, groups)
    C.check_dilation(dilation, False)
    C.check_geometry(input.shape, weight.shape, padding, dilation)
    params = (stride, padding, dilation, groups)
    out = _convolution(input, weight, bias, params, string_padding=string_padding)
    return out.squeeze(0) if unbatched else out


_UNEVEN_SAME_WARNED = []


def _warn_uneven_same():
    """PyTorch's once-per-process warning that 'same' padding copies the input here."""
    if not _UNEVEN_SAME_WARNED:
        _UNEVEN_SAME_WARNED.append(True)
        warnings.warn(
            "Using padding='same' with even kernel lengths and odd dilation may require a "
            "zero-padded copy of the input be created",
            UserWarning,
            stacklevel=5,  # the caller of conv1d/2d/3d
        )


def _string_padding(input, weight, padding, dilation, stride):
    """``'valid'`` or ``'same'`` as (input, padding); odd totals pad the input explicitly."""
    zeros = (0,) * len(stride)
    if padding == "valid":
        return input, zeros
    if padding != "same":
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    total = [d * (k - 1) for k, d in zip(weight.shape[2:], dilation, strict=True)]
    if not any(t % 2 for t in total):
        return input, tuple(t // 2 for t in total)
    _warn_uneven_same()
    from glassgrad.ops.nn.pad import pad

    widths = []
    for t in reversed(total):
        widths += [t // 2, t - t // 2]
    return pad(input, widths), zeros


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) ``input`` with (O, C/groups, k) ``weight``."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) ``input`` with (O, C/groups, kh, kw) ``weight``."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation of (N, C, D, H, W) ``input`` with (O, C/groups, kd, kh, kw)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv3d")


def _conv_samples(rng):
    x = rng.standard_normal((2, 4, 6, 6))
    return [
        ((x, rng.standard_normal((3, 4, 3, 3))), {}),
        (
            (x, rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)),
            {"groups": 2, "stride": 2, "padding": 1},
        ),
        ((x, rng.standard_normal((2, 4, 2, 3))), {"dilation": (2, 1), "stride": (1, 2)}),
        ((x, rng.standard_normal((3, 4, 2, 2)), rng.standard_normal(3)), {"padding": "same"}),
    ]


def _conv1d_samples(rng):
    x = rng.standard_normal((2, 4, 7))
    return [
        ((x, rng.standard_normal((3, 4, 3))), {"padding": 1}),
        (
            (x, rng.standard_normal((2, 2, 2)), rng.standard_normal(2)),
            {"groups": 2, "dilation": 2, "stride": 2},
        ),
    ]


def _conv3d_samples(rng):
    x = rng.standard_normal((2, 4, 4, 5, 3))
    return [
        ((x, rng.standard_normal((3, 4, 2, 3, 2))), {"padding": (1, 0, 1)}),
        (
            (x, rng.standard_normal((4, 2, 2, 2, 2)), rng.standard_normal(4)),
            {"groups": 2, "stride": (2, 1, 2), "dilation": (1, 2, 1)},
        ),
        ((x[0], rng.standard_normal((2, 4, 2, 2, 2))), {"padding": "same"}),
    ]


register("conv2d", conv2d, method=False, nin=2, samples=_conv_samples)
register("conv1d", conv1d, method=False, nin=2, samples=_conv1d_samples)
register("conv3d", conv3d, method=False, nin=2, samples=_conv3d_samples)
