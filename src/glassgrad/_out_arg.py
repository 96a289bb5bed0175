"""``out=``: written once, here, for every op that takes it, as PyTorch's out variants write it.

``register(..., out=...)`` and ``takes_out`` (for the factories outside the op table) wrap an
op's function: without ``out`` the op runs as is; with it, PyTorch's steps in PyTorch's order:

1. grad mode on and an argument (``out`` included) requiring grad: PyTorch's RuntimeError
   ("functions with out=... arguments don't support automatic differentiation");
2. the result is computed as without ``out`` (reductions and factories take ``out``'s dtype);
3. ``out``'s dtype is checked against the result's by the op's rule (``DTYPE_RULES``);
4. ``out`` is resized to the result's shape: silently when it has no elements, else with
   PyTorch's deprecation UserWarning;
5. the values are copied in (cast to ``out``'s dtype, through a view into its base), ``out``'s
   version goes up by one, and ``out`` itself (or the tuple of outs) is returned.

Tensor methods never take ``out`` (PyTorch's do not either): ``register`` installs the plain
function as the method.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

from glassgrad._batched import ACTIVE as _VMAP
from glassgrad._batched import out_error
from glassgrad._tensor_info import _C_NAMES, _C_TYPES, _type_name
from glassgrad.autograd.grad_mode import no_grad, state
from glassgrad.backend import WRAPPER_CODES
from glassgrad.tensor import Tensor

__all__ = ["DTYPE_RULES", "castable", "exact", "kinds", "takes_out", "write_out"]

_RESIZED = (
    "An output with one or more elements was resized since it had shape {old}, which does not "
    "match the required output shape {new_list}. This behavior is deprecated, and in a future "
    "PyTorch "
    "release outputs will not be resized unless they have zero elements. You can explicitly "
    "reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0). "
    "(Triggered internally at /pytorch/aten/src/ATen/native/Resize.cpp:38.)"
)
_NO_AUTOGRAD = (
    "{name}(): functions with out=... arguments don't support automatic differentiation, but one "
    "of the arguments requires grad."
)


def _scalar_type(dtype) -> str:
    """PyTorch's ScalarType name (``Float``, ``Long``, ``ComplexFloat``)."""
    name = dtype.name
    if name.startswith("complex"):
        return "ComplexDouble" if name == "complex128" else "ComplexFloat"
    return _C_TYPES.get(name, "BFloat16" if name == "bfloat16" else name)


def _c_type(dtype) -> str:
    """The C++ type name PyTorch's checks print (``float``, ``long int``)."""
    return _C_NAMES.get(dtype.name, _scalar_type(dtype))


def _names(res, out):
    return {
        "res": _scalar_type(res.dtype),
        "out": _scalar_type(out.dtype),
        "res_c": _c_type(res.dtype),
        "out_c": _c_type(out.dtype),
    }


def exact(message):
    """A rule that wants ``out``'s dtype to be the result's; ``message`` is the op's error
    (``{res}``/``{out}``: PyTorch's ScalarType names, ``{res_c}``/``{out_c}``: C++ names)."""

    def rule(res, out):
        if res.dtype is not out.dtype:
            raise RuntimeError(message.format(**_names(res, out)))

    return rule


def castable(message, error=RuntimeError):
    """A rule that casts the result into ``out`` unless that goes down a category (float into
    int, int into bool: PyTorch's ``canCast``)."""

    def rule(res, out):
        if res.dtype._kind > out.dtype._kind:
            raise error(message.format(**_names(res, out)))

    return rule


def kinds(allowed, message, then=None, error=RuntimeError):
    """A rule that wants ``out``'s dtype among ``allowed`` (dtype names), then ``then``'s."""

    def rule(res, out):
        if out.dtype.name not in allowed:
            raise error(message.format(**_names(res, out)))
        if then is not None:
            then(res, out)

    return rule


def both(first, second):
    """``first``'s check, then ``second``'s."""

    def rule(res, out):
        first(res, out)
        second(res, out)

    return rule


def _any(res, out):
    """Copied in with any cast."""


