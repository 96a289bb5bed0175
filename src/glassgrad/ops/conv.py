"""``linear``, ``bilinear`` and the convolutions (``conv1d``, ``conv2d``, ``conv_transpose2d``).

Convolutions are fused primitives (one ``ConvolutionBackward0`` node, as in PyTorch): recording
im2col, a matmul and a reshape separately would save the (C*kh*kw, N*OH*OW) column matrix in
the graph and cost three nodes per layer. A 1-D convolution runs as a 2-D one of height 1.
"""

from __future__ import annotations

from glassgrad.autograd.grad_mode import state
from glassgrad.autograd.node import _CLASSES
from glassgrad.ops import _dual as D
from glassgrad.ops import conv_checks as C
from glassgrad.ops import conv_kernels as K
from glassgrad.ops import nn_ops as N
from glassgrad.ops.registry import OPS, Tensor, node_class, register, result


# -- linear ------------------------------------------------------------------------------------
def _addmm_backward(ctx, grad, x, weight):
    grad_x = grad @ weight if ctx.next_functions[1][0] is not None else None
    grad_w = D.swapaxes(grad, 0, 1) @ x if ctx.next_functions[2][0] is not None else None
    grad_b = D.sum_dims(grad, (0,)) if ctx.next_functions[0][0] is not None else None
    return grad_b, grad_x, grad_w


