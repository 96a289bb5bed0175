"""One-dimensional pools and power-average pools: ``max_pool1d``, ``avg_pool1d``, the adaptive
1D pools, ``lp_pool1d`` and ``lp_pool2d``.

As in PyTorch, the 1D pools run the 2D kernels on an (N, C, 1, L) view and squeeze the extra
dim (so their ``grad_fn`` is ``SqueezeBackward1``); the LP pools are composites of ``pow``,
``avg_pool`` and ``sign``/``relu``/``abs``, again as in PyTorch.
"""

from __future__ import annotations

from glassgrad.ops.elementwise.unary import relu
from glassgrad.ops.nn.pool import pool as P


def _single(value):
    if isinstance(value, (list, tuple)):
        return int(value[0])
    return int(value)


def _check_rank(input, op):
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {op})"
        )


def _as_image(input):
    """``input`` as an (N, C, 1, L) or (C, 1, L) tensor that the 2D kernels take."""
    return input.unsqueeze(-2)


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Maximum over each window of an (N, C, L) or (C, L) input."""
    if return_indices:  # PyTorch checks this overload's input like the other 1D pools
        _check_rank(input, "max_pool1d")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{list(input.shape)}"
        )
    kernel = _single(kernel_size)
    stride = kernel if stride in (None, [], ()) else _single(stride)
    padding, dilation = _single(padding), _single(dilation)
    if kernel <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {kernel}")
    if 2 * padding > kernel:
        raise RuntimeError(
            "max_pool1d() padding should be at most half of kernel size, but got "
            f"padding={padding} and kernel_size={kernel}"
        )
    size = P._pool_size(input.shape[-1], kernel, stride, padding, dilation, ceil_mode)
    if size <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {size}")
    made = P.max_pool2d(
        _as_image(input),
        (1, kernel),
        (1, stride),
        (0, padding),
        (1, dilation),
        ceil_mode=ceil_mode,
        return_indices=return_indices,
    )
    if return_indices:
        return made[0].squeeze(-2), made[1].squeeze(-2)
    return made.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window of an (N, C, L) or (C, L) input."""
    _check_rank(input, "avg_pool1d")
    kernel = _single(kernel_size)
    stride = kernel if stride in (None, [], ()) else _single(stride)
    padding = _single(padding)
    if 2 * padding > kernel:
        raise RuntimeError(
            "pad should be at most half of effective kernel size, but got "
            f"pad={padding}, kernel_size={kernel} and dilation=1"
        )
    size = P._pool_size(input.shape[-1], kernel, stride, padding, 1, ceil_mode)
    if size <= 0:
        lead = input.shape[-2]
        raise RuntimeError(
            f"Given input size: ({lead}x1x{input.shape[-1]}). Calculated output size: "
            f"({lead}x1x{size}). Output size is too small"
        )
    out = P.avg_pool2d(
        _as_image(input), (1, kernel), (1, stride), (0, padding), ceil_mode, count_include_pad
    )
    return out.squeeze(-2)


def _output_size(output_size, op):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 1:
            raise RuntimeError(
                f"{op}() argument 'output_size' should contain one int (got {len(output_size)})"
            )
        return output_size[0]
    return output_size


def adaptive_avg_pool1d(input, output_size):
    """Mean over ``output_size`` windows that tile the last dim as evenly as possible."""
    _check_rank(input, "adaptive_avg_pool1d")
    size = _output_size(output_size, "adaptive_avg_pool1d")
    return P.adaptive_avg_pool2d(_as_image(input), (1, size)).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Maximum over ``output_size`` windows that tile the last dim as evenly as possible."""
    _check_rank(input, "adaptive_max_pool1d")
    size = _output_size(output_size, "adaptive_max_pool1d")
    out, index = P.adaptive_max_pool2d(_as_image(input), (1, size), return_indices=True)
    out, index = out.squeeze(-2), index.squeeze(-2)
    return (out, index) if return_indices else out


def _lp_finish(out, norm_type, count):
    # PyTorch's form: sign(out) * relu(|out|) keeps negative window sums of odd powers at zero
    return (out.sign() * relu(out.abs())).mul(count).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum of x ** p over each window) ** (1 / p)`` over the last dim."""
    if norm_type == float("inf"):
        return max_pool1d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool1d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, kernel_size)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum of x ** p over each window) ** (1 / p)`` over the last two dims."""
    kw, kh = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    if norm_type == float("inf"):
        return P.max_pool2d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -P.max_pool2d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = P.avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, kw * kh)
