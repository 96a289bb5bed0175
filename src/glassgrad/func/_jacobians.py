"""Jacobians and Hessians: ``jacrev``, ``jacfwd``, ``hessian``, ``jvp``, ``linearize``.

``jacrev`` is one forward pass and one batched backward pass: ``vmap`` over the rows of the
identity as cotangents of ``vjp_fn``. ``jvp`` is forward mode: the function runs once on dual
tensors (``autograd.forward_ad``, a level of its own) and each op's JVP rule carries the
tangents; ``jacfwd`` batches it over the identity as tangents (one forward pass whose tangents
are the whole identity), ``hessian`` is ``jacfwd(jacrev(f))`` (forward over reverse: the
transforms inside keep their gradients' graphs while an enclosing level differentiates them).
"""

from __future__ import annotations

import functools

import numpy as np

from glassgrad._batched import ACTIVE
from glassgrad.autograd import grad as _autograd_grad
from glassgrad.autograd.grad_mode import enable_grad
from glassgrad.creation import zeros_like
from glassgrad.func import _pytree, _transforms
from glassgrad.func._transforms import (
    _diff_args,
    _replace_args,
    _split_aux,
    _track,
    detached,
    needs_graph,
    vjp,
)
from glassgrad.func._vmap import vmap
from glassgrad.tensor import Tensor


def _basis(tensors):
    """One identity over all ``tensors``' elements, split per tensor: row ``i`` is the unit
    cotangent (or tangent) of element ``i``; each piece has shape ``(total, *tensor.shape)``."""
    sizes = [t.numel() for t in tensors]
    total = sum(sizes)
    if len(tensors) == 1 and tensors[0].dtype.is_floating_point:  # (the common case, at once)
        eye = np.eye(total, dtype=tensors[0]._data.dtype)
        return [Tensor._from_array(eye.reshape((total, *tensors[0].shape)))], sizes
    dtype = tensors[0]._data.dtype if tensors else np.float64
    pieces = []
    start = 0
    for tensor, size in zip(tensors, sizes, strict=True):
        block = np.zeros(
            (total, size), dtype=tensor._data.dtype if tensor.dtype.is_floating_point else dtype
        )
        block[start : start + size] = np.eye(size, dtype=block.dtype)
        pieces.append(Tensor._from_array(block.reshape((total, *tensor.shape))))
        start += size
    return pieces, sizes


def _split_rows(jac, sizes, shapes, in_shape):
    """``jac`` (rows: outputs' elements) as one Jacobian per output."""
    if len(sizes) == 1:
        return [jac.reshape(*shapes[0], *in_shape)]
    out = []
    start = 0
    for size, shape in zip(sizes, shapes, strict=True):
        out.append(jac.narrow(0, start, size).reshape(*shape, *in_shape))
        start += size
    return out


def jacrev(
    func, argnums=0, *, has_aux: bool = False, chunk_size=None, _preallocate_and_copy: bool = False
):
    """The Jacobian of ``func`` with respect to ``argnums``, by reverse mode."""
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        diff = _diff_args(args, argnums, "jacrev")
        flat_in, in_spec = _pytree.tree_flatten(diff)

        def inner(*diff_flat):
            call = _replace_args(args, argnums, _pytree.tree_unflatten(list(diff_flat), in_spec))
            return func(*call, **kwargs)

        found = vjp(inner, *flat_in, has_aux=has_aux)
        out, vjp_fn = found[0], found[1]
        flat_out, out_spec = _pytree.tree_flatten(out)
        basis, sizes = _basis(flat_out)
        rows = vmap(
            lambda *ct: vjp_fn(_pytree.tree_unflatten(list(ct), out_spec)), chunk_size=chunk_size
        )(*basis)
        shapes = [o.shape for o in flat_out]
        per_input = [
            _split_rows(r, sizes, shapes, x.shape) for r, x in zip(rows, flat_in, strict=True)
        ]
        jacs = []
        for index in range(len(flat_out)):
            leaves = [per_input[j][index] for j in range(len(flat_in))]
            jacs.append(_pytree.tree_unflatten(leaves, in_spec))
        result = _pytree.tree_unflatten(jacs, out_spec)
        return (result, found[2]) if has_aux else result

    return wrapper