_FLOATS = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")
# The dtype rules by name, each with PyTorch's message. ``register(..., out=<name>)``.
DTYPE_RULES = {
    # TensorIterator's elementwise ops: any cast that does not go down a category
    "cast": castable("result type {res} can't be cast to the desired output type {out}"),
    # TensorIterator ops that keep their input's dtype (floor, neg, clamp, ...)
    "same": exact("Found dtype {out} but expected {res}"),
    # most structured kernels outside TensorIterator (mm, sort, gather, linalg, ...)
    "expected": exact("Expected out tensor to have dtype {res_c}, but got {out_c} instead"),
    "result": exact("result dtype {out} does not match input dtype {res}"),  # matmul, dot
    "where": exact("Expected out type to be {res} but got {out}"),
    "cat": castable(
        "torch.cat(): input types can't be cast to the desired output type {out}", TypeError
    ),
    "mean": castable(
        "mean.dtype_out(): input types can't be cast to the desired output type {out}"
    ),
    "diag": both(
        castable("diag: result type {res} can't be cast to the desired out= type {out}"),
        exact("Expected out tensor to have dtype {res_c}, but got {out_c} instead"),
    ),
    "nonzero": exact(
        "nonzero: Expected out tensor to have scalar type Long but got scalar type{out}"
    ),
    "max": castable(
        "Expected canCast( typeMetaToScalarType(self.dtype()), typeMetaToScalarType(out.dtype()))"
        " to be true, but got false.  (Could this error message be improved?  If so, please "
        "report an enhancement request to PyTorch.)"
    ),
    "amax": exact(
        "Expected the dtype for input and out to match, but got {res} for input's dtype and "
        "{out} for out's dtype."
    ),
    "cummax": exact("expected scalar_type {res} but found {out}"),
    "kthvalue": exact("output values must be of same type as input"),
    "mode": exact("expected scalar type '{res}' but got '{out}' for values output"),
    "float_power": exact(
        "the output given to float_power has dtype {out} but the operation's result requires "
        "dtype {res}"
    ),
    "heaviside": exact("heaviside is not yet implemented for tensors with different dtypes."),
    "index_select": exact("index_select(): self and result must have the same scalar type"),
    "masked_select": exact("masked_select(): self and result must have the same scalar type"),
    "nan_to_num": exact("nan_to_num: dtype of out: {out} should be same as input: {res}"),
    "take": exact(
        "take(): self and out expected to have the same dtype, but got self.dtype = {res} and "
        "out.dtype = {out}"
    ),
    "tensordot": exact(
        "tensordot: Expected the output tensor to have dtype {res}, but got an output tensor "
        "with dtype {out}"
    ),
    "norm": exact("linalg.norm expected out tensor dtype {res} but got: {out}"),
    "matrix_norm": exact("linalg.matrix_norm expected out tensor dtype {res} but got: {out}"),
    "mvlgamma": castable(
        "mvlgamma: result type {res} can't be cast to the desired output type {res}"
    ),
    "all": kinds(("bool", "uint8"), "all only supports bool tensor for result, got: {out}"),
    "any": kinds(("bool", "uint8"), "any only supports bool tensor for result, got: {out}"),
    "signbit": kinds(("bool",), "signbit does not support non-boolean outputs."),
    "logsumexp": kinds(
        _FLOATS,
        "logsumexp(): Expected floating point type for result tensor, but got: {out}",
        castable("result type {res} can't be cast to the desired output type {out}"),
    ),
    "searchsorted": kinds(
        ("int64",),
        "torch.searchsorted(): output tensor's dtype is wrong, it can only be Int(int32) or "
        "Long(int64) depending on whether out_int32 flag is True, but we got output tensor's "
        "dtype {out} and out_int32 flag is False",
    ),
    "cumsum": kinds(
        _FLOATS + ("int64", "int32", "int16", "int8", "uint8"),
        "\"cumsum_out_cpu\" not implemented for '{out}'",
        castable("result type {res} can't be cast to the desired output type {out}"),
        NotImplementedError,
    ),
    "cumprod": kinds(
        _FLOATS + ("int64", "int32", "int16", "int8", "uint8"),
        "\"cumprod_out_cpu\" not implemented for '{out}'",
        castable("result type {res} can't be cast to the desired output type {out}"),
        NotImplementedError,
    ),
    "cholesky": castable(
        "cholesky: Expected result to be safely castable from {res} dtype, but got result with "
        "dtype {out}"
    ),
    "pinv": castable(
        "linalg.pinv: Expected result to be safely castable from {res} dtype, but got result "
        "with dtype {out}"
    ),
    "any_cast": _any,
}