# ``linear`` on a matrix is PyTorch's ``addmm(bias, x, weight.t())``. Until ``ops.linalg``
# provides ``addmm``, a fused node of that name stands in; it takes ``weight`` untransposed.
_LinearAddmm = (
    None if "AddmmBackward0" in _CLASSES else node_class("AddmmBackward0", _addmm_backward)
)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``."""
    if input.ndim == 2 and bias is not None:
        if "addmm" in OPS:
            return OPS["addmm"].fn(bias, input, weight.t())
        if _LinearAddmm is not None and input._data.dtype == weight._data.dtype:
            _check_linear(input, weight)
            out = input._data @ weight._data.T + bias._data
            return result(out, _LinearAddmm, (bias, input, weight), (input, weight))
    if input.ndim == 1 and bias is not None:  # PyTorch: addmm on the row, viewed back
        return linear(input.unsqueeze(0), weight, bias).reshape(-1)
    if input.ndim > 2 and bias is not None and input.is_contiguous():
        # PyTorch folds a contiguous batch into one addmm and views it back (ViewBackward0);
        # otherwise it runs matmul (UnsafeViewBackward0) and adds the bias
        flat = input.reshape(-1, input.shape[-1])
        return linear(flat, weight, bias).reshape(*input.shape[:-1], weight.shape[0])
    out = input @ weight.t()
    return out if bias is None else out + bias


def _check_linear(input, weight):
    if input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x"
            f"{input.shape[1]} and {weight.shape[1]}x{weight.shape[0]})"
        )


def bilinear(input1, input2, weight, bias=None):
    """``x1^T A x2 + b`` for each output feature (``weight``: (out, in1, in2))."""
    left = input1.reshape(-1, 1, 1, input1.shape[-1]) @ weight.unsqueeze(0)
    out = (left.squeeze(2) * input2.reshape(-1, 1, input2.shape[-1])).sum(-1)
    out = out.reshape(*input1.shape[:-1], weight.shape[0])
    return out if bias is None else out + bias


# -- convolution -------------------------------------------------------------------------------
def _conv_backward(ctx, grad, x, weight, cols):
    transposed, params, x_shape, w_shape, flat = ctx._args
    if not D._is_array(grad):
        return _conv_backward_tensor(ctx, grad, x, weight)
    g = grad.reshape(grad.shape[0], grad.shape[1], 1, -1) if flat else grad
    xa = x.reshape(x_shape) if flat else x
    wa = weight.reshape(w_shape) if flat else weight
    nexts = ctx.next_functions
    grad_x = grad_w = grad_b = None
    if nexts[0][0] is not None:
        if transposed:
            grad_x = K.conv_forward(g, wa, *params)
        else:
            grad_x = K.conv_input_grad(g, wa, x_shape, *params)
        grad_x = grad_x.reshape(x.shape)
    if nexts[1][0] is not None:
        if transposed:
            grad_w = K.conv_weight_grad(g, xa, w_shape, *params)
        else:
            grad_w = K.conv_weight_grad(xa, g, w_shape, *params, cols=cols)
        grad_w = grad_w.reshape(weight.shape)
    if nexts[2][0] is not None:
        grad_b = grad.sum(axis=(0, *range(2, grad.ndim)))
    return grad_x, grad_w, grad_b


def _conv_backward_tensor(ctx, grad, x, weight):
    """Under ``create_graph``: the gradients as convolutions, so they are differentiable too."""
    transposed, params, x_shape, w_shape, flat = ctx._args
    stride, padding, dilation, groups = params
    if flat:  # run the 1-D case as 2-D of height 1, as the forward did
        grad, x, weight = grad.unsqueeze(2), x.unsqueeze(2), weight.unsqueeze(2)
    nexts = ctx.next_functions
    grad_x = grad_w = grad_b = None
    if nexts[0][0] is not None:
        if transposed:
            grad_x = _convolution_raw(grad, weight, stride, padding, dilation, groups)
        else:
            grad_x = _transposed_raw(grad, weight, params, x_shape)
    if nexts[1][0] is not None:
        inp, out = (grad, x) if transposed else (x, grad)
        grad_w = _weight_grad_tensor(inp, out, w_shape, params)
    if nexts[2][0] is not None:
        grad_b = grad.sum((0, 2, 3))
    if flat:
        grad_x = None if grad_x is None else grad_x.squeeze(2)
        grad_w = None if grad_w is None else grad_w.squeeze(2)
    return grad_x, grad_w, grad_b


def _weight_grad_tensor(inp, out, w_shape, params):
    """``weight``'s gradient as convolutions: per group, ``inp`` correlated with ``out``.

    With batch and channels swapped, ``out`` acts as the kernel: strides become dilations and
    dilations strides. One convolution per group keeps the block structure of the weight.
    """
    from glassgrad.ops.shape_join import cat

    stride, padding, dilation, groups = params
    cg, og = w_shape[1], w_shape[0] // groups
    parts = []
    for group in range(groups):
        x_part = inp[:, group * cg : (group + 1) * cg].transpose(0, 1)
        g_part = out[:, group * og : (group + 1) * og].transpose(0, 1)
        part = _convolution_raw(x_part, g_part, dilation, padding, stride, 1)
        parts.append(part[:, :, : w_shape[2], : w_shape[3]].transpose(0, 1))
    return parts[0] if groups == 1 else cat(parts, 0)


def _convolution_raw(x, weight, stride, padding, dilation, groups):
    """A recorded 2-D convolution of 4-D tensors with 2-tuple parameters, no checks."""
    params = (tuple(stride), tuple(padding), tuple(dilation), groups)
    out, cols = K.conv_forward(x._data, weight._data, *params, keep=True)
    args = (False, params, x._data.shape, weight._data.shape, False)
    return result(out, ConvolutionBackward0, (x, weight, None), (x, weight, cols), args=args)


def _transposed_raw(x, weight, params, out_hw_shape):
    """A recorded transposed convolution producing ``out_hw_shape`` (N, C, H, W)."""
    stride, padding, dilation, groups = params
    out_shape = (x._data.shape[0], weight._data.shape[1] * groups) + tuple(out_hw_shape[2:])
    out = K.conv_input_grad(x._data, weight._data, out_shape, *params)
    args = (True, params, out_shape, weight._data.shape, False)
    return result(out, ConvolutionBackward0, (x, weight, None), (x, weight, None), args=args)


ConvolutionBackward0 = node_class("ConvolutionBackward0", _conv_backward)


def _same_padding(kernel, dilation):
    total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=False)]
    if any(t % 2 for t in total):
        return None, total
    return tuple(t // 2 for t in total), total


def _convolution(
    input,
    weight,
    bias,
    stride,
    padding,
    dilation,
    groups,
    transposed=False,
    output_padding=0,
):
    """The one convolution primitive; ``input`` is (N, C, H, W) or (N, C, L) for 1-D."""
    C.check_types(input, weight, bias, transposed)
    flat = weight.ndim == 3
    n_dims = 1 if flat else 2
    x, w = input._data, weight._data
    x4 = x[:, :, None, :] if flat else x
    w4 = w[:, :, None, :] if flat else w
    stride, dilation = _spatial(stride, n_dims, flat, 1), _spatial(dilation, n_dims, flat, 1)
    padding = _spatial(padding, n_dims, flat, 0)
    params = (stride, padding, dilation, groups)
    cols = None
    if transposed:
        extra = _spatial(output_padding, n_dims, flat, 0)
        out_shape = (x4.shape[0], w4.shape[1] * groups) + tuple(
            (x4.shape[2 + i] - 1) * stride[i]
            - 2 * padding[i]
            + dilation[i] * (w4.shape[2 + i] - 1)
            + extra[i]
            + 1
            for i in range(2)
        )
        out = K.conv_input_grad(x4, w4, out_shape, *params)
        x_shape = out_shape
    else:
        C.check_geometry(x4.shape, w4.shape, stride, padding, dilation, flat)
        keep = state.record and weight._requires_grad
        out = K.conv_forward(x4, w4, *params, keep=keep)
        if keep:  # the weight gradient is one product with these columns
            out, cols = out
        x_shape = x4.shape
    if bias is not None:
        out += bias._data.reshape(1, -1, 1, 1)
    out = out.reshape(out.shape[0], out.shape[1], -1) if flat else out
    args = (transposed, params, x_shape, w4.shape, flat)
    saved = (input, weight, cols)
    return result(out, ConvolutionBackward0, (input, weight, bias), saved, args=args)


def _spatial(value, n_dims, flat, fill):
    values = N.pair(value, n_dims)
    return (fill, values[0]) if flat else values


def _conv(input, weight, bias, stride, padding, dilation, groups, name):
    unbatched = input.ndim == weight.ndim - 1
    if unbatched:
        input = input.unsqueeze(0)
    C.check_conv(input, weight, bias, groups, name)
    if isinstance(padding, str):
        padding = _string_padding(input, weight, padding, dilation, stride)
        if isinstance(padding, Tensor):
            input, padding = padding, 0
    out = _convolution(input, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out


def _string_padding(input, weight, padding, dilation, stride):
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
    if any(s != 1 for s in N.pair(stride, weight.ndim - 2)):
        raise ValueError("padding='same' is not supported for strided convolutions")
    kernel = weight.shape[2:]
    even, total = _same_padding(kernel, N.pair(dilation, len(kernel)))
    if even is not None:
        return even
    from glassgrad.ops.resize import pad

    widths = []
    for t in reversed(total):
        widths += [t // 2, t - t // 2]
    return pad(input, widths)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) ``input`` with (O, C/groups, kh, kw) ``weight``."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv2d")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) ``input`` with (O, C/groups, k) ``weight``."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv1d")


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The adjoint of ``conv2d`` in its input: ``weight`` is (C_in, C_out/groups, kh, kw)."""
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {weight.shape[0]} channels, but got {input.shape[1]} "
            "channels instead"
        )
    out = _convolution(input, weight, bias, stride, padding, dilation, groups, True, output_padding)
    return out.squeeze(0) if unbatched else out


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


