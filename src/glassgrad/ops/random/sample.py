"""Sampling ops that return new tensors (``multinomial``, ``normal``, ``bernoulli``) and the
remaining in-place fills (``log_normal_``, ``cauchy_``), drawn from glassgrad's generators.

glassgrad's generator is PyTorch's (see ``_mt19937``): for a seed, every sampler here gives
PyTorch's samples, except ``bernoulli`` with a number ``p`` (PyTorch draws that one through MKL),
which matches it in distribution. As in PyTorch, the gradient of a sample to its parameters is
zero (``rsample`` lives in ``distributions``).
"""

from __future__ import annotations

import numpy as np

from glassgrad import creation as _creation
from glassgrad._bfloat16 import floating as _floating
from glassgrad._errors import broadcast_error
from glassgrad._out_arg import kinds, takes_out
from glassgrad._tensor_data import _check_count, _size, _type_name
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops.elementwise.arith import NotImplementedNode
from glassgrad.ops.index.indexing import check_inplace
from glassgrad.ops.random.fill import _fill, _num, _rng
from glassgrad.tensor import Tensor, tensor_method

NormalBackward1 = node_class("NormalBackward1", lambda ctx, grad: (grad * 0,))
NormalBackward2 = node_class("NormalBackward2", lambda ctx, grad: (grad * 0,))
NormalBackward3 = node_class("NormalBackward3", lambda ctx, grad: (grad * 0, grad * 0))
BernoulliBackward0 = node_class("BernoulliBackward0", lambda ctx, grad: (grad * 0,))
LogNormalBackward0 = node_class("LogNormalBackward0", lambda ctx, grad: (grad * 0,))
CauchyBackward0 = node_class("CauchyBackward0", lambda ctx, grad: (grad * 0,))


# -- multinomial ---------------------------------------------------------------------------
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categories weighted by each row of ``input`` (1-D or 2-D)."""
    num_samples = _check_count(num_samples, "num_samples", "multinomial", 2)
    rng = _rng("multinomial", generator, (input._data,))
    if not _floating(input._data):
        from glassgrad._tensor_info import _c_type

        raise RuntimeError(
            "multinomial only supports floating-point dtypes for input, got: "
            f"{_c_type(input.dtype)}"
        )
    data = input._data
    if data.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    categories = data.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    rows = data.reshape(-1, categories).astype(np.float64)
    if not np.all(np.isfinite(rows) & (rows >= 0)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    # PyTorch draws one sample, or samples without replacement, by the exponential race, and
    # several with replacement by inverse CDF; both in the input's type, as it does
    if replacement and num_samples > 1:
        picked = _with_replacement(rng, rows.astype(data.dtype), num_samples)
    else:
        picked = _without_replacement(rng, rows.astype(data.dtype), num_samples)
    picked = picked.reshape(data.shape[:-1] + (num_samples,))
    return result(picked.astype(np.int64), None, (input,))


def _with_replacement(rng, rows, count):
    """PyTorch's kernel: per row, a double draw per sample searched (the first cumulative
    weight not below it) in the normalised cumulative weights, summed in the input's type."""
    cdf = np.cumsum(rows, axis=1)
    cdf /= cdf[:, -1:]
    uniform = rng.random((rows.shape[0], count))
    picked = np.stack(
        [np.searchsorted(c, u, side="left") for c, u in zip(cdf, uniform, strict=True)]
    )
    return np.minimum(picked, rows.shape[1] - 1).reshape(rows.shape[0], count)


def _without_replacement(rng, rows, count):
    """PyTorch's exponential-race draw: the ``count`` largest ``p / Exp(1)`` keys, in order.
    Once the positive weights are used up, zero-weight categories follow (as PyTorch's)."""
    keys = rows / rng.standard_exponential(rows.shape).astype(rows.dtype)
    return np.argsort(-keys, axis=1, kind="stable")[:, :count]