def takes_out(
    name,
    fn,
    dtype="cast",
    dtype_from=None,
    grad_name="",
    out_grad_name=None,
    composite=False,
    warn_resize=True,
    write=True,
    needs=None,
):
    """``fn`` with PyTorch's ``out=`` (see the module docstring).

    Args:
        dtype: the name of its rule in ``DTYPE_RULES``, or a rule (``exact(...)``...).
        dtype_from: "reduce" or "factory" when ``out``'s dtype chooses the result's
            (``cumsum(..., out=)``, ``zeros(..., out=)``) unless a ``dtype`` argument does.
        grad_name: the op PyTorch's autograd refusal names (``name`` by default; the op a
            composite calls, like ``mul`` for ``outer``), or None where PyTorch does not
            refuse inputs that require grad (ops without a derivative, composites).
        out_grad_name: without ``grad_name``, what PyTorch's refusal of an ``out`` that
            requires grad names (``aten::floor_divide``), if it refuses; a text ending in "."
            is the whole message.
        composite: without ``grad_name``, PyTorch computes the result with autograd and copies
            it into ``out`` (``softmax``): ``out`` then requires grad as the result does.
        warn_resize: False where PyTorch resizes ``out`` without its warning (factories and
            samplers call ``resize_`` themselves), or the op's own warning (``{old}``: the
            shape, ``{old_numel}``, ``{numel}``, ``{new}``: the new shape as a tuple).
        write: False for ``empty``, which only resizes ``out``.
        needs: an argument without which PyTorch's overload takes no ``out`` (``median``'s
            ``dim``): a TypeError, as PyTorch's argument parser raises.
    """
    rule = DTYPE_RULES[dtype] if isinstance(dtype, str) else dtype
    spec = (rule, dtype_from, name if grad_name == "" else grad_name)
    spec += (out_grad_name, composite, warn_resize, write)

    @functools.wraps(fn)
    def op(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if _VMAP.levels:
            error = out_error(name, _arrays((args, kwargs, out)))
            if error is not None:
                raise error
        if needs is not None:
            _check_overload(name, fn, args, kwargs, needs)
        return write_out(spec, fn, args, kwargs, out)

    op.out_rule = dtype if isinstance(dtype, str) else dtype.__qualname__
    return op


def _arrays(values):
    """The data of the tensors in nested tuples, lists and dicts."""
    if isinstance(values, Tensor):
        return [values._data]
    if isinstance(values, dict):
        values = tuple(values.values())
    if isinstance(values, (tuple, list)):
        return [array for value in values for array in _arrays(value)]
    return []


def _check_overload(name, fn, args, kwargs, needs):
    bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    if bound.arguments.get(needs) is None:
        raise TypeError(
            f"{name}() received an invalid combination of arguments - its overload without "
            f"'{needs}' takes no 'out'"
        )


WRAPPER_CODES.add(takes_out("", lambda: None).__code__)  # (PyTorch's words for a bad call)


def _requires_grad(value) -> bool:
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(_requires_grad(v) for v in value)
    return False


def write_out(spec, fn, args, kwargs, out):
    """Run ``fn(*args, **kwargs)`` and write its result into ``out`` as PyTorch does (``spec``:
    what ``takes_out`` was given)."""
    rule, dtype_from, grad_name, out_grad_name, composite, warn, write = spec
    outs = _check_outs(fn.__name__, out)
    if state.grad_enabled:
        if grad_name is not None and (
            _requires_grad(args) or _requires_grad(tuple(kwargs.values())) or _requires_grad(outs)
        ):
            raise RuntimeError(_NO_AUTOGRAD.format(name=grad_name))
        if out_grad_name is not None and _requires_grad(outs):
            if " " in out_grad_name:
                raise RuntimeError(out_grad_name)
            raise RuntimeError(_NO_AUTOGRAD.format(name=out_grad_name))
    if dtype_from == "factory":
        given = kwargs.get("dtype")
        if given is not None and given is not outs[0].dtype:
            raise RuntimeError(
                f"dtype {_scalar_type(given)} does not match dtype of out parameter "
                f"({_scalar_type(outs[0].dtype)})"
            )
        kwargs = {**kwargs, "dtype": outs[0].dtype}
    elif dtype_from == "reduce" and kwargs.get("dtype") is None:
        kwargs = {**kwargs, "dtype": outs[0].dtype}
    res = fn(*args, **kwargs)
    results = (res,) if isinstance(res, Tensor) else tuple(res)
    if len(results) != len(outs):
        raise RuntimeError(f"{fn.__name__}(): expected {len(results)} out tensors, got {len(outs)}")
    for made, target in zip(results, outs, strict=True):
        rule(made, target)
    for made, target in zip(results, outs, strict=True):
        resized = _resize(made, target, warn)
        if not write:  # (empty: a resize is its only write)
            if resized and target._vc is not None:
                target._vc[0] += 1
            continue
        if composite and state.grad_enabled:
            target.copy_(made)  # recorded: ``out`` joins the graph as PyTorch's copy does
        else:
            with no_grad():
                np.copyto(target._data, made._data, casting="unsafe")
            counter = target._vc
            if counter is not None:
                counter[0] += 1
    if isinstance(out, Tensor):
        return out
    return _out_type(type(res))(*outs)


def _check_outs(name, out):
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)) and all(isinstance(t, Tensor) for t in out):
        return tuple(out)
    raise TypeError(f"{name}(): argument 'out' must be Tensor, not {_type_name(out)}")


def _resize(made, target, warn=True):
    """Give ``target`` the result's shape (new storage), warning as PyTorch does if it had
    elements."""
    old, shape = target._data, made._data.shape
    if old.shape != shape:
        if old.size and warn:
            text = (_RESIZED if warn is True else warn).format(
                old=list(old.shape),
                new_list=list(shape),
                new=shape,
                old_numel=old.size,
                numel=made._data.size,
            )
            warnings.warn(text, UserWarning, 4)
        target._data = np.empty(shape, dtype=old.dtype)
        return True
    return False


@functools.cache
def _out_type(cls):
    """PyTorch names the tuple an out variant returns ``<name>_out`` (``sort_out``)."""
    if cls is tuple or cls is list:
        return lambda *outs: tuple(outs)
    name = cls.__name__
    out_name = name + "_out"

    def rep(self):
        return cls.__repr__(self).replace(f"return_types.{name}(", f"return_types.{out_name}(", 1)

    members = {"__slots__": (), "__repr__": rep, "__module__": cls.__module__}
    if "_name" in vars(cls) or hasattr(cls, "_name"):
        members["_name"] = out_name
        members.pop("__repr__")
    made = type(out_name, (cls,), members)
    made.__qualname__ = out_name
    return made
