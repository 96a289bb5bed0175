"""Normalisation: ``layer_norm``, ``batch_norm``, ``group_norm`` and ``normalize``, and the
composites ``instance_norm``, ``rms_norm`` and ``local_response_norm``.

The three norms are one fused primitive each, as in PyTorch: written as mean, subtract, square,
mean, rsqrt, multiply, the graph would hold five intermediate arrays per layer, and the fused
gradient formula is both cheaper and better conditioned. Their backward recomputes the
statistics from the saved input with array-or-tensor operations, so double backward works.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import c_order
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.forward_rules import _zeros
from glassgrad.autograd.grad_mode import no_grad
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops.nn import common as N
from glassgrad.ops.nn.pad import pad
from glassgrad.ops.nn.pool.pool import avg_pool2d
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor


def _norm_backward(ctx, grad, x, weight):
    shape, red_shape, axes, affine, eps, fixed = ctx._args
    xr = D.reshape(x, red_shape)
    if fixed is None:
        centred = xr - N.mean_dims(xr, axes)
        rstd = (N.mean_dims(centred * centred, axes) + eps) ** -0.5
    else:
        centred, rstd = xr - fixed[0], fixed[1]
    xhat = centred * rstd
    grad_w = grad_b = None
    others = tuple(i for i in range(len(shape)) if i not in affine)
    if ctx.next_functions[1][0] is not None:
        grad_w = D.reshape(D.sum_dims(grad * D.reshape(xhat, shape), others), weight.shape)
    if ctx.next_functions[2][0] is not None:
        grad_b = D.sum_dims(grad, others)
    if ctx.next_functions[0][0] is None:
        return None, grad_w, grad_b
    g = grad if weight is None else grad * D.reshape(weight, _affine_shape(shape, affine))
    gr = D.reshape(g, red_shape)
    if fixed is not None:
        return D.reshape(gr * rstd, shape), grad_w, grad_b
    gx = (gr - N.mean_dims(gr, axes) - xhat * N.mean_dims(gr * xhat, axes)) * rstd
    return D.reshape(gx, shape), grad_w, grad_b


def _affine_shape(shape, affine):
    return tuple(n if i in affine else 1 for i, n in enumerate(shape))


def _norm_jvp(ctx, t_x, t_weight=None, t_bias=None):
    """``out = xhat * w + b``; with statistics of the batch, xhat's tangent is
    ``rstd * (tc - xhat * mean(xhat * tc))`` where ``tc`` is the centred tangent."""
    shape, red_shape, axes, affine, eps, fixed = ctx.args
    x, weight = ctx.saved
    xr = x.reshape(red_shape)
    if fixed is None:
        centred = xr - xr.mean(dim=axes, keepdim=True)
        rstd = ((centred * centred).mean(dim=axes, keepdim=True) + eps).rsqrt()
    else:
        centred, rstd = xr - Tensor._from_array(fixed[0]), Tensor._from_array(fixed[1])
    xhat = centred * rstd
    view = _affine_shape(shape, affine)
    total = None
    if t_x is not None:
        tr = t_x.reshape(red_shape)
        if fixed is None:
            tc = tr - tr.mean(dim=axes, keepdim=True)
            tr = tc - xhat * (xhat * tc).mean(dim=axes, keepdim=True)
        total = (tr * rstd).reshape(shape)
        if weight is not None:
            total = total * weight.reshape(view)
    for term in (
        None if t_weight is None else xhat.reshape(shape) * t_weight.reshape(view),
        None if t_bias is None else t_bias.reshape(view),
    ):
        if term is not None:
            total = term if total is None else total + term
    return _zeros(ctx.output) + total if total is not None else _zeros(ctx.output)


NativeLayerNormBackward0 = node_class("NativeLayerNormBackward0", _norm_backward, jvp=_norm_jvp)
NativeBatchNormBackward0 = node_class("NativeBatchNormBackward0", _norm_backward, jvp=_norm_jvp)
NativeGroupNormBackward0 = node_class("NativeGroupNormBackward0", _norm_backward, jvp=_norm_jvp)


def _normalise(cls, input, weight, bias, red_shape, axes, affine, eps, fixed=None):
    """Normalise ``input`` viewed as ``red_shape`` over ``axes``, then scale and shift."""
    x = input._data
    xr = x.reshape(red_shape)
    if fixed is None:
        mean = xr.mean(axis=axes, keepdims=True)
        centred = xr - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
    else:
        mean, var = fixed
        centred = xr - mean
    rstd = 1.0 / np.sqrt(var + eps)
    out = (centred * rstd).reshape(x.shape)
    view = _affine_shape(x.shape, affine)
    if weight is not None:
        out = out * weight._data.reshape(view)
    if bias is not None:
        out = out + bias._data.reshape(view)
    args = (
        x.shape,
        red_shape,
        axes,
        affine,
        eps,
        None if fixed is None else (mean, rstd.astype(x.dtype)),
    )
    out = c_order(out.astype(x.dtype, copy=False))  # (contiguous, as PyTorch's)
    out = result(out, cls, (input, weight, bias), (input, weight), args=args)
    return out, mean, var


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift."""
    _dt.refuse_complex(input._data, "LayerNormKernelImpl")
    shape = input._data.shape
    normalized = (
        tuple(normalized_shape)
        if isinstance(normalized_shape, (list, tuple))
        else (int(normalized_shape),)
    )
    k = len(normalized)
    if not k:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t._data.shape) != normalized:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t._data.shape)} and normalized_shape = {list(normalized)}"
            )
    if tuple(shape[len(shape) - k :]) != normalized:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized)}, expected input with shape "
            f"[*, {', '.join(str(n) for n in normalized)}], but got input of size{list(shape)}"
        )
    _check_dtypes(input, (weight, bias))
    axes = tuple(range(len(shape) - k, len(shape)))
    return _normalise(NativeLayerNormBackward0, input, weight, bias, shape, axes, axes, eps)[0]


