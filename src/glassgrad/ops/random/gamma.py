"""Samplers behind the distributions: ``_standard_gamma`` (with its implicit reparameterisation
gradient), ``_sample_dirichlet``, ``poisson`` and ``binomial``, drawn from glassgrad's generators.

The gradient of a Gamma(alpha, 1) sample ``x`` to ``alpha`` is ``-(dF/dalpha) / (dF/dx)``, with F
the regularised incomplete gamma function (Figurnov et al., "Implicit reparameterization
gradients"). PyTorch evaluates it with series and asymptotic approximations; here ``dF/dalpha``
is a fourth-order central difference of ``scipy.special.gammainc`` (and ``betainc`` for the
Dirichlet's marginals), which agrees with PyTorch's to its own accuracy.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special as _sp

from glassgrad import creation as _creation
from glassgrad._bfloat16 import floating as _floating
from glassgrad._bfloat16 import refuse
from glassgrad._errors import broadcast_error
from glassgrad._out_arg import _RESIZED, _scalar_type
from glassgrad._tensor_info import _c_type
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.ops.elementwise.arith import NotImplementedNode
from glassgrad.ops.random.fill import _rng
from glassgrad.tensor import Tensor

__all__ = [
    "_dirichlet_grad",
    "_sample_dirichlet",
    "_standard_gamma",
    "_standard_gamma_grad",
    "binomial",
    "poisson",
]


def _wrap_like(values: np.ndarray, like):
    """``values`` as an array, or as a constant tensor when the rule runs on tensors."""
    return values if isinstance(like, np.ndarray) else _creation.tensor(values)


def _array(value) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


def _central(function, at: np.ndarray) -> np.ndarray:
    """``d function / d at`` by a fourth-order central difference (relative step)."""
    step = 1e-4 * np.maximum(at, 1e-3)
    ahead = function(at + step) - function(at - step)
    far = function(at + 2 * step) - function(at - 2 * step)
    return (8 * ahead - far) / (12 * step)


def _gamma_grad(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dx / dalpha`` for ``x ~ Gamma(alpha, 1)``, in float64."""
    alpha, x = np.broadcast_arrays(alpha.astype(np.float64), x.astype(np.float64))
    with np.errstate(all="ignore"):
        d_alpha = _central(lambda a: _sp.gammainc(a, x), alpha)
        log_pdf = (alpha - 1) * np.log(x) - x - _sp.gammaln(alpha)
        grad = -d_alpha / np.exp(log_pdf)
    return np.where(np.isfinite(grad), grad, 0.0)


def _dirichlet_grad_array(x, alpha, total) -> np.ndarray:
    """PyTorch's ``_dirichlet_grad``: ``dx / dalpha / (1 - x)`` for the marginal
    ``x ~ Beta(alpha, total - alpha)`` (the other concentrations fixed), in float64; the
    Dirichlet's backward multiplies the simplex's correction back in."""
    x, alpha, total = (np.asarray(v, dtype=np.float64) for v in (x, alpha, total))
    x, alpha, total = np.broadcast_arrays(x, alpha, total)
    rest = total - alpha
    with np.errstate(all="ignore"):
        d_alpha = _central(lambda a: _sp.betainc(a, rest, x), alpha)
        log_pdf = (alpha - 1) * np.log(x) + (rest - 1) * np.log1p(-x) - _sp.betaln(alpha, rest)
        grad = -d_alpha / np.exp(log_pdf) / (1 - x)
    return np.where(np.isfinite(grad), grad, 0.0)


def _standard_gamma_backward(ctx, grad, alpha, sample):
    derivative = _gamma_grad(_array(alpha), _array(sample)).astype(_array(sample).dtype)
    return (grad * _wrap_like(derivative, grad),)


StandardGammaBackward0 = node_class("StandardGammaBackward0", _standard_gamma_backward)
PoissonBackward0 = node_class("PoissonBackward0", lambda ctx, grad: (grad * 0,))