def _conv_transpose_samples(rng):
    x = rng.standard_normal((2, 4, 3, 3))
    return [
        ((x, rng.standard_normal((4, 2, 3, 3))), {"stride": 2, "padding": 1, "output_padding": 1}),
        (
            (x, rng.standard_normal((4, 1, 2, 2)), rng.standard_normal(2)),
            {"groups": 2, "dilation": 2},
        ),
    ]


register(
    "linear",
    linear,
    method=False,
    function=False,
    nin=2,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)), {}),
        ((rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4))), {}),
        ((rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)), {}),
        ((rng.standard_normal(4), rng.standard_normal((5, 4))), {}),
        ((rng.standard_normal(4), rng.standard_normal((5, 4)), rng.standard_normal(5)), {}),
    ],
)
register(
    "bilinear",
    bilinear,
    method=False,
    nin=3,
    samples=lambda rng: [
        (
            (
                rng.standard_normal((3, 4)),
                rng.standard_normal((3, 2)),
                rng.standard_normal((5, 4, 2)),
                rng.standard_normal(5),
            ),
            {},
        )
    ],
)
register("conv2d", conv2d, method=False, nin=2, samples=_conv_samples)
register("conv1d", conv1d, method=False, nin=2, samples=_conv1d_samples)
register("conv_transpose2d", conv_transpose2d, method=False, nin=2, samples=_conv_transpose_samples)
