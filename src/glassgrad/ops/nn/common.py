"""Shared pieces of the neural-network op families (``activation``, ``loss``, ``conv``, ``pool``,
``norm``): functions that work on arrays and tensors alike, loss reduction, and linear ops whose
backward is again a linear op (so double backward needs no extra rule).
"""

from __future__ import annotations

import sys

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.grad_mode import state
from glassgrad.autograd.node import _CLASSES, node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import OPS
from glassgrad.tensor import Tensor

_ndarray = np.ndarray


def arr(x):
    """The array behind ``x`` (a tensor or already an array)."""
    return x._data if isinstance(x, Tensor) else x


_KERNELS = {"gelu": "GeluKernelImpl", "logsigmoid": "log_sigmoid_cpu"}  # PyTorch's kernel names


def float_data(input):
    """``input``'s array, computed in the default float dtype if it is not floating point."""
    data = input._data
    if data.dtype.kind == "c":  # the activations have no complex kernels (PyTorch's error)
        name = sys._getframe(1).f_code.co_name.strip("_")
        if name == "hardtanh":
            raise NotImplementedError("clamp is not supported for complex types")
        _dt.refuse_complex(data, _KERNELS.get(name, f"{name}_cpu"))
    return data if _floating(data) else data.astype(_dt.get_default_dtype().np)


def np_sigmoid(x):
    # exp of a large negative input would overflow: use the form that never does
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def np_softplus(x):
    """``log(1 + exp(x))`` without overflow for large ``x``."""
    return np.logaddexp(np.zeros((), x.dtype), x)


def sigmoid(x):
    """Sigmoid of an array or a tensor."""
    return np_sigmoid(x) if D._is_array(x) else x.sigmoid()


def tanh(x):
    """Tanh of an array or a tensor."""
    return np.tanh(x) if D._is_array(x) else x.tanh()


def softplus(x):
    """``log(1 + exp(x))`` of an array or a tensor, stable for large inputs."""
    if D._is_array(x):
        return np_softplus(x)
    return OPS["softplus"].fn(x)


def erf(x):
    """The error function of an array or a tensor."""
    if D._is_array(x):
        from glassgrad.ops.elementwise.unary import _erf

        return _erf(x)
    return OPS["erf"].fn(x)


# erf(z) = z * P(z*z) / Q(z*z) on |z| <= 3.92 (past it erf rounds to +-1 in float32): a
# rational fit made by tools/fit_erf.py (relative error 3e-8 in float64; evaluated in float32,
# within 7 ulp of the true value, as PyTorch's own vectorised kernels are within a few ulp)
_ERF_P = (1.1283791591019376, 0.1881521846367567, 0.05247371071853878, 0.003675911927798653)
_ERF_P += (0.0002840764840197803, 2.082877361947455e-06)
_ERF_Q = (1.0, 0.5000785173230077, 0.11319848907808548, 0.014787773383773222)
_ERF_Q += (0.0011430929253625323, 3.839023172001049e-05)
_ERF_P32 = tuple(np.float32(c) for c in reversed(_ERF_P))
_ERF_Q32 = tuple(np.float32(c) for c in reversed(_ERF_Q))
_ERF_EDGE = np.float32(3.92)
ONE32 = np.float32(1.0)


def erf_float32(x):
    """erf of a float32 array in about 25 in-place passes over it (SciPy's float32 erf costs
    7x that: exact GELU's forward was most of a GPT step). NaN stays NaN."""
    z = np.clip(x, -_ERF_EDGE, _ERF_EDGE)
    u = z * z
    num = u * _ERF_P32[0]  # (Horner's first step: no buffer of the leading coefficient)
    num += _ERF_P32[1]
    for c in _ERF_P32[2:]:
        num *= u
        num += c
    den = u * _ERF_Q32[0]
    den += _ERF_Q32[1]
    for c in _ERF_Q32[2:]:
        den *= u
        den += c
    num *= z
    num /= den
    return np.clip(num, -ONE32, ONE32, out=num)


def mean_dims(x, dims, keepdim=True):
    """Mean over ``dims`` of an array or a tensor."""
    count = 1
    for d in dims:
        count *= x.shape[d]
    return D.sum_dims(x, dims, keepdim) / count