# -- forward mode ----------------------------------------------------------------------------
def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)``: the Jacobian-vector product."""
    if not isinstance(primals, tuple):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be "
            "valid to call f(*primals)."
        )
    flat_p, p_spec = _pytree.tree_flatten(primals)
    flat_t, t_spec = _pytree.tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python "
            f"structure. For example, if primals is a tuple of 3 tensors, tangents also must "
            f"be. Got primals with structure {p_spec!r} and tangents with structure {t_spec!r}"
        )
    for p, t in zip(flat_p, flat_t, strict=True):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise ValueError(
                "Thing passed to transform API must be Tensor, got "
                f"{type(p if not isinstance(p, Tensor) else t)}"
            )
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}."
            )
    if any(t.requires_grad for t in (*flat_p, *flat_t)):
        return _reverse_jvp(func, flat_p, p_spec, flat_t, has_aux)
    return _forward_jvp(func, flat_p, p_spec, flat_t, has_aux)


def _reverse_jvp(func, flat_p, p_spec, flat_t, has_aux):
    """``jvp`` as the transpose of a vjp, where reverse mode differentiates the result (the
    primals or tangents require grad: ``jacrev(jacfwd(f))``): the tangents are then made by
    reverse-mode rules only, whose gradients batched by an enclosing ``vmap`` are summed as
    the engine knows how (forward rules' graphs there are not, yet)."""
    with enable_grad():
        inner = [_track(t, "jvp") for t in flat_p]
        out = func(*_pytree.tree_unflatten(inner, p_spec))
        out, aux = _split_aux(out, has_aux, "jvp")
        flat_out, out_spec = _pytree.tree_flatten(out)
        for value in flat_out:
            if not isinstance(value, Tensor):
                raise RuntimeError(
                    "jvp(f, primals, tangents): Expected f(*primals) to return only tensors, got "
                    f"unsupported type {type(value)}"
                )
        tangents_out = _transpose_vjp(flat_out, inner, flat_t)
    made = (
        _pytree.tree_unflatten(flat_out, out_spec),
        _pytree.tree_unflatten(tangents_out, out_spec),
    )
    return (*made, aux) if has_aux else made


def _transpose_vjp(outputs, inputs, tangents):
    """J @ tangents from reverse mode: ``u -> J^T u`` is linear, so its gradient with respect
    to ``u`` along ``tangents`` is ``J @ tangents``."""
    pairs = [(o, i) for i, o in enumerate(outputs) if o.requires_grad]
    made = [zeros_like(o) for o in outputs]
    if not pairs:
        return made
    dummies = [zeros_like(o).requires_grad_() for o, _ in pairs]
    back = _autograd_grad(
        [o for o, _ in pairs], inputs, dummies, create_graph=True, allow_unused=True
    )
    used = [(b, t) for b, t in zip(back, tangents, strict=True) if b is not None]
    if not used:
        return made
    forward = _autograd_grad(
        [b for b, _ in used], dummies, [t for _, t in used], create_graph=True, allow_unused=True
    )
    for (_, index), value in zip(pairs, forward, strict=True):
        if value is not None:
            made[index] = value
    return made


def _forward_jvp(func, flat_p, p_spec, flat_t, has_aux):
    """``jvp`` by forward mode: ``func`` runs once on dual tensors (a level of its own)."""
    from glassgrad.autograd import forward_ad as fw

    level = fw._enter()
    _transforms.MADE.append([])
    ACTIVE.transforms += 1  # (an autograd.Function inside runs as torch.func requires)
    try:
        with _transforms.unrecorded():
            duals = [fw._make_dual(p, t, level) for p, t in zip(flat_p, flat_t, strict=True)]
            out = func(*_pytree.tree_unflatten(duals, p_spec))
        out, aux = _split_aux(out, has_aux, "jvp")
        flat_out, out_spec = _pytree.tree_flatten(out)
        primals_out, tangents_out = [], []
        for value in flat_out:
            if not isinstance(value, Tensor):
                raise RuntimeError(
                    "jvp(f, primals, tangents): Expected f(*primals) to return only tensors, got "
                    f"unsupported type {type(value)}"
                )
            tangent = fw._fs.get(value, fw._fs.LEVELS[level])
            primals_out.append(value)
            tangents_out.append(zeros_like(value) if tangent is None else tangent)
        made_inside = _transforms.MADE[-1]
    finally:
        ACTIVE.transforms -= 1
        _transforms.MADE.pop()
        fw._exit(level)
    if not needs_graph([*primals_out, *tangents_out], made_inside, [*flat_p, *flat_t]):
        primals_out = [detached(o) for o in primals_out]
        tangents_out = [detached(t) for t in tangents_out]
    made = (
        _pytree.tree_unflatten(primals_out, out_spec),
        _pytree.tree_unflatten(tangents_out, out_spec),
    )
    return (*made, aux) if has_aux else made


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` with respect to ``argnums``, by forward mode."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        diff = _diff_args(args, argnums, "jacfwd")
        flat_in, in_spec = _pytree.tree_flatten(diff)
        for value in flat_in:
            if not isinstance(value, Tensor):
                raise ValueError(f"Thing passed to transform API must be Tensor, got {type(value)}")

        def inner(*diff_flat):
            call = _replace_args(args, argnums, _pytree.tree_unflatten(list(diff_flat), in_spec))
            return func(*call, **kwargs)

        basis, sizes = _basis(flat_in)

        def push(*tangents):
            found = jvp(inner, tuple(flat_in), tuple(tangents), has_aux=has_aux)
            return found[1] if not has_aux else (found[1], found[2])

        columns = vmap(push, randomness=randomness, out_dims=(0, None) if has_aux else 0)(*basis)
        aux = None
        if has_aux:
            columns, aux = columns
        out_cols, out_spec = _pytree.tree_flatten(columns)
        jacs = []
        for column in out_cols:  # (total inputs, *out.shape)
            moved = column.movedim(0, -1) if column.dim() > 1 else column
            leaves = []
            start = 0
            for x, size in zip(flat_in, sizes, strict=True):
                part = moved if len(sizes) == 1 else moved.narrow(-1, start, size)
                leaves.append(part.reshape(*column.shape[1:], *x.shape))
                start += size
            jacs.append(_pytree.tree_unflatten(leaves, in_spec))
        result = _pytree.tree_unflatten(jacs, out_spec)
        if has_aux:
            return result, _pytree.tree_map(lambda a: a, aux)
        return result

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of scalar-valued ``func``: ``jacfwd(jacrev(func))``."""
    return jacfwd(jacrev(func, argnums), argnums)


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` is J @ tangents at primals."""
    out = func(*primals)
    flat_out, out_spec = _pytree.tree_flatten(out)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return _pytree.tree_map(lambda o: o.detach() if isinstance(o, Tensor) else o, out), jvp_fn
