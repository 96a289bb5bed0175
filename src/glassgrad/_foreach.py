"""``torch._foreach_*``: one op applied across lists of tensors, as optimizers (timm's) call them.

PyTorch's CPU build runs these as a loop over the tensors (its "slow path"); so does glassgrad,
over its own ops, which gives each element PyTorch's dtype promotion, broadcasting errors and
autograd. Out-of-place forms return a tuple of new tensors, in-place forms return the list they
were given. The overloads are PyTorch's: a scalar, a list of scalars (``ScalarList``), a list of
tensors (``List``) and, where PyTorch has it, one 0-d tensor (``Tensor``).
"""

from __future__ import annotations

import numbers

from glassgrad.tensor import Tensor

__all__: list[str] = []

_UNARY = (
    "abs acos asin atan ceil cos cosh erf erfc exp expm1 floor frac lgamma log log10 log1p log2"
    " neg reciprocal round rsqrt sigmoid sign sin sinh sqrt tan tanh trunc"
).split()


def _tensors(name: str, value, position: int = 1, argument: str = "self", call=None) -> list:
    """``value`` as a non-empty list of tensors, or PyTorch's argument error (for an op with
    several overloads, ``call`` holds its arguments for PyTorch's no-overload-matched text)."""
    if call is not None and not isinstance(value, (list, tuple)):
        raise _invalid(name, *call)
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, Tensor) for t in value):
        if isinstance(value, (list, tuple)):
            bad = next(i for i, t in enumerate(value) if not isinstance(t, Tensor))
            raise TypeError(
                f"expected Tensor as element {bad} in argument {position - 1}, "
                f"but got {type(value[bad]).__name__}"
            )
        raise TypeError(
            f"{name}(): argument '{argument}' (position {position}) must be tuple of Tensors, "
            f"not {type(value).__name__}"
        )
    if len(value) == 0:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return list(value)


def _same_length(first: list, other: list) -> None:
    if len(first) != len(other):
        raise RuntimeError(
            f"Tensor lists must have the same number of tensors, got {len(first)} and {len(other)}"
        )


def _is_scalar(value) -> bool:
    return isinstance(value, numbers.Number) or (isinstance(value, Tensor) and value.dim() == 0)


def _scalars(tensors: list, scalars) -> list:
    if len(scalars) != len(tensors):
        raise RuntimeError("Tensor list must have same number of elements as scalar list.")
    return list(scalars)


def _invalid(name: str, *args) -> TypeError:
    """PyTorch's no-overload-matched error (its first line word for word, then the overloads)."""
    got = ", ".join(type(a).__name__ for a in args)
    method = name.removeprefix("_foreach_").rstrip("_")
    alpha = ", *, Number alpha = 1" if method in ("add", "sub") else ""
    overloads = ["Number scalar", "tuple of Scalars scalars"]
    if method in ("add", "mul", "div"):
        overloads.append(f"Tensor other{alpha}")
    overloads.append(f"tuple of Tensors other{alpha}")
    lines = "".join(f" * (tuple of Tensors self, {o})\n" for o in overloads)
    return TypeError(
        f"{name}() received an invalid combination of arguments - got ({got}), but expected "
        f"one of:\n{lines}"
    )


def _others(name: str, tensors: list, other, tensor_overload: bool) -> list:
    """One second operand per tensor, from whichever of PyTorch's overloads ``other`` fits."""
    if isinstance(other, (list, tuple)):
        if len(other) > 0 and isinstance(other[0], Tensor):
            other = _tensors(name, other, 2, "other")
            _same_length(tensors, other)
            return other
        if all(isinstance(s, numbers.Number) for s in other):
            return _scalars(tensors, other)
    elif isinstance(other, Tensor) and tensor_overload:
        if other.dim() != 0:
            raise RuntimeError(
                f"scalar tensor expected to be 0 dim but it has {other.dim()} dimensions and "
                f"{other.numel()} elements."
            )
        return [other] * len(tensors)
    elif _is_scalar(other):
        value = other.item() if isinstance(other, Tensor) else other
        return [value] * len(tensors)
    raise _invalid(name, tensors, other)


# maximum/minimum with scalars are clamps (``Tensor.maximum`` takes tensors only, as PyTorch's)
_SCALAR_FORM = {"maximum": "clamp_min", "minimum": "clamp_max"}
_IN_PLACE_FORM = {"maximum": "clamp_min", "minimum": "clamp_max"}


def _method(tensor: Tensor, method: str, other, in_place: bool):
    if in_place:
        return getattr(tensor, _IN_PLACE_FORM.get(method, method) + "_")
    if not isinstance(other, Tensor):
        method = _SCALAR_FORM.get(method, method)
    return getattr(tensor, method)