def batch_norm(
    input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Normalise each channel over the batch (training) or with the running statistics."""
    _check_batch_norm_args(running_mean, running_var, momentum)
    features = input._data.shape[1] if input._data.ndim > 1 else 0
    named = (("running_mean", running_mean), ("running_var", running_var))
    for name, t in (*named, ("weight", weight), ("bias", bias)):
        if t is not None and t._data.size != features:
            raise RuntimeError(f"{name} should contain {features} elements not {t._data.size}")
    _check_dtypes(input, (weight, bias, running_mean, running_var))
    shape = input._data.shape
    axes = (0, *range(2, len(shape)))
    count = int(np.prod([shape[a] for a in axes]))
    if training and count == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {input.shape}"
        )
    view = _affine_shape(shape, (1,))
    if not training:
        fixed = (running_mean._data.reshape(view), running_var._data.reshape(view))
        return _normalise(
            NativeBatchNormBackward0, input, weight, bias, shape, axes, (1,), eps, fixed
        )[0]
    out, mean, var = _normalise(
        NativeBatchNormBackward0, input, weight, bias, shape, axes, (1,), eps
    )
    if running_mean is not None:
        _blend(running_mean, mean.reshape(-1), momentum)
    if running_var is not None:
        _blend(running_var, var.reshape(-1) * (count / max(count - 1, 1)), momentum)
    return out


def _check_batch_norm_args(running_mean, running_var, momentum):
    if momentum is None:  # nn.BatchNorm turns momentum=None into a cumulative average factor
        raise TypeError(
            "batch_norm(): argument 'momentum' (position 7) must be float, not NoneType"
        )
    N.refuse_grad(
        "native_batch_norm", (("running_mean", running_mean), ("running_var", running_var))
    )


def _check_dtypes(input, params):
    """PyTorch's CPU norms: a first parameter whose dtype is not the input's makes a "mixed"
    call, allowed only for float32 parameters of a half or bfloat16 input; otherwise each
    parameter must have the input's dtype (the kernel's words)."""
    given = [param for param in params if param is not None]
    if given and given[0].dtype != input.dtype:
        if any(param.dtype.name != "float32" for param in given):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if input.dtype.name not in ("float16", "bfloat16"):
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        return
    for param in given:
        if param.dtype != input.dtype:
            raise RuntimeError(
                f"expected scalar type {_C_TYPES[input.dtype.name]} but found "
                f"{_C_TYPES[param.dtype.name]}"
            )


def _blend(stat, batch, momentum):
    """``stat = (1 - momentum) * stat + momentum * batch``, in place (a new version)."""
    data = stat._data
    data[...] = (1 - momentum) * data + momentum * batch.astype(data.dtype)
    if stat._vc is not None:
        stat._vc[0] += 1


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of ``C // num_groups`` channels per sample, then scale and shift."""
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {len(shape)}"
        )
    if shape[1] % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, "
            f"but got input of shape {list(shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t._data.ndim != 1 or t._data.size != shape[1]):
            # PyTorch's bias message shows the weight's shape (or [0] without one)
            shown = list(weight._data.shape) if weight is not None else [0]
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {shown} and input of shape {list(shape)}"
            )
    _check_dtypes(input, (weight, bias))
    red_shape = (shape[0], num_groups, int(np.prod(shape[1:])) // num_groups)
    return _normalise(NativeGroupNormBackward0, input, weight, bias, red_shape, (2,), (1,), eps)[0]


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``)."""
    # as PyTorch: the norm's gradient is 0 at a zero vector, so zero rows get finite gradients
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)


# -- composites: instance, RMS and local response norms --------------------------------------------
# written the way PyTorch composes them (``batch_norm``, ``pow``/``mean``/``rsqrt``, ``avg_pool2d``)
# so the values, running statistics and ``grad_fn`` names agree
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


def _norm_samples(rng):
    x = rng.standard_normal((2, 3, 4))
    return [
        ((x, (4,)), {}),
        ((x, (3, 4), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {}),
    ]


# their means and variances are NumPy's Python-level reductions (see backend.quiet)
layer_norm, batch_norm, group_norm = (quiet(f) for f in (layer_norm, batch_norm, group_norm))
register("layer_norm", layer_norm, method=False, samples=_norm_samples)
register(
    "batch_norm",
    batch_norm,
    method=False,
    # running statistics go in as keyword arguments: the tests make positional float arrays
    # require grad, which batch_norm refuses for them; each call gets fresh copies
    samples=lambda rng: [
        (
            (
                rng.standard_normal((4, 3, 2)),
                None,
                None,
                rng.standard_normal(3),
                rng.standard_normal(3),
            ),
            {"training": True},
        ),
        (
            (rng.standard_normal((4, 3)),),
            {"running_mean": np.zeros(3), "running_var": np.ones(3), "training": True},
        ),
        (
            (rng.standard_normal((4, 3)),),
            {"running_mean": rng.standard_normal(3), "running_var": rng.uniform(0.5, 2, 3)},
        ),
    ],
)
register(
    "group_norm",
    group_norm,
    method=False,
    samples=lambda rng: [
        ((rng.standard_normal((2, 4, 3)), 2, rng.standard_normal(4), rng.standard_normal(4)), {})
    ],
)
register(
    "normalize",
    normalize,
    method=False,
    function=False,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)),), {}),
        ((rng.standard_normal((3, 4)),), {"p": 1, "dim": 0}),
    ],
    out={"dtype": "cast", "grad_name": "div"},  # PyTorch's normalize divides into out
)