# -- normal --------------------------------------------------------------------------------
def _normal_type_error(args, kwargs) -> TypeError:
    got = ", ".join(
        [_type_name(a) for a in args] + [f"{k}={_type_name(v)}" for k, v in kwargs.items()]
    )
    gen = "*, torch.Generator generator = None, Tensor out = None"
    return TypeError(
        f"normal() received an invalid combination of arguments - got ({got}), but expected "
        f"one of:\n * (Tensor mean, Tensor std, {gen})\n * (Tensor mean, float std = 1, {gen})\n"
        f" * (float mean, Tensor std, {gen})\n * (float mean, float std, tuple of ints size, "
        f"{gen}, torch.dtype dtype = None, torch.layout layout = None, torch.device device = "
        "None, bool pin_memory = False, bool requires_grad = False)\n"
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _require_float(tensor) -> None:
    if not _floating(tensor._data):
        raise _creation._not_implemented("normal_kernel_cpu", tensor.dtype)


def normal(mean, std=None, *args, generator=None, **kwargs):
    """Normal samples; ``mean`` and ``std`` are tensors or numbers (PyTorch's four overloads)."""
    every = dict(kwargs, **({} if generator is None else {"generator": generator}))
    shown = (mean,) + (() if std is None else (std,)) + args
    if generator is not None and not isinstance(generator, _creation.Generator):
        raise _normal_type_error(shown, every)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if mean_t or std_t:
        if args or kwargs or not (mean_t or _is_number(mean)):
            raise _normal_type_error(shown, every)
        if not (std_t or std is None or _is_number(std)):
            raise _normal_type_error(shown, every)
        value = _normal_tensor(mean, 1.0 if std is None else std, mean_t, std_t, generator)
        return value
    size = args[0] if args else kwargs.pop("size", None)
    if not (_is_number(mean) and _is_number(std)) or size is None or len(args) > 1:
        raise _normal_type_error(shown, every)
    std = float(std)
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    shape = _size((size,), "normal", 3)
    _creation._random_float(kwargs.get("dtype"), "normal_kernel_cpu")
    draws = _creation.empty(shape, **kwargs)  # (its dtype, device and requires_grad checks)
    values = _rng("normal", generator).normal(float(mean), std, shape, draws._data.dtype)
    draws._data[...] = values
    return draws


def _normal_tensor(mean, std, mean_t, std_t, generator):
    """The three tensor overloads: the result takes ``mean``'s dtype (else ``std``'s) and the
    broadcast shape; each tensor argument gets a zero gradient."""
    for tensor in (mean, std):
        if isinstance(tensor, Tensor):
            _require_float(tensor)
    if std_t:
        if not np.all(std._data >= 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif not float(std) >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(float(std))}")
    mean_a = mean._data if mean_t else float(mean)
    std_a = std._data if std_t else float(std)
    shape = _broadcast(np.shape(mean_a), np.shape(std_a))
    dtype = (mean if mean_t else std)._data.dtype
    # PyTorch fills the result with N(0, 1) in its dtype, then scales and shifts it there
    draws = _rng("normal", generator, (mean_a, std_a)).standard_normal(shape, dtype).astype(dtype)
    values = (draws * np.asarray(std_a, dtype) + np.asarray(mean_a, dtype)).astype(dtype)
    if mean_t and std_t:
        return result(values, NormalBackward3, (mean, std))
    return result(
        values, NormalBackward1 if mean_t else NormalBackward2, (mean if mean_t else std,)
    )


def _broadcast(a_shape, b_shape):
    try:
        return np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        raise broadcast_error(a_shape, b_shape) from None


# -- bernoulli ----------------------------------------------------------------------------
def bernoulli(input, p=None, *, generator=None):
    """0/1 samples of ``input``'s dtype, 1 with probability ``input`` (or the number ``p``)."""
    rng = _rng("bernoulli", generator, (input._data,))
    data = input._data
    if p is not None:
        p = float(p)
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_num(p)}")
        values = (rng.random(data.shape) < p).astype(data.dtype)
        value = result(values, NotImplementedNode, (input,), args="bernoulli")
        return value
    if not _floating(data):
        raise _creation._not_implemented("bernoulli_tensor_cpu_p_", input.dtype)
    if not np.all((data >= 0) & (data <= 1)):
        raise RuntimeError(
            "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
            "message be improved?  If so, please report an enhancement request to PyTorch.)"
        )
    values = (rng.random(data.shape, np.float32) < data).astype(data.dtype)  # (as PyTorch)
    return result(values, BernoulliBackward0, (input,))


# out=: written by the one implementation every op uses (glassgrad._out_arg)
_FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")
multinomial = takes_out(
    "multinomial",
    multinomial,
    kinds(("int64",), "multinomial expects Long tensor out, got: {out}"),
    grad_name=None,
    warn_resize=False,
)
normal = takes_out(
    "normal",
    normal,
    kinds(
        _FLOAT_NAMES,
        "\"normal_kernel_cpu\" not implemented for '{out}'",
        error=NotImplementedError,
    ),
)
bernoulli = takes_out("bernoulli", bernoulli, "any_cast", warn_resize=False)


# -- log_normal_, cauchy_ ------------------------------------------------------------------
def log_normal_(self, mean=1, std=2, *, generator=None):
    """Fill ``self`` with ``exp(N(mean, std^2))`` samples."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    if not _floating(self._data):
        raise _creation._not_implemented("log_normal_cpu", self.dtype)
    mean, std = float(mean), float(std)
    if not std > 0.0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={_num(std)}")
    # (PyTorch draws each element on its own, never with the 16-at-a-time normal fill)
    draws = _rng("log_normal_", generator, fills=self._data).standard_normal(
        self._data.shape, contiguous=False
    )
    return _fill(self, np.exp(mean + draws * std), LogNormalBackward0)


def cauchy_(self, median=0, sigma=1, *, generator=None):
    """Fill ``self`` with Cauchy samples of location ``median`` and scale ``sigma``."""
    from glassgrad._tensor_info import _c_name

    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    if not _floating(self._data):
        raise RuntimeError(
            "Cauchy distribution is a continuous probability distribution. dtype must be a "
            # the C++ type's name here, where exponential_ says PyTorch's ("Long")
            f"floating point but you specified {_c_name(self.dtype)}"
        )
    median, sigma = float(median), float(sigma)
    if not sigma > 0.0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={_num(sigma)}")
    draws = _rng("cauchy_", generator, fills=self._data).standard_cauchy(self._data.shape)
    return _fill(self, median + sigma * draws, CauchyBackward0)


for _name, _fn in (
    ("multinomial", multinomial),
    ("bernoulli", bernoulli),
    ("log_normal_", log_normal_),
    ("cauchy_", cauchy_),
):
    tensor_method(_fn, _name)