def _require_float(input, kernel: str) -> None:
    if not _floating(input._data):
        raise _creation._not_implemented(kernel, input.dtype)


def _standard_gamma(input, generator=None):
    """Gamma(``input``, 1) samples; a gradient flows to ``input`` (implicit reparameterisation)."""
    _require_float(input, "gamma_cpu")
    alpha = input._data.astype(np.float64)
    draws = _rng("_standard_gamma", generator, (alpha,)).standard_gamma(np.maximum(alpha, 0.0))
    tiny = np.finfo(input._data.dtype).tiny  # PyTorch never returns 0 (its log is finite)
    values = np.maximum(draws, tiny).astype(input._data.dtype)
    return result(values, StandardGammaBackward0, (input,), saved=(input, OUT))


def _standard_gamma_grad(input, output):
    """The derivative of a Gamma(``input``, 1) sample ``output`` to ``input``."""
    values = _gamma_grad(input._data, output._data).astype(output._data.dtype)
    return result(values, NotImplementedNode, (input, output), args="_standard_gamma_grad")


def _sample_dirichlet(input, generator=None):
    """Dirichlet(``input``) samples along the last dimension (normalised Gamma draws)."""
    _require_float(input, "dirichlet")
    alpha = input._data.astype(np.float64)
    draws = _rng("_sample_dirichlet", generator, (alpha,)).standard_gamma(np.maximum(alpha, 0.0))
    tiny = np.finfo(input._data.dtype).tiny
    draws = np.maximum(draws, tiny)
    values = (draws / draws.sum(-1, keepdims=True)).astype(input._data.dtype)
    values = np.clip(values, tiny, 1 - np.finfo(input._data.dtype).eps / 2)
    return result(values, NotImplementedNode, (input,), args="_sample_dirichlet")


def _dirichlet_grad(x, alpha, total):
    """The derivative of a Dirichlet sample's coordinate ``x`` to its concentration ``alpha``."""
    values = _dirichlet_grad_array(x._data, alpha._data, total._data).astype(x._data.dtype)
    return result(values, NotImplementedNode, (x, alpha, total), args="_dirichlet_grad")


def poisson(input, generator=None):
    """Poisson samples of rate ``input`` (a tensor of the same shape and dtype)."""
    _require_float(input, "poisson_cpu")
    rate = input._data
    if np.any(rate < 0):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    draws = _rng("poisson", generator, (rate,)).poisson(rate.astype(np.float64))
    return result(draws.astype(rate.dtype), PoissonBackward0, (input,))


def binomial(count, prob, generator=None):
    """Binomial(``count``, ``prob``) samples, broadcast, of ``count``'s dtype."""
    for name, tensor in (("count", count), ("prob", prob)):
        if not _floating(tensor._data):
            raise ValueError(
                f"binomial only supports floating-point dtypes for {name}, got: "
                f"{_c_type(tensor.dtype)}"
            )
    if prob._data.dtype != count._data.dtype:
        raise RuntimeError(
            f"Found dtype {_scalar_type(prob.dtype)} but expected {_scalar_type(count.dtype)}"
        )
    refuse(count._data, "binomial_cpu")
    try:
        shape = np.broadcast_shapes(count._data.shape, prob._data.shape)
    except ValueError:
        raise broadcast_error(count._data.shape, prob._data.shape) from None
    if shape != count._data.shape and count._data.size:
        # PyTorch writes into a tensor of count's shape, and resizes it with this warning
        warnings.warn(
            _RESIZED.format(old=list(count._data.shape), new_list=list(shape)), stacklevel=2
        )
    n = np.broadcast_to(np.floor(count._data.astype(np.float64)), shape)
    p = np.broadcast_to(np.clip(prob._data.astype(np.float64), 0.0, 1.0), shape)
    draws = _rng("binomial", generator, (n, p)).binomial(n.astype(np.int64), p)
    return result(
        draws.astype(count._data.dtype), NotImplementedNode, (count, prob), args="binomial"
    )
