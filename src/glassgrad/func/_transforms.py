"""Reverse-mode transforms: ``grad``, ``grad_and_value``, ``vjp`` (PyTorch's torch.func).

Each transform runs the function on fresh tensors that require grad and asks the engine for
gradients of its output with respect to them. The engine keeps the gradient's own graph
(``create_graph``) only when something outside the transform can still differentiate it: an
input that already requires grad (an enclosing ``grad``, ``vjp`` or plain autograd), or a
tensor the function captured that does; so ``grad(grad(f))`` is a second derivative while a
single ``grad`` pays only for first-order backward.
"""

from __future__ import annotations

import functools

from glassgrad import autograd
from glassgrad._batched import ACTIVE
from glassgrad.autograd import forward_state as _fs
from glassgrad.autograd.forward_rules import carry
from glassgrad.autograd.grad_mode import enable_grad, is_grad_enabled
from glassgrad.autograd.node import AccumulateGrad
from glassgrad.creation import zeros_like
from glassgrad.func import _pytree
from glassgrad.tensor import Tensor


def _diff_args(args, argnums, api):
    """The arguments ``argnums`` picks (one, or a tuple of them)."""
    if isinstance(argnums, int):
        if not -len(args) <= argnums < len(args):
            raise RuntimeError(f"Got argnum={argnums}, but only {len(args)} positional inputs")
        return args[argnums]
    if not isinstance(argnums, tuple):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if not argnums:
        raise RuntimeError("argnums must be non-empty")
    for num in argnums:
        if not isinstance(num, int):
            raise RuntimeError(f"argnum must be int, got: {type(num)}")
        if not -len(args) <= num < len(args):
            raise RuntimeError(f"Got argnum={num}, but only {len(args)} positional inputs")
    if len(set(n % len(args) for n in argnums)) != len(argnums):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(args[num] for num in argnums)


def _replace_args(args, argnums, new):
    args = list(args)
    if isinstance(argnums, int):
        args[argnums] = new
    else:
        for num, value in zip(argnums, new, strict=True):
            args[num] = value
    return tuple(args)


def _track(tensor, api):
    """A tensor to differentiate with respect to: connected to ``tensor``'s graph when that
    one requires grad (so an enclosing transform sees through), else a fresh leaf."""
    if not isinstance(tensor, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(tensor)}")
    if tensor.requires_grad:
        return tensor.view_as(tensor)
    leaf = _unrecorded(lambda: tensor.detach().requires_grad_())
    if _fs.ACTIVE[0]:
        carry(leaf, tensor)  # an enclosing jvp/jacfwd differentiates through (forward over reverse)
        if MADE:
            MADE[-1].append(leaf)
    return leaf


MADE: list = []  # per running forward-mode jvp: the leaves transforms inside it made


def needs_graph(outputs, inputs, extra=()) -> bool:
    """Whether the gradient's own graph must be kept: an input or cotangent requires grad from
    outside, or the outputs reach a leaf that requires grad other than ``inputs``."""
    if not is_grad_enabled():
        return False
    if any(isinstance(t, Tensor) and t.requires_grad for t in extra):
        return True
    if _fs.ACTIVE[0] and any(
        isinstance(t, Tensor) and _fs.is_dual(t) for t in (*extra, *inputs, *outputs)
    ):
        return True  # an enclosing forward level differentiates the gradient
    own = {id(t) for t in inputs if t.grad_fn is None}
    seen = set()
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            variable = node._variable()
            if variable is not None and id(variable) not in own:
                return True
            continue
        for edge in node.next_functions or ():
            if edge[0] is not None:
                stack.append(edge[0])
    return False


def _materialize(grads, inputs):
    return [zeros_like(t) if g is None else g for g, t in zip(grads, inputs, strict=True)]


def _release(value, keep):
    """``value`` as the transform returns it: detached from its own level unless kept."""
    if keep or not isinstance(value, Tensor):
        return value
    return detached(value)


def detached(value):
    """``value.detach()`` without glass's provenance record: the transform's own level ends
    here, which is no cut in any graph the user made (and the record's frame walk costs more
    than a small Jacobian's arithmetic)."""
    return _unrecorded(value.detach) if value.requires_grad else value.detach()


