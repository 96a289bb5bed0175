"""``nn.init``: in-place weight initialisation, drawn from glassgrad's own random generator.

Every function fills its tensor in place without recording a graph (as PyTorch does under
``no_grad``) and returns it. Distributions match PyTorch's; the random streams do not.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from glassgrad.creation import _rng

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "eye_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "trunc_normal_",
    "orthogonal_",
    "dirac_",
    "sparse_",
]

_LINEAR = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def _fill(tensor, values):
    """Write ``values`` into ``tensor``'s storage in place and bump its version, as ``copy_``."""
    data = tensor._data
    data[...] = np.asarray(values, dtype=data.dtype)
    if tensor._vc is not None:
        tensor._vc[0] += 1
    return tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (``relu`` -> sqrt(2), ``tanh`` -> 5/3, ...)."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = 1
    for size in tensor.shape[2:]:
        receptive *= size
    return tensor.size(1) * receptive, tensor.size(0) * receptive


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill ``tensor`` with values drawn from U(a, b)."""
    # (the tensor's dtype decides how many bits each draw takes, as in PyTorch's kernel)
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape, dtype=tensor._data.dtype))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill ``tensor`` with values drawn from N(mean, std^2)."""
    values = _rng(generator).normal(mean, std, tensor.shape, dtype=tensor._data.dtype)
    return _fill(tensor, values)


def trunc_normal_(
    tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None
):
    """Fill ``tensor`` from N(mean, std^2) truncated to [a, b], by PyTorch's rejection scheme
    (normal draws where most of the mass is inside, uniform ones otherwise), so a seed gives
    PyTorch's values."""

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    rng, kind, shape = _rng(generator), tensor._data.dtype, tensor.shape
    if norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std) > 0.3:
        low, high = kind.type(a), kind.type(b)
        values = rng.normal(mean, std, shape, dtype=kind).astype(kind)
        while True:  # each round redraws a whole tensor and keeps what it needs, as PyTorch
            outside = (values < low) | (values > high)
            if not outside.any():
                return _fill(tensor, values)
            values = np.where(
                outside, rng.normal(mean, std, shape, dtype=kind).astype(kind), values
            )
    log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2

    def draw():
        candidates = rng.uniform(a, b, shape, dtype=kind).astype(kind)
        log_pdf = ((candidates - kind.type(mean)) / kind.type(std)) ** 2 * kind.type(-0.5)
        accept = rng.uniform(0.0, 1.0, shape, dtype=kind).astype(kind)
        return candidates, np.log(accept) > log_pdf - kind.type(log_peak)

    values, pending = draw()
    while pending.any():
        candidates, rejected = draw()
        values = np.where(pending, candidates, values)
        pending = np.where(pending, rejected, pending)
    return _fill(tensor, values)


def constant_(tensor, val: float):
    """Fill ``tensor`` with ``val``."""
    return _fill(tensor, val)


def ones_(tensor):
    """Fill ``tensor`` with ones."""
    return _fill(tensor, 1)


def zeros_(tensor):
    """Fill ``tensor`` with zeros."""
    return _fill(tensor, 0)


def eye_(tensor):
    """Fill the 2-D ``tensor`` with the identity matrix."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
):
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
):
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain: float = 1, generator=None):
    """Fill ``tensor`` (2-D or more, flattened past dim 0) with a (semi-)orthogonal matrix."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols), dtype=tensor._data.dtype)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # The sign fix makes Q uniformly distributed (Haar measure), as PyTorch does.
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def dirac_(tensor, groups: int = 1):
    """Fill a 3-, 4- or 5-d convolution weight with the Dirac delta (identity per group)."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    values = np.zeros(sizes)
    centre = tuple(size // 2 for size in sizes[2:])
    for group in range(groups):
        for channel in range(min(per_group, sizes[1])):
            values[(group * per_group + channel, channel, *centre)] = 1
    return _fill(tensor, values)


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """Fill a 2-d ``tensor`` from N(0, std^2), then zero ``ceil(sparsity * rows)`` per column."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    rng = _rng(generator)
    values = rng.normal(0.0, std, (rows, cols))
    zeros = math.ceil(sparsity * rows)
    for column in range(cols):
        values[rng.permutation(rows)[:zeros], column] = 0
    return _fill(tensor, values)


# PyTorch's private helpers that libraries call directly (torch_geometric, timm)
def _no_grad_uniform_(tensor, a: float, b: float, generator=None):
    return uniform_(tensor, a, b, generator)


def _no_grad_normal_(tensor, mean: float, std: float, generator=None):
    return normal_(tensor, mean, std, generator)


def _no_grad_trunc_normal_(tensor, mean: float, std: float, a: float, b: float, generator=None):
    return trunc_normal_(tensor, mean, std, a, b, generator)


def _no_grad_fill_(tensor, val: float):
    return constant_(tensor, val)


def _no_grad_zero_(tensor):
    return zeros_(tensor)
