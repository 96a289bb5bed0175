"""The op table: what each op is called, where it is installed and how the tests check it.

An op is one block in its family file (``elementwise/unary.py``, ``reduce/sum_prod.py``, ...):
the public function (forward on arrays, then the recorder's ``result(...)``, see
``glassgrad.autograd.record``), its backward rule as a node class made by
``autograd.node.node_class``, and a ``register(...)`` entry that names it, installs it as a
``Tensor`` method and a ``glassgrad.`` function, and tells the table-driven tests how to check it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from glassgrad._out_arg import takes_out
from glassgrad._tensor_info import _type_name
from glassgrad.backend import allocating
from glassgrad.tensor import Tensor, tensor_method

__all__ = ["OPS", "OpInfo", "register", "function_form", "as_tensor_arg"]


@dataclass
class OpInfo:
    """One entry of the op table: what the op is called and how the tests check it.

    ``samples(rng) -> [(args, kwargs), ...]`` gives the table tests their inputs (``rng`` is a
    NumPy ``Generator``): NumPy arrays in ``args`` (also inside a list) become tensors, the rest
    is passed as is, and the ``reference`` is called with the same arguments. Ops registered with
    ``any_shape=True`` also accept ``samples(rng, shape)`` for any shape, 0-d and empty ones
    included (``glassgrad.ops._sampling.shaped`` builds such a function). Without ``samples``,
    an op gets ``nin`` float arrays of each of ``shapes``, drawn from ``domain``.
    """

    name: str
    fn: object
    methods: tuple = ()
    functions: tuple = ()
    reference: object = None  # NumPy reference (same arguments, arrays for tensors)
    domain: tuple = (-2.0, 2.0)  # input range for central-difference gradient checks
    shapes: tuple = ((3,), (2, 3))  # sample input shapes for the table tests
    nin: int = 1  # number of tensor inputs the default samples give
    differentiable: bool = True
    second_order: bool = True
    kwargs: dict = field(default_factory=dict)  # keyword arguments the default samples pass
    samples: object = None  # samples(rng) -> [(args, kwargs), ...]; see above
    edge_samples: object = None  # like samples, at points of non-differentiability (ties,
    # boundaries): compared with PyTorch, never with central differences
    any_shape: bool = False  # samples(rng, shape) accepts any shape: property-tested
    dtypes: tuple = ("float64", "float32")  # input dtypes compared with PyTorch
    atol: float = 1e-6  # tolerance of the float64 gradient checks
    out: str | None = None  # the dtype rule of its ``out=`` (out_arg.DTYPE_RULES), if it takes one


OPS: dict[str, OpInfo] = {}


def register(
    name, fn=None, *, method=True, function=True, aliases=(), strict=False, out=None, **info
):
    """Add an op to the table; install it as ``Tensor.name`` and ``glassgrad.name``.

    ``strict``: ``fn`` returns NotImplemented for an operand it refuses (what the Python
    operators need); the function and method forms raise PyTorch's TypeError instead.
    ``out``: the op takes PyTorch's ``out=`` (its function form; methods never do): the name of
    its dtype rule in ``out_arg.DTYPE_RULES`` ("cast" for elementwise ops), or a dict of
    ``takes_out``'s keyword arguments (``dtype``, ``dtype_from``, ``grad_name``). Returns the
    function form (``out=`` included).
    """

    def add(fn):
        names = (name, *aliases)
        table_fn = _strict(fn, name, 2) if strict else fn
        rule = None
        if out is not None:
            options = dict(out) if isinstance(out, dict) else {"dtype": out}
            # PyTorch refuses out= with inputs requiring grad only for ops with a derivative
            options.setdefault("grad_name", name if info.get("differentiable", True) else None)
            table_fn = takes_out(name, table_fn, **options)
            rule = table_fn.out_rule
            _FUNCTION_FORMS[fn] = table_fn
        OPS[name] = OpInfo(
            name, table_fn, names if method else (), names if function else (), out=rule, **info
        )
        if method:
            for alias in names:
                # PyTorch's allocator error, not NumPy's MemoryError (see backend.allocating)
                tensor_method(allocating(_strict(fn, alias, 1) if strict else fn), alias)
        return fn if out is None else table_fn

    return add if fn is None else add(fn)


_FUNCTION_FORMS: dict = {}  # an op's plain function -> its function form (with ``out=``)


def function_form(fn):
    """What ``glassgrad.<name>`` (or ``linalg.``/``special.``) exports for the op ``fn``: the
    form ``register`` made, which takes ``out=``; ``fn`` itself if it has no other form."""
    return _FUNCTION_FORMS.get(fn, fn)


def _strict(fn, name, position):
    """``fn`` as PyTorch's argument parser makes it: a refused ``other`` raises TypeError."""

    @functools.wraps(fn)
    def op(input, other, *args, **kwargs):
        out = fn(input, other, *args, **kwargs)
        if out is NotImplemented:
            raise TypeError(
                f"{name}(): argument 'other' (position {position}) must be Tensor, not "
                f"{_type_name(other)}"
            )
        return out

    return op


def as_tensor_arg(value, like: Tensor | None = None) -> Tensor:
    """Turn a non-tensor argument (list, array, number) into a tensor, as PyTorch functions do."""
    if isinstance(value, Tensor):
        return value
    from glassgrad.creation import tensor

    if like is not None and isinstance(value, (int, float, bool)):
        return tensor(value, dtype=like.dtype)
    return tensor(value)
