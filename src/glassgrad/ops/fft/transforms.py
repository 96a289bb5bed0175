"""The three discrete Fourier transforms every ``torch.fft`` function is built from, as in
PyTorch: complex to complex (``_fft_c2c``), real to complex (``_fft_r2c``) and Hermitian complex
to real (``_fft_c2r``), over any set of dimensions, on ``scipy.fft`` (which keeps complex64 in
complex64, as PyTorch does).

``normalization`` is PyTorch's: 0 no scaling, 1 by 1/sqrt(n), 2 by 1/n (n the product of the
transformed sizes). The backward rules are PyTorch's (``FunctionsManual.cpp``): each transform's
adjoint is the transform the other way with the same scaling; a one-sided real transform's
adjoint fills in the missing half with zeros, and the Hermitian one's doubles the entries whose
mirror images the one-sided input leaves out.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from glassgrad import dtypes as _dt
from glassgrad.autograd.node import NATIVE, complex_rule, node_class
from glassgrad.autograd.record import result

# scipy.fft's ``norm`` for PyTorch's normalization, forward and backward transforms
_FORWARD = ("backward", "ortho", "forward")
_INVERSE = ("forward", "ortho", "backward")


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def c2c_array(data, dims, normalization, forward):
    """The complex transform over ``dims`` on an array."""
    if forward:
        return scipy.fft.fftn(data, axes=dims, norm=_FORWARD[normalization])
    return scipy.fft.ifftn(data, axes=dims, norm=_INVERSE[normalization])


def r2c_array(data, dims, normalization, onesided):
    """The transform of a real array over ``dims`` (the last of them one-sided if asked)."""
    if onesided:
        return scipy.fft.rfftn(data, axes=dims, norm=_FORWARD[normalization])
    return scipy.fft.fftn(data, axes=dims, norm=_FORWARD[normalization])


def c2r_array(data, dims, normalization, last_dim_size):
    """The real inverse transform of one-sided Hermitian ``data`` over ``dims``."""
    sizes = [data.shape[d] for d in dims[:-1]] + [last_dim_size]
    return scipy.fft.irfftn(data, s=sizes, axes=dims, norm=_INVERSE[normalization])


def _fft_c2c(input, dims, normalization, forward):
    """The complex-to-complex transform (``torch._fft_c2c``)."""
    out = c2c_array(input._data, dims, normalization, forward)
    return result(out, FftC2CBackward0, (input,), args=(dims, normalization, forward))


def _fft_r2c(input, dims, normalization, onesided):
    """The real-to-complex transform (``torch._fft_r2c``)."""
    _dt.complex_seen(_dt.complex64)
    out = r2c_array(input._data, dims, normalization, onesided)
    last = input._data.shape[dims[-1]]
    return result(out, FftR2CBackward0, (input,), args=(dims, normalization, onesided, last))


def _fft_c2r(input, dims, normalization, last_dim_size):
    """The one-sided complex-to-real transform (``torch._fft_c2r``)."""
    out = c2r_array(input._data, dims, normalization, last_dim_size)
    return result(out, FftC2RBackward0, (input,), args=(dims, normalization))


# -- backward rules ----------------------------------------------------------------------------
def _c2c_backward(ctx, grad):
    dims, normalization, forward = ctx._args
    if _is_array(grad):
        return (c2c_array(grad, dims, normalization, not forward),)
    return (_fft_c2c(grad, dims, normalization, not forward),)


def _r2c_backward(ctx, grad):
    dims, normalization, onesided, last = ctx._args
    if onesided and grad.shape[dims[-1]] < last:  # the half the forward left out: zeros
        widths = [(0, 0)] * grad.ndim
        widths[dims[-1]] = (0, last - grad.shape[dims[-1]])
        if _is_array(grad):
            grad = np.pad(grad, widths)
        else:
            from glassgrad.ops.nn.pad import pad

            grad = pad(grad, [w for pair in reversed(widths) for w in pair])
    if _is_array(grad):
        return (c2c_array(grad, dims, normalization, False).real,)
    return (_fft_c2c(grad, dims, normalization, False).real,)


def _c2r_backward(ctx, grad):
    dims, normalization = ctx._args
    if _is_array(grad):
        out = r2c_array(grad, dims, normalization, True)
    else:
        out = _fft_r2c(grad, dims, normalization, True)
    doubled = grad.shape[dims[-1]] - out.shape[dims[-1]]
    if doubled > 0:  # entries whose mirror images the one-sided input leaves out count twice
        real = grad.dtype if _is_array(grad) else grad._data.dtype
        scale = np.ones(out.shape[dims[-1]], dtype=real)
        scale[1 : 1 + doubled] = 2
        scale = scale.reshape([-1 if d == dims[-1] % grad.ndim else 1 for d in range(grad.ndim)])
        out = out * scale
    return (out,)


# (linear: each transform's JVP is the transform of the tangent)
FftC2CBackward0 = node_class(
    "FftC2CBackward0", _c2c_backward, jvp=lambda ctx, t: _fft_c2c(t, *ctx.args)
)
FftR2CBackward0 = node_class(
    "FftR2CBackward0", _r2c_backward, jvp=lambda ctx, t: _fft_r2c(t, *ctx.args[:3])
)
FftC2RBackward0 = node_class(
    "FftC2RBackward0",
    _c2r_backward,
    jvp=lambda ctx, t: _fft_c2r(t, *ctx.args, ctx.output.shape[ctx.args[0][-1]]),
)
complex_rule(NATIVE, FftC2CBackward0, FftR2CBackward0, FftC2RBackward0)