def _binary(method: str, tensor_overload: bool, takes_alpha: bool):
    name = f"_foreach_{method}"

    def out_of_place(self, other, *, alpha=1):
        tensors = _tensors(name, self, call=(self, other))
        others = _others(name, tensors, other, tensor_overload)
        if alpha != 1:
            _check_alpha(name, other, takes_alpha)
            return tuple(
                _method(t, method, o, False)(o, alpha=alpha)
                for t, o in zip(tensors, others, strict=True)
            )
        return tuple(_method(t, method, o, False)(o) for t, o in zip(tensors, others, strict=True))

    def in_place(self, other, *, alpha=1):
        tensors = _tensors(name + "_", self, call=(self, other))
        others = _others(name + "_", tensors, other, tensor_overload)
        if alpha != 1:
            _check_alpha(name + "_", other, takes_alpha)
            for t, o in zip(tensors, others, strict=True):
                _method(t, method, o, True)(o, alpha=alpha)
        else:
            for t, o in zip(tensors, others, strict=True):
                _method(t, method, o, True)(o)
        return self

    return _named(out_of_place, name, method), _named(in_place, name + "_", method, True)


def _check_alpha(name: str, other, takes_alpha: bool) -> None:
    """``alpha`` exists only on the tensor-list (and 0-d tensor) overloads of add and sub."""
    if not takes_alpha or _is_scalar(other) and not isinstance(other, Tensor):
        raise _invalid(name, other)


def _unary(method: str):
    name = f"_foreach_{method}"

    def out_of_place(self):
        return tuple(getattr(t, method)() for t in _tensors(name, self))

    def in_place(self):
        for t in _tensors(name + "_", self):
            getattr(t, method + "_")()
        return self

    return _named(out_of_place, name, method), _named(in_place, name + "_", method, True)


def _named(function, name: str, method: str, in_place: bool = False):
    function.__name__ = function.__qualname__ = name
    where = "in place on each tensor" if in_place else "to each tensor, returning new ones"
    function.__doc__ = f"``Tensor.{method}`` applied {where} (``torch.{name}``)."
    return function


def _pointwise(method: str):
    """addcmul/addcdiv: a scalar ``value``, a list of them, or a 1-D tensor packing them."""
    name = f"_foreach_{method}"

    def values(tensors, value):
        if isinstance(value, Tensor):
            if value.dim() != 1:
                raise RuntimeError(
                    f"Expected packed scalar Tensor to be of dimension 1. Got {value.dim()} "
                    "instead."
                )
            if value.numel() != len(tensors):
                raise RuntimeError(
                    f"Expected length of scalars to match input of length {len(tensors)} but "
                    f"got {value.numel()} instead."
                )
            return value.tolist()
        if isinstance(value, (list, tuple)):
            return _scalars(tensors, value)
        return [value] * len(tensors)

    def operands(own, self, tensor1, tensor2):
        tensors = _tensors(own, self)
        first, second = _tensors(own, tensor1, 2, "tensor1"), _tensors(own, tensor2, 3, "tensor2")
        _same_length(tensors, first)
        _same_length(tensors, second)
        return tensors, first, second

    def out_of_place(self, tensor1, tensor2, value=1):
        tensors, first, second = operands(name, self, tensor1, tensor2)
        scalars = values(tensors, value)
        return tuple(
            getattr(t, method)(a, b, value=v)
            for t, a, b, v in zip(tensors, first, second, scalars, strict=True)
        )

    def in_place(self, tensor1, tensor2, value=1):
        tensors, first, second = operands(name + "_", self, tensor1, tensor2)
        for t, a, b, v in zip(tensors, first, second, values(tensors, value), strict=True):
            getattr(t, method + "_")(a, b, value=v)
        return self

    return _named(out_of_place, name, method), _named(in_place, name + "_", method, True)


def _lerp_weights(name, tensors, weight):
    if isinstance(weight, (list, tuple)) and len(weight) > 0 and isinstance(weight[0], Tensor):
        weight = _tensors(name, weight, 3, "weights")
        _same_length(tensors, weight)
        return weight
    if isinstance(weight, (list, tuple)):
        return _scalars(tensors, weight)
    return [weight] * len(tensors)