def reduce_loss(loss, reduction):
    """Apply a loss ``reduction`` ('mean', 'sum' or 'none') to the unreduced loss tensor."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def reduce_array(loss, reduction):
    """``reduce_loss`` for an array, and the count the mean divides by (1 otherwise)."""
    if reduction == "mean":
        return loss.mean(), max(loss.size, 1)
    if reduction == "sum":
        return loss.sum(), 1
    if reduction == "none":
        return loss, 1
    raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average, reduce, reduction):
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` flags to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def linear_pair(name, adjoint_name, forward, adjoint):
    """A linear op ``forward(array, args)`` and its adjoint, each the other's backward.

    The gradient of a linear map is its adjoint applied to ``grad``; the adjoint's gradient is
    the map again. Recording both as ops makes double backward exact with no further rule.
    Returns ``apply(input, args)`` recording the node ``name``; its ``adjoint`` attribute
    applies the adjoint, recording ``adjoint_name`` (for ops that are each other's adjoint).
    """
    ops = {}

    def rule_forward(ctx, grad):
        if D._is_array(grad):
            return (adjoint(grad, ctx._args),)
        return (ops["adjoint"](grad, ctx._args),)

    def rule_adjoint(ctx, grad):
        if D._is_array(grad):
            return (forward(grad, ctx._args),)
        return (ops["forward"](grad, ctx._args),)

    # (linear: each one's JVP is the op itself on the tangent)
    forward_cls = node_class(name, rule_forward, jvp=lambda ctx, t: ops["forward"](t, ctx.args))
    adjoint_cls = node_class(
        adjoint_name, rule_adjoint, jvp=lambda ctx, t: ops["adjoint"](t, ctx.args)
    )
    ops["forward"] = lambda t, args: result(forward(t._data, args), forward_cls, (t,), args=args)
    ops["adjoint"] = lambda t, args: result(adjoint(t._data, args), adjoint_cls, (t,), args=args)
    ops["forward"].adjoint = ops["adjoint"]
    return ops["forward"]


def refuse_grad(op, arguments):
    """PyTorch's error for ``(name, tensor)`` arguments that ``op`` cannot differentiate."""
    if not state.record:
        return
    for name, value in arguments:
        if value is not None and value.requires_grad:
            raise RuntimeError(
                f"The function '{op}' is not differentiable with respect to argument '{name}'. "
                "This input cannot have requires_grad True."
            )


def _scalar_node(name, rule, jvp):
    # the core ops may define these names one day: then fall back to the plain operators
    return None if name in _CLASSES else node_class(name, rule, jvp=jvp)


def _is_tensor(grad) -> bool:
    return hasattr(grad, "_data")  # (not an array, nor a batch of arrays under vmap)


# (their own gradients are Scalar products too: MulBackward1/DivBackward1 under create_graph)
_MulScalar = _scalar_node(
    "MulBackward1",
    lambda ctx, grad: (mul_scalar(grad, ctx._args) if _is_tensor(grad) else grad * ctx._args,),
    jvp=lambda ctx, t: mul_scalar(t, ctx.args),
)
_DivScalar = _scalar_node(
    "DivBackward1",
    lambda ctx, grad: (div_scalar(grad, ctx._args) if _is_tensor(grad) else grad / ctx._args,),
    jvp=lambda ctx, t: div_scalar(t, ctx.args),
)


def mul_scalar(x, value):
    """``x * value`` for a Python number, recorded as PyTorch's Scalar overload (MulBackward1)."""
    if _MulScalar is None or not _floating(x._data):
        return x * value
    out = x._data * x._data.dtype.type(value)
    return result(out, _MulScalar, (x,), args=value)


def div_scalar(x, value):
    """``x / value`` for a Python number, recorded as PyTorch's Scalar overload (DivBackward1)."""
    if _DivScalar is None or not _floating(x._data):
        return x / value
    out = x._data / x._data.dtype.type(value)
    return result(out, _DivScalar, (x,), args=value)


def pair(value, n=2):
    """An int or a sequence as an ``n``-tuple of ints (kernel sizes, strides, paddings)."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return tuple(int(value[0]) for _ in range(n))
        return tuple(int(v) for v in value)
    return tuple(int(value) for _ in range(n))


def as_tensor(value, like=None):
    """A tensor from a tensor, array or number (kept as is when already a tensor)."""
    if isinstance(value, Tensor):
        return value
    from glassgrad.creation import tensor

    return tensor(value, dtype=like.dtype if like is not None else None)