def _unrecorded(make):
    """``make()`` with glass's provenance records off (a transform's own leaves and cuts)."""
    with unrecorded():
        return make()


class unrecorded:  # noqa: N801 - used as a context manager, as grad_mode's are
    """Glass's provenance records off while a transform runs the function and its backward:
    the graphs there are the transform's own, which no explanation reads, and each record
    walks the stack to the user's frame through every transform's frames, on every op."""

    def __enter__(self) -> None:
        from glassgrad.autograd import provenance

        self.previous = provenance.enabled
        provenance.enabled = False

    def __exit__(self, *exc) -> None:
        from glassgrad.autograd import provenance

        provenance.enabled = self.previous


# -- grad ----------------------------------------------------------------------------------
def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient with respect to ``argnums`` and its value: ``(grad, value)``, or
    ``(grad, (value, aux))`` with ``has_aux``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        diff = _diff_args(args, argnums, "grad_and_value")
        flat, spec = _pytree.tree_flatten(diff)
        with enable_grad(), unrecorded():
            inner = [_track(t, "grad_and_value") for t in flat]
            ACTIVE.transforms += 1
            try:
                out = func(
                    *_replace_args(args, argnums, _pytree.tree_unflatten(inner, spec)), **kwargs
                )
            finally:
                ACTIVE.transforms -= 1
            out, aux = _split_aux(out, has_aux, "grad_and_value")
            if not isinstance(out, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(out)}"
                )
            if out.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev "
                    "APIs instead?"
                )
            keep = needs_graph((out,), inner, flat)
            if out.requires_grad:
                found = autograd.grad(out, inner, create_graph=keep, allow_unused=True)
            else:
                found = [None] * len(inner)
        grads = _pytree.tree_unflatten(_materialize(found, inner), spec)
        value = _release(out, keep)
        if has_aux:
            return grads, (value, _pytree.tree_map(lambda a: _release(a, keep), aux))
        return grads, value

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The gradient of scalar-valued ``func`` with respect to its ``argnums`` inputs."""
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = inner(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def _split_aux(out, has_aux, api):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(
            f"{api}(f)(*args): output of function f should be a tuple: (output, aux) if "
            "has_aux is True"
        )
    return out


# -- vjp -----------------------------------------------------------------------------------
def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives the vector-Jacobian product
    with respect to each primal (a tuple), as often as asked."""
    flat, spec = _pytree.tree_flatten(primals)
    with enable_grad(), unrecorded():
        inner = [_track(t, "vjp") for t in flat]
        ACTIVE.transforms += 1
        try:
            out = func(*_pytree.tree_unflatten(inner, spec))
        finally:
            ACTIVE.transforms -= 1
        out, aux = _split_aux(out, has_aux, "vjp")
    flat_out, out_spec = _pytree.tree_flatten(out)
    for value in flat_out:
        if not isinstance(value, Tensor):
            raise RuntimeError(
                "vjp(f, *primals): expected f(*primals) to return only tensors, got "
                f"unsupported type {type(value)}"
            )
        if not value.dtype.is_floating_point and not value.dtype.is_complex:
            raise RuntimeError(
                "vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                f"Tensor with dtype {value.dtype}"
            )
    keep = needs_graph(flat_out, inner, flat)

    def vjp_fn(cotangents, *, retain_graph=True, create_graph=None):
        flat_ct, ct_spec = _pytree.tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function. cotangents: {ct_spec}, primal output: {out_spec}"
            )
        graph = keep or any(isinstance(c, Tensor) and c.requires_grad for c in flat_ct)
        if create_graph is not None:
            graph = create_graph
        pairs = [(o, c) for o, c in zip(flat_out, flat_ct, strict=True) if o.requires_grad]
        with enable_grad(), unrecorded():
            if pairs:
                found = autograd.grad(
                    [o for o, _ in pairs],
                    inner,
                    [c for _, c in pairs],
                    retain_graph=True,
                    create_graph=graph,
                    allow_unused=True,
                )
            else:
                found = [None] * len(inner)
        return _pytree.tree_unflatten(_materialize(found, inner), spec)

    primals_out = _pytree.tree_map(lambda o: _release(o, keep), out)
    if has_aux:
        return primals_out, vjp_fn, _pytree.tree_map(lambda a: _release(a, keep), aux)
    return primals_out, vjp_fn
