"""Which ops autocast runs in lower precision, which in float32: PyTorch's CPU lists.

PyTorch's CPU autocast (aten/src/ATen/autocast_mode.cpp, checked against PyTorch 2.13's CPU
build op by op) casts the floating inputs of the ``LOWER`` ops to the autocast dtype (float64
inputs are left alone) and the lower-precision inputs of the ``FP32`` ops to float32. Every other
op runs in the dtypes it is given.

bfloat16 arithmetic: PyTorch's CPU kernels compute a bfloat16 op in float32 and round the result
to bfloat16. ``VIA_FLOAT32`` ops do the same here (NumPy's bfloat16 ufuncs from ml_dtypes round
after every step, and its matmul returns float32), through recorded casts, so gradients flow
back to bfloat16 tensors in bfloat16 as PyTorch's do.
"""

from __future__ import annotations

import functools
import threading

from glassgrad import dtypes as _dt
from glassgrad.backend import WRAPPER_CODES

LOWER = (
    "linear matmul __matmul__ mm bmm addmm baddbmm addbmm conv1d conv2d conv3d "
    "conv_transpose1d conv_transpose2d conv_transpose3d prelu scaled_dot_product_attention "
    "einsum"
).split()
FP32 = (
    "cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss kl_div "
    "binary_cross_entropy binary_cross_entropy_with_logits margin_ranking_loss soft_margin_loss "
    "hinge_embedding_loss cosine_embedding_loss multi_margin_loss multilabel_margin_loss "
    "triplet_margin_loss poisson_nll_loss gaussian_nll_loss prod cdist trace avg_pool3d "
    "adaptive_avg_pool3d max_pool3d grid_sample quantile nanquantile pinverse inverse "
    "cholesky"
).split()
_ARITHMETIC = (
    "div true_divide __truediv__ __rtruediv__ softmax log_softmax layer_norm group_norm "
    "batch_norm gelu silu sigmoid mean sum var std norm cumsum round"
).split()
# autocast runs these in float32, but outside it PyTorch has no bfloat16 kernel for them and
# raises: the ops refuse bfloat16 themselves instead of computing it through float32
_REFUSE_BF16 = "cdist avg_pool3d multi_margin_loss quantile nanquantile pinverse inverse cholesky"
VIA_FLOAT32 = LOWER + [n for n in FP32 if n not in _REFUSE_BF16.split()] + _ARITHMETIC
_ACTIVE = [0]  # threads with CPU autocast on: the wrappers' fast path skips casting at 0

_state = threading.local()  # per thread, as PyTorch's autocast state


def current():
    """``(enabled, dtype)`` of CPU autocast in this thread."""
    found = getattr(_state, "cpu", None)
    if found is None:
        found = _state.cpu = [False, None]
    return found


def _bf16():
    """NumPy's bfloat16 dtype (None without ml_dtypes: then no array holds bfloat16)."""
    if _dt.bfloat16.__class__ is not _dt.dtype:
        return None
    return _dt.bfloat16.np


def _cast_args(args, kwargs, rule):
    return [rule(a) for a in args], {k: rule(v) for k, v in kwargs.items()}


def _nested(rule):
    def cast(value):
        if isinstance(value, (list, tuple)):
            return type(value)(cast(v) for v in value)
        return rule(value)

    return cast


def wrap(fn, name: str):
    """``fn`` with autocast's policy for ``name`` and bfloat16 computed through float32."""
    from glassgrad.tensor import Tensor

    lower, fp32, via = name in LOWER, name in FP32, name in VIA_FLOAT32

    def to_low(dtype):
        def rule(value):
            if isinstance(value, Tensor) and value.dtype in (
                _dt.float32,
                _dt.float16,
                _dt.bfloat16,
            ):
                return value if value.dtype is dtype else value.to(dtype)
            return value

        return _nested(rule)

    def to_fp32(value):
        if isinstance(value, Tensor) and value.dtype in (_dt.float16, _dt.bfloat16):
            return value.to(_dt.float32)
        return value

    bf16 = _bf16()

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _ACTIVE[0]:
            state = current()
            if state[0]:
                if lower:
                    args, kwargs = _cast_args(args, kwargs, to_low(state[1]))
                elif fp32:
                    args, kwargs = _cast_args(args, kwargs, _nested(to_fp32))
        if via:
            for arg in args:
                if arg.__class__ is Tensor and arg._data.dtype == bf16:
                    args, kwargs = _cast_args(args, kwargs, _nested(_bf16_to_fp32))
                    return _round_to_bf16(fn(*args, **kwargs))
        return fn(*args, **kwargs)

    op.__wrapped_by_autocast__ = True
    return op


# glass names an op by the function that recorded it: the wrapper is not that function
WRAPPER_CODES.update(c for c in wrap.__code__.co_consts if getattr(c, "co_name", "") == "op")


def _holds_bf16(value) -> bool:
    from glassgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return value._data.dtype == _bf16()
    if isinstance(value, (list, tuple)):
        return any(_holds_bf16(v) for v in value)
    return False


def _bf16_to_fp32(value):
    from glassgrad.tensor import Tensor

    if isinstance(value, Tensor) and value._data.dtype == _bf16():
        return value.to(_dt.float32)
    return value


def _round_to_bf16(out):
    from glassgrad.tensor import Tensor

    if isinstance(out, Tensor):
        return out.to(_dt.bfloat16) if out._data.dtype.kind == "f" else out
    if isinstance(out, tuple):
        return type(out)(_round_to_bf16(o) for o in out)
    return out


_NAMESPACES: list = []  # where scripts reach the ops (set by the package at import)
_ORIGINALS: list = []  # (namespace, name, original) of each installed wrapper


def configure(namespaces) -> None:
    """Remember where the ops live; wrap them the first time bfloat16 or autocast is used, so
    programs that use neither pay nothing (and keep PyTorch's warning frames exact)."""
    _NAMESPACES[:] = namespaces
    from glassgrad import _bfloat16

    _bfloat16._FIRST_USE.append(ensure)


def ensure() -> None:
    """Put the wrapped ops in place (once)."""
    if _ORIGINALS:
        return
    from glassgrad.ops.registry import OPS
    from glassgrad.tensor import Tensor

    wrapped: dict = {}
    for name in dict.fromkeys(LOWER + FP32 + VIA_FLOAT32):
        for space in (*_NAMESPACES, Tensor):
            original = getattr(space, name, None)
            if original is None or getattr(original, "__wrapped_by_autocast__", False):
                continue
            if id(original) not in wrapped:
                wrapped[id(original)] = (original, wrap(original, name))
            _ORIGINALS.append((space, name, space.__dict__.get(name)))
            setattr(space, name, wrapped[id(original)][1])
    for info in OPS.values():  # the table names the callable scripts reach
        found = wrapped.get(id(info.fn))
        if found is not None:
            _ORIGINALS.append((info, "fn", info.fn))
            info.fn = found[1]


def uninstall() -> None:
    """Put the original ops back (tests do, to leave the process as they found it)."""
    from glassgrad import _bfloat16

    while _ORIGINALS:
        space, name, original = _ORIGINALS.pop()
        if original is None:
            delattr(space, name)  # it was inherited: the class's own attribute goes
        else:
            setattr(space, name, original)
    if ensure not in _bfloat16._FIRST_USE:
        _bfloat16._FIRST_USE.append(ensure)
