"""``instance_norm``, ``rms_norm`` and ``local_response_norm``: composites of ``batch_norm``,
``pow``/``mean``/``rsqrt`` and ``avg_pool2d``, written the way PyTorch composes them so the
values, running statistics and ``grad_fn`` names agree."""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.ops.nn.norm import batch_norm
from glassgrad.ops.nn.pad import pad
from glassgrad.ops.nn.pool.pool import avg_pool2d


def _repeat(tensor, times):
    return None if tensor is None else tensor.repeat(times)


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
):
    """Normalise each channel of each sample over its spatial dims."""
    shape = tuple(input.shape)
    if use_input_stats and int(np.prod(shape[2:])) == 1:
        raise ValueError(
            "Expected more than 1 spatial element when training, got input size "
            f"torch.Size({list(shape)})"
        )
    n, c = shape[0], shape[1]
    # PyTorch's trick: one batch of N * C channels, the statistics repeated per sample
    folded = input.reshape(1, n * c, *shape[2:])
    mean, var = _repeat(running_mean, n), _repeat(running_var, n)
    out = batch_norm(
        folded, mean, var, _repeat(weight, n), _repeat(bias, n), use_input_stats, momentum, eps
    )
    if use_input_stats:
        with no_grad():
            for stat, repeated in ((running_mean, mean), (running_var, var)):
                if stat is not None:
                    stat.copy_(repeated.view(n, c).mean(0))
    return out.view(*shape)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``input / sqrt(mean(input ** 2) + eps)`` over the trailing ``normalized_shape`` dims."""
    normalized = (
        tuple(normalized_shape)
        if isinstance(normalized_shape, (list, tuple))
        else (int(normalized_shape),)
    )
    shape = tuple(input.shape)
    if shape[len(shape) - len(normalized) :] != normalized or len(normalized) > len(shape):
        raise RuntimeError(
            f"Given normalized_shape={list(normalized)}, expected input with shape "
            f"[*{', '.join(str(n) for n in normalized)}], but got input of size{list(shape)}"
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(len(shape) - len(normalized), len(shape)))
    scale = input.pow(2).mean(dims, keepdim=True).add(eps).rsqrt()
    out = input.mul(scale)
    return out if weight is None else out.mul(weight)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Divide each channel by a power of the mean square over ``size`` neighbouring channels."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(
            "Expected 3D or higher dimensionality                          input "
            f"(got {dim} dimensions)"
        )
    if input.numel() == 0:
        return input
    sizes = tuple(input.shape)
    div = input.mul(input).reshape(sizes[0], 1, sizes[1], -1)
    div = pad(div, (0, 0, size // 2, (size - 1) // 2))
    # a (size, 1) window over channels: PyTorch's avg_pool3d for 4D+ inputs averages the same
    div = avg_pool2d(div, (size, 1), stride=1).squeeze(1).reshape(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div