def _foreach_lerp(self, tensors1, weight):
    """``Tensor.lerp`` applied to each tensor, returning new ones (``torch._foreach_lerp``)."""
    tensors = _tensors("_foreach_lerp", self)
    ends = _tensors("_foreach_lerp", tensors1, 2, "tensors1")
    _same_length(tensors, ends)
    weights = _lerp_weights("_foreach_lerp", tensors, weight)
    return tuple(t.lerp(e, w) for t, e, w in zip(tensors, ends, weights, strict=True))


def _foreach_lerp_(self, tensors1, weight):
    """``Tensor.lerp_`` applied in place on each tensor (``torch._foreach_lerp_``)."""
    tensors = _tensors("_foreach_lerp_", self)
    ends = _tensors("_foreach_lerp_", tensors1, 2, "tensors1")
    _same_length(tensors, ends)
    for t, e, w in zip(
        tensors, ends, _lerp_weights("_foreach_lerp_", tensors, weight), strict=True
    ):
        t.lerp_(e, w)
    return self


def _foreach_pow(self, exponent):
    """``pow`` of each tensor (or of one scalar base to each exponent tensor)."""
    from glassgrad.ops.elementwise.power import pow as power

    if _is_scalar(self) and not isinstance(self, Tensor):
        exponents = _tensors("_foreach_pow", exponent, 2, "exponent")
        return tuple(power(self, e) for e in exponents)
    tensors = _tensors("_foreach_pow", self)
    return tuple(
        t.pow(e)
        for t, e in zip(tensors, _others("_foreach_pow", tensors, exponent, False), strict=True)
    )


def _foreach_pow_(self, exponent):
    """``Tensor.pow_`` applied in place on each tensor (``torch._foreach_pow_``)."""
    tensors = _tensors("_foreach_pow_", self)
    for t, e in zip(tensors, _others("_foreach_pow_", tensors, exponent, False), strict=True):
        t.pow_(e)
    return self


def _foreach_norm(self, ord=2, dtype=None):
    """``linalg.vector_norm`` of each tensor, as 0-d tensors (``torch._foreach_norm``)."""
    from glassgrad.linalg import vector_norm

    return tuple(vector_norm(t, ord, dtype=dtype) for t in _tensors("_foreach_norm", self))


def _foreach_powsum(self, ord=2, dtype=None):
    """``sum(|t| ** ord)`` of each tensor (``torch._foreach_powsum``)."""
    tensors = _tensors("_foreach_powsum", self)
    return tuple((t if dtype is None else t.to(dtype)).abs().pow(ord).sum() for t in tensors)


def _foreach_max(self):
    """The largest element of each tensor, as 0-d tensors (``torch._foreach_max``)."""
    tensors = _tensors("_foreach_max", self)
    if any(t.numel() == 0 for t in tensors):
        raise RuntimeError(
            "_foreach_max cannot compute the maximum of an empty tensor; max over zero elements "
            "is undefined."
        )
    return tuple(t.max() for t in tensors)


def _foreach_clone(self, *, memory_format=None):
    """A copy of each tensor (``torch._foreach_clone``)."""
    return tuple(t.clone() for t in _tensors("_foreach_clone", self))


def _foreach_copy_(self, src, non_blocking=False):
    """Copy each tensor of ``src`` into the matching one of ``self``."""
    tensors = _tensors("_foreach_copy_", self)
    sources = _tensors("_foreach_copy_", src, 2, "src")
    _same_length(tensors, sources)
    for t, s in zip(tensors, sources, strict=True):
        t.copy_(s)
    return self


def _foreach_zero_(self):
    """Fill each tensor with zeros in place (``torch._foreach_zero_``)."""
    for t in _tensors("_foreach_zero_", self):
        t.zero_()
    return self


def _foreach_mm(self, mat2):
    """``mm`` of each pair of matrices (``torch._foreach_mm``)."""
    tensors = _tensors("_foreach_mm", self)
    others = _tensors("_foreach_mm", mat2, 2, "mat2")
    _same_length(tensors, others)
    return tuple(a.mm(b) for a, b in zip(tensors, others, strict=True))


def _define() -> None:
    namespace = globals()
    specs = {
        "add": (True, True),
        "sub": (False, True),
        "mul": (True, False),
        "div": (True, False),
        "maximum": (False, False),
        "minimum": (False, False),
        "clamp_min": (False, False),
        "clamp_max": (False, False),
    }
    made = [_binary(m, tensor_overload, alpha) for m, (tensor_overload, alpha) in specs.items()]
    made += [_unary(m) for m in _UNARY] + [_pointwise("addcmul"), _pointwise("addcdiv")]
    for pair in made:
        for function in pair:
            namespace[function.__name__] = function
    names = [n for n in namespace if n.startswith("_foreach_")]
    __all__.extend(sorted(names))


_define()
