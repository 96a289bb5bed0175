"""``einsum``: NumPy's einsum forward; each operand's gradient is an einsum of the output
gradient with the other operands, broadcast over the letters only that operand has and placed on
the diagonal where an operand repeats a letter (``'ii->i'``)."""

from __future__ import annotations

import string

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor

_LETTERS = string.ascii_letters


def _parse(equation, shapes):
    """Explicit ``(input subscripts, output subscripts)``, with ``...`` spelled as letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(inputs) < len(shapes)
            else "einsum(): fewer operands were provided than specified in the equation"
        )
    spare = [c for c in _LETTERS if c not in equation]
    width = max(
        [len(s) - (len(t) - 3) for t, s in zip(inputs, shapes, strict=True) if "..." in t] or [0]
    )
    ell = "".join(spare[:width])
    inputs = [
        t.replace("...", ell[width - (len(s) - (len(t) - 3)) :]) if "..." in t else t
        for t, s in zip(inputs, shapes, strict=True)
    ]
    if arrow:
        output = rhs.replace("...", ell)
    else:
        counts = {c: "".join(inputs).count(c) for c in "".join(inputs)}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return inputs, output


def _einsum_arrays(equation, *operands):
    return np.einsum(equation, *operands, optimize=len(operands) > 2)


def _call(equation, operands):
    if all(D._is_array(x) for x in operands):
        return _einsum_arrays(equation, *operands)
    return einsum(
        equation, *[x if isinstance(x, Tensor) else Tensor._from_array(x) for x in operands]
    )


def _operand_grad(grad, operands, inputs, output, index, shape):
    mine = inputs[index]
    unique = "".join(dict.fromkeys(mine))
    others = [(t, x) for i, (t, x) in enumerate(zip(inputs, operands, strict=True)) if i != index]
    available = set(output).union(*[set(t) for t, _ in others])
    present = "".join(c for c in unique if c in available)
    terms = ",".join([output] + [t for t, _ in others])
    part = _call(f"{terms}->{present}", [grad] + [x for _, x in others])
    sizes = {c: shape[mine.index(c)] for c in unique}
    if present != unique:  # letters summed away inside this operand alone: broadcast back
        part = D.reshape(part, tuple(sizes[c] if c in present else 1 for c in unique))
        part = D.expand(part, tuple(sizes[c] for c in unique))
    if unique == mine:
        return part
    rank = len(unique)
    key = tuple(
        np.arange(sizes[c]).reshape([-1 if j == unique.index(c) else 1 for j in range(rank)])
        for c in mine
    )
    return D.scatter_into(shape, key, part)


def _einsum_backward(ctx, grad, *operands):
    inputs, output = ctx._args
    return tuple(
        None
        if edge[0] is None
        else _operand_grad(grad, operands, inputs, output, i, ctx._meta[i][0])
        for i, edge in enumerate(ctx.next_functions)
    )


def _einsum_jvp(ctx, *tangents):
    """Multilinear: one contraction per operand with a tangent, that operand replaced by it."""
    inputs, output = ctx.args
    total = None
    for i, tangent in enumerate(tangents):
        if tangent is None:
            continue
        operands = list(ctx.inputs)
        operands[i] = tangent
        term = _fused(inputs, output, operands)
        total = term if total is None else total + term
    return total


EinsumBackward0 = node_class("EinsumBackward0", _einsum_backward, jvp=_einsum_jvp)


def _fused(inputs, output, operands):
    """The whole contraction as one recorded node (the graph's inner part)."""
    explicit = ",".join(inputs) + "->" + output
    out = _einsum_arrays(explicit, *[x._data for x in operands])
    # as PyTorch: an operand is saved only if another operand's gradient needs it
    saved = [
        x if needs_grad(*operands[:i], *operands[i + 1 :]) else None for i, x in enumerate(operands)
    ]
    return result(out, EinsumBackward0, operands, saved=saved, args=(inputs, output))


def _broadcast_term(term, x, output):
    """``x`` (subscripts ``term``, no repeats, all in ``output``) laid out along ``output``."""
    present = [c for c in output if c in term]
    x = x.permute([term.index(c) for c in present])
    sizes = dict(zip(present, x.shape, strict=True))
    return x.reshape([sizes.get(c, 1) for c in output])


def einsum(equation, *operands):
    """Sum of products over the subscripts of ``equation`` (NumPy's einsum convention).

    The contraction is one fused node; the node on top is the one PyTorch's einsum ends with,
    so ``grad_fn`` reads the same: ``SumBackward1`` or ``PermuteBackward0`` for one operand,
    ``ViewBackward0`` when subscripts are summed over several operands, ``MulBackward0`` when
    nothing is summed (an outer or elementwise product).
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    inputs, output = _parse(equation, [x._data.shape for x in operands])
    _check_sizes(inputs, output, operands)
    summed = "".join(c for c in dict.fromkeys("".join(inputs)) if c not in output)
    if len(operands) == 1:
        if summed:
            full = _fused(inputs, output + summed, operands)
            return full.sum(tuple(range(len(output), len(output) + len(summed))))
        # a repeated subscript takes a diagonal: a view of the operand, as in PyTorch
        x, labels = operands[0], list(inputs[0])
        while len(set(labels)) < len(labels):
            first = next(i for i, c in enumerate(labels) if labels.count(c) > 1)
            second = labels.index(labels[first], first + 1)
            x = x.diagonal(0, first, second)
            labels = [c for i, c in enumerate(labels) if i not in (first, second)] + [labels[first]]
        return x.permute([labels.index(c) for c in output])
    if summed:
        _same_scalar_type(inputs, output, operands)
        out = _fused(inputs, output, operands)
        return out.view(out.shape)
    product = None
    for term, x in zip(inputs, operands, strict=True):
        unique = "".join(dict.fromkeys(term))
        if unique != term:
            x = _fused([term], unique, (x,))
        x = _broadcast_term(unique, x, output)
        product = x if product is None else product * x
    return product


def _same_scalar_type(inputs, output, operands):
    """PyTorch contracts operands pairwise, left to right. A pair sharing a subscript summed
    away there is a batched product, which takes one dtype; a pair with none (subscripts of one
    operand alone are summed first) is a broadcast multiply, which promotes."""
    dtype = operands[0].dtype
    held = set(inputs[0])
    for index in range(1, len(operands)):
        later = set(output).union(*inputs[index + 1 :])
        other = operands[index].dtype
        if (held & set(inputs[index])) - later:
            if dtype != other:
                raise RuntimeError(
                    f"expected scalar type {_C_TYPES[dtype.name]} but found {_C_TYPES[other.name]}"
                )
        else:
            dtype = _dt.promote_types(dtype, other)
        held = (held | set(inputs[index])) & later


def _check_sizes(inputs, output, operands):
    seen = {}
    for number, (term, x) in enumerate(zip(inputs, operands, strict=True)):
        if len(term) != x._data.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(term)}) "
                f"does not match the number of dimensions ({x._data.ndim}) for "
                f"operand {number} and no ellipsis was given"
            )
        for c, n in zip(term, x._data.shape, strict=True):
            if seen.setdefault(c, n) != n and n != 1 and seen[c] != 1:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {number} "
                    f"which does not broadcast with previously seen size {seen[c]}"
                )
    for c in output:
        if c not in seen:
            raise RuntimeError(
                f"einsum(): output subscript {c} does not appear in the equation "
                "for any input operand"
            )


def _ref(equation, *operands):
    return np.einsum(equation, *operands)


register(
    "einsum",
    einsum,
    method=False,
    nin=2,
    reference=_ref,
    samples=lambda rng: [
        (("ij,jk->ik", rng.standard_normal((2, 3)), rng.standard_normal((3, 4))), {}),
        (("ii->i", rng.standard_normal((3, 3))), {}),
        (("ij->", rng.standard_normal((2, 3))), {}),
        (("bij,bjk", rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 2))), {}),
        (("...i,i->...", rng.standard_normal((2, 3)), rng.standard_normal(3)), {}),
        (("i,j->ij", rng.standard_normal(2), rng.standard_normal(3)), {}),
        (("ij,ij->ji", rng.standard_normal((2, 3)), rng.standard_normal((2, 3))), {}),
        (("ii,i->i", rng.standard_normal((3, 3)), rng.standard_normal(3)), {}),
        (("ij->ji", rng.standard_normal((2, 3))), {}),
        (("ii", rng.standard_normal((3, 3))), {}),
        (("i,j->", rng.standard_normal(2), rng.standard_normal(3)), {}),
        (
            (
                "ij,jk,kl->il",
                rng.standard_normal((2, 3)),
                rng.standard_normal((3, 2)),
                rng.standard_normal((2, 2)),
            ),
            {},
        ),
    ],
)
