"""Random in-place fills (``uniform_``, ``normal_``, ``bernoulli_``, ``random_``,
``exponential_``, ``geometric_``), drawn from glassgrad's generators (PyTorch's stream: the
uniform, normal, tensor-p Bernoulli and integer fills give PyTorch's values for a seed).

Weight-init code writes ``m.weight.data.normal_(0.0, 0.02)``. Each fill goes through
``indexing.inplace`` so PyTorch's in-place checks, the version bump and the graph (a node whose
gradient to ``self`` is zero, as PyTorch records it) come for free.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad import creation as _creation
from glassgrad._batched import ACTIVE as _VMAP
from glassgrad._batched import as_data, check_random_inputs
from glassgrad._bfloat16 import floating as _floating
from glassgrad._tensor_info import _c_name, _c_type
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops.index.indexing import check_inplace, inplace
from glassgrad.ops.shape.expand import expand
from glassgrad.tensor import Tensor, tensor_method

# Each fill forgets what ``self`` held: its gradient to the old values is zero (not None).
UniformBackward0 = node_class("UniformBackward0", lambda ctx, grad: (grad * 0,))
NormalBackward0 = node_class("NormalBackward0", lambda ctx, grad: (grad * 0,))
BernoulliBackward2 = node_class("BernoulliBackward2", lambda ctx, grad: (grad * 0,))
BernoulliBackward1 = node_class("BernoulliBackward1", lambda ctx, grad: (grad * 0, grad * 0))
RandomBackward2 = node_class("RandomBackward2", lambda ctx, grad: (grad * 0,))
RandomBackward1 = node_class("RandomBackward1", lambda ctx, grad: (grad * 0,))
RandomBackward0 = node_class("RandomBackward0", lambda ctx, grad: (grad * 0,))
ExponentialBackward0 = node_class("ExponentialBackward0", lambda ctx, grad: (grad * 0,))
GeometricBackward0 = node_class("GeometricBackward0", lambda ctx, grad: (grad * 0,))


def _rng(name: str, generator, inputs=(), fills=None):
    """The generator's stream (PyTorch checks the argument's type first). Under ``vmap``,
    ``inputs`` (the op's tensor data) and ``fills`` (what an in-place fill writes) meet
    PyTorch's randomness checks (``_batched.check_random_inputs``)."""
    if generator is not None and not isinstance(generator, _creation.Generator):
        raise TypeError(
            f"{name}(): argument 'generator' must be torch.Generator, "
            f"not {type(generator).__name__}"
        )
    if _VMAP.levels:
        check_random_inputs(*inputs, fills=fills)
    return _creation._rng(generator)


def _fill(self, values, node, others=()):
    """Write ``values`` (an array of ``self``'s shape) into ``self`` as the node ``node``."""
    values = as_data(values).astype(self._data.dtype, copy=False)  # (vmap: a batch stays one)
    return inplace(self, lambda snap: result(values, node, (snap, *others)))


def _reordered(self) -> bool:
    data = self._data
    return isinstance(data, np.ndarray) and data.ndim > 1 and not data.flags.c_contiguous


def _draw_size(self):
    """The draws a fill takes: one run of them where it writes in memory order (see below)."""
    return self._data.size if _reordered(self) else self._data.shape


def _in_memory_order(self, values):
    """``values`` (drawn one after another) placed as PyTorch's kernels write them: in the
    order of the elements in memory, which is not the index order for a transposed view."""
    if not _reordered(self):
        return values
    data = self._data
    offsets = np.zeros(data.shape, dtype=np.int64)
    for axis, stride in enumerate(data.strides):
        place = [1] * data.ndim
        place[axis] = data.shape[axis]
        offsets = offsets + np.arange(data.shape[axis]).reshape(place) * stride
    placed = np.empty(data.size, dtype=values.dtype)
    placed[np.argsort(offsets.reshape(-1), kind="stable")] = values.reshape(-1)
    return placed.reshape(data.shape)


def _require_float(self, kernel: str) -> None:
    if not _floating(self._data):
        raise _creation._not_implemented(kernel, self.dtype)


def _float_bounds(self, value, which: str) -> None:
    info = np.finfo(self._data.dtype)
    if not (float(info.min) <= value <= float(info.max)):
        raise RuntimeError(f"{which} is out of bounds for {_c_name(self.dtype)}")


def uniform_(self, from_=0, to=1, *, generator=None):
    """Fill ``self`` with samples from U(from, to)."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    _require_float(self, "check_uniform_bounds")
    from_, to = float(from_), float(to)
    _float_bounds(self, from_, "from")
    _float_bounds(self, to, "to")
    if from_ > to:
        raise RuntimeError(
            "uniform_ expects to return a [from, to) range, but found "
            f"from={_num(from_)} > to={_num(to)}"
        )
    size = _draw_size(self)
    values = _rng("uniform_", generator, fills=self._data).uniform(
        from_, to, size, self._data.dtype
    )
    return _fill(self, _in_memory_order(self, values), UniformBackward0)


def normal_(self, mean=0, std=1, *, generator=None):
    """Fill ``self`` with samples from N(mean, std^2)."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    _require_float(self, "normal_kernel_cpu")
    mean, std = float(mean), float(std)
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    data = self._data
    contiguous = not isinstance(data, np.ndarray) or data.flags.c_contiguous
    values = _rng("normal_", generator, fills=self._data).normal(
        mean, std, _draw_size(self), data.dtype, contiguous=contiguous
    )
    return _fill(self, _in_memory_order(self, values), NormalBackward0)


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill ``self`` with 0/1 samples, 1 with probability ``p`` (a number or a tensor)."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    rng = _rng("bernoulli_", generator, fills=self._data)
    shape = self._data.shape
    if isinstance(p, Tensor):
        if not _floating(p._data):
            raise _creation._not_implemented("bernoulli_tensor_cpu_p_", p.dtype)
        probs = expand(p, shape)._data  # PyTorch's expand error
        if not np.all((probs >= 0) & (probs <= 1)):
            raise RuntimeError(
                "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
                "message be improved?  If so, please report an enhancement request to PyTorch.)"
            )
        # PyTorch compares a float draw per element with p
        return _fill(self, rng.random(shape, np.float32) < probs, BernoulliBackward1, (p,))
    p = float(p)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_num(p)}")
    return _fill(self, rng.random(shape) < p, BernoulliBackward2)


