"""``linear`` (``input @ weight.T + bias``) and ``bilinear``, with PyTorch's argument checks.

``linear`` records what PyTorch records: ``addmm`` on a matrix with a bias (a contiguous batch is
folded into one ``addmm`` and viewed back), ``matmul`` and an add otherwise.
"""

from __future__ import annotations

from glassgrad._tensor_info import _C_NAMES, _type_name
from glassgrad.ops.linalg.matmul import addmm
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``."""
    _check_linear_args(input, weight, bias)
    if input.ndim == 2 and bias is not None:  # PyTorch: addmm(bias, input, weight.t())
        return addmm(bias, input, weight.t())
    if input.ndim == 1 and bias is not None:  # PyTorch: addmm on the row, viewed back
        return linear(input.unsqueeze(0), weight, bias).reshape(-1)
    if input.ndim > 2 and bias is not None and input.is_contiguous():
        # PyTorch folds a contiguous batch into one addmm and views it back (ViewBackward0);
        # otherwise it runs matmul (UnsafeViewBackward0) and adds the bias
        flat = input.reshape(-1, input.shape[-1])
        return linear(flat, weight, bias).reshape(*input.shape[:-1], weight.shape[0])
    out = input @ weight.t()
    return out if bias is None else out + bias


def _check_linear_args(input, weight, bias):
    """PyTorch's argument parser's TypeError for a non-tensor, and its rank check."""
    for position, (name, value) in enumerate((("input", input), ("weight", weight)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"linear(): argument '{name}' (position {position}) must be Tensor, not "
                f"{_type_name(value)}"
            )
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(
            f"linear(): argument 'bias' (position 3) must be Tensor, not {_type_name(bias)}"
        )
    if not input._data.ndim or not weight._data.ndim:
        raise RuntimeError(
            "both arguments to linear need to be at least 1D, but they are "
            f"{input._data.ndim}D and {weight._data.ndim}D"
        )


def bilinear(input1, input2, weight, bias=None):
    """``x1^T A x2 + b`` for each output feature (``weight``: (out, in1, in2))."""
    _check_bilinear(input1, input2, weight, bias)
    left = input1.reshape(-1, 1, 1, input1.shape[-1]) @ weight.unsqueeze(0)
    out = (left.squeeze(2) * input2.reshape(-1, 1, input2.shape[-1])).sum(-1)
    out = out.reshape(*input1.shape[:-1], weight.shape[0])
    return out if bias is None else out + bias


def _check_bilinear(input1, input2, weight, bias):
    """PyTorch's shape checks of ``bilinear``, in its order and words."""
    a, b, w = input1.shape, input2.shape, weight.shape
    tensors = (("input1", input1), ("input2", input2), ("weight", weight), ("bias", bias))
    tensors = [(name, t) for name, t in tensors if t is not None]
    if any(t._data.dtype != input1._data.dtype for _, t in tensors):
        got = ", ".join(f"{name}: {_C_NAMES[t.dtype.name]}" for name, t in tensors)
        raise RuntimeError(f"All tensors must have the same dtype, got {got}")
    if len(a) != len(b):
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {len(a)} and {len(b)}")
    for dim, (x, y) in enumerate(zip(a[:-1], b[:-1], strict=True)):
        if x != y:
            raise RuntimeError(
                f"bilinear(): input batch dimensions do not match at dim {dim}: got {x} and {y}"
            )
    for name, size, expected in (("input1", a[-1], w[1]), ("input2", b[-1], w[2])):
        if size != expected:
            raise RuntimeError(
                f"bilinear(): {name} size does not match weight size: got {size} but expected "
                f"{expected}"
            )
    if bias is not None and bias.shape[0] != w[0]:
        raise RuntimeError(
            f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but expected "
            f"{w[0]}"
        )


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