def exponential_(self, lambd=1, *, generator=None):
    """Fill ``self`` with samples from the exponential distribution of rate ``lambd``."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    if not _floating(self._data):
        raise RuntimeError(
            "Exponential distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {_c_type(self.dtype)}"
        )
    lambd = float(lambd)
    if not lambd > 0.0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_num(lambd)}")
    draws = _rng("exponential_", generator, fills=self._data).standard_exponential(self._data.shape)
    return _fill(self, draws * (1.0 / lambd), ExponentialBackward0)  # (PyTorch's rounding)


def geometric_(self, p, *, generator=None):
    """Fill ``self`` with the number of Bernoulli(``p``) trials up to the first success."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    if self._data.dtype.kind == "b":
        raise _creation._not_implemented("geometric_cpu", self.dtype)
    p = float(p)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_num(p)}")
    draws = _rng("geometric_", generator, fills=self._data).geometric(p, self._data.shape)
    return _fill(self, draws, GeometricBackward0)


def _default_top(dtype: np.dtype) -> int:
    """``random_()``'s inclusive upper end: the dtype's largest integer, or for floats the
    largest one the mantissa holds exactly (2**24 for float32), as PyTorch draws."""
    if dtype.kind == "b":
        return 1
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1)
    return int(np.iinfo(dtype).max)


def random_(self, *args, generator=None, **kwargs):
    """Fill ``self`` with integers from ``[from, to)``; ``random_(to)`` or the dtype's range."""
    check_inplace(self)  # PyTorch refuses a leaf before it looks at the arguments
    low, high, node = _random_args(self, args, kwargs)
    dtype = self._data.dtype
    if high is None:
        high = _default_top(dtype) + 1
    _creation._randint_bounds(low, high, dtype if dtype.kind != "f" else np.int64)
    draws = _rng("random_", generator, fills=self._data).integers(
        low, high, self._data.shape, dtype=np.int64
    )
    return _fill(self, draws, node)


def _random_args(self, args, kwargs):
    """PyTorch's three signatures: ``()``, ``(to)``, ``(from, to)`` (``to`` may be None)."""
    names = {"from": 0, "to": 1}
    if len(args) > 2 or any(k not in names for k in kwargs):
        raise _random_type_error(args, kwargs)
    if "to" in kwargs and not args and "from" not in kwargs:
        args = (kwargs["to"],)
    elif kwargs:
        merged = list(args) + [None] * (2 - len(args))
        for key, value in kwargs.items():
            merged[names[key]] = value
        args = tuple(merged)
    if any(not _is_int(a) for a in args if a is not None) or (len(args) == 1 and args[0] is None):
        raise _random_type_error(args, kwargs)
    # PyTorch numbers its overloads backwards: random_(from, to) is RandomBackward0
    if not args:
        return 0, None, RandomBackward2
    if len(args) == 1:
        return 0, int(args[0]), RandomBackward1
    return int(args[0]), None if args[1] is None else int(args[1]), RandomBackward0


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _random_type_error(args, kwargs) -> TypeError:
    got = ", ".join(
        [type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()]
    )
    return TypeError(
        f"random_() received an invalid combination of arguments - got ({got}), but expected "
        "one of:\n * (*, torch.Generator generator = None)\n * (int from, int to, *, "
        "torch.Generator generator = None)\n * (int to, *, torch.Generator generator = None)\n"
    )


def _num(value: float) -> str:
    """A number as PyTorch's C++ prints it in these messages (``2``, ``0.5``, ``nan``)."""
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(value) if math.isfinite(value) else str(value)


for _name, _fn in (
    ("uniform_", uniform_),
    ("normal_", normal_),
    ("bernoulli_", bernoulli_),
    ("random_", random_),
    ("exponential_", exponential_),
    ("geometric_", geometric_),
):
    tensor_method(_fn, _name)
