"""The ops of a training step written out in a plan: products, softmax, losses, reductions over
dimensions, reshapes, convolution and pooling, each with its backward planned at trace time.

Each is a ``Prim``: a forward on arrays (the same NumPy calls, in the same order, as the eager
op, so the values are the eager op's) and, per operand, a backward on arrays that reads only what
it names: the operands it needs, the output, or the *aux* value the forward also returned (the
columns of a convolution, the masks of a pooling, the log-probabilities of a loss). A plan calls
them as ``_F_<prim>(...)`` and ``_B_<prim><k>(...)``; nothing of the eager op's bookkeeping
(argument checks, nodes, version counters) runs at replay. The checks ran when the trace ran the
eager op, and the guards fix every shape and dtype they looked at; the one check that depends on
values, a class index out of range, is made at every call.

A call is lowered only in the forms listed here (anything else stays opaque): a positional or
keyword argument outside a prim's known ones, a dtype mix, or an unusual option keeps the eager
op.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad._compile.trace import Slot

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Prim:
    """One written-out op: ``forward(*operands)`` and ``backward[k] = (fn, reads, out, aux)``:
    the gradient of operand ``k`` is ``fn(g, [out], [aux], *operands[i] for i in reads)``."""

    __slots__ = ("name", "forward", "aux", "backward")

    def __init__(self, name, forward, aux, backward) -> None:
        self.name = name
        self.forward = forward
        self.aux = aux
        self.backward = backward


PRIMS: dict[str, Prim] = {}


def _prim(name, forward, aux=False, **backward):
    PRIMS[name] = Prim(
        name, forward, aux, {int(k[1:]): spec for k, spec in backward.items() if spec is not None}
    )


def env() -> dict:
    """The names a plan's source calls."""
    found = {}
    for prim in PRIMS.values():
        found[f"_F_{prim.name}"] = prim.forward
        for k, (fn, _, _, _) in prim.backward.items():
            found[f"_B_{prim.name}{k}"] = fn
    return found


def forward_expr(prim, operands) -> str:
    return f"_F_{prim}({', '.join(_text(o) for o in operands)})"


def backward_expr(prim, position, g, operands, out) -> str:
    fn, reads, needs_out, needs_aux = PRIMS[prim].backward[position]
    parts = [g]
    if needs_out:
        parts.append(out)
    if needs_aux:
        parts.append(f"_x{out[1:]}")
    parts.extend(_text(operands[i]) for i in reads)
    return f"_B_{prim}{position}({', '.join(parts)})"


def has_backward(prim, position) -> bool:
    return position in PRIMS[prim].backward


def _text(operand) -> str:
    return f"v{operand[1]}" if operand[0] == "v" else repr(operand[1])


# -- lowering: which recorded calls become which prim ------------------------------------------
def lower(op, values):
    """``(prim, operands, out_slot)`` for a call written out here, else None."""
    rule = _RULES.get(op.name)
    if rule is None:
        return None
    outs = op.out_slots()
    if len(outs) != 1 or op.outs.__class__ is not Slot:
        return None
    out = outs[0]
    if values[out].dtype not in _FLOATS:
        return None
    found = rule(op, values, values[out])
    if found is None:
        return None
    prim, operands = found
    if not any(o[0] == "v" for o in operands):
        return None
    return prim, operands, out


def _bind(op, names, required=1):
    """The call's arguments by parameter name (positional then keyword), or None if any is
    unknown, given twice, or a required one is missing."""
    if len(op.args) > len(names):
        return None
    bound = dict(zip(names, op.args, strict=False))
    for key, value in op.kwargs.items():
        if key not in names or key in bound:
            return None
        bound[key] = value
    if any(name not in bound for name in names[:required]):
        return None
    return bound


def _float_slot(arg, values, dtype):
    """``("v", slot)`` for a tensor of the result's float dtype, else None."""
    if arg.__class__ is Slot and values[arg.index].dtype == dtype:
        return ("v", arg.index)
    return None


def _const(value):
    """A constant written into the source (its ``repr`` must read back as itself)."""
    if value is None or value.__class__ in (bool, int, str):
        return ("c", value)
    if value.__class__ is float and math.isfinite(value):
        return ("c", value)
    if value.__class__ in (tuple, list) and all(v.__class__ is int for v in value):
        return ("c", tuple(value))
    return None


def _all(*items):
    return None if any(i is None for i in items) else list(items)


def _lower_matmul(op, values, out, order="ab"):
    bound = _bind(op, ("a", "b"), 2)
    if bound is None:
        return None
    a, b = (_float_slot(bound[k], values, out.dtype) for k in order)
    if a is None or b is None:
        return None
    a_ndim, b_ndim = len(values[a[1]].shape), len(values[b[1]].shape)
    if b_ndim != 2 or a_ndim < 2:
        return None
    return "matmul", [a, b]


def _lower_addmm(op, values, out):
    bound = _bind(op, ("input", "mat1", "mat2", "beta", "alpha"), 3)
    if bound is None or bound.get("beta", 1) != 1 or bound.get("alpha", 1) != 1:
        return None
    operands = _all(*(_float_slot(bound[k], values, out.dtype) for k in ("input", "mat1", "mat2")))
    return None if operands is None else ("addmm", operands)


def _lower_linear(op, values, out):
    bound = _bind(op, ("input", "weight", "bias"), 2)
    if bound is None:
        return None
    x, w = (_float_slot(bound[k], values, out.dtype) for k in ("input", "weight"))
    bias = bound.get("bias")
    b = ("c", None) if bias is None else _float_slot(bias, values, out.dtype)
    if x is None or w is None or b is None or len(values[w[1]].shape) != 2:
        return None
    if not values[x[1]].shape or (b[0] == "v" and len(values[b[1]].shape) != 1):
        return None
    return "linear", [x, w, b]


def _lower_softmax(name):
    def rule(op, values, out):
        bound = _bind(op, ("input", "dim", "_stacklevel", "dtype"), 2)
        if bound is None or bound.get("dtype") is not None or bound["dim"].__class__ is not int:
            return None
        x = _float_slot(bound["input"], values, out.dtype)
        ndim = len(values[x[1]].shape) if x is not None else 0
        if x is None or not ndim or not -ndim <= bound["dim"] < ndim:
            return None
        return name, [x, ("c", bound["dim"] % ndim)]

    return rule


def _lower_nll(name):
    names = ("input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction")
    if name == "cross_entropy":
        names += ("label_smoothing",)

    def rule(op, values, out):
        bound = _bind(op, names, 2)
        if bound is None or bound.get("weight") is not None or bound.get("label_smoothing", 0):
            return None
        if bound.get("size_average") is not None or bound.get("reduce") is not None:
            return None
        x = _float_slot(bound["input"], values, out.dtype)
        target = bound["target"]
        reduction = bound.get("reduction", "mean")
        ignore = bound.get("ignore_index", -100)
        if x is None or target.__class__ is not Slot or reduction not in ("mean", "sum", "none"):
            return None
        meta = values[target.index]
        if meta.dtype.kind not in "iu" or meta.shape == values[x[1]].shape:
            return None
        if ignore.__class__ is not int or not 1 <= len(values[x[1]].shape) <= 2:
            return None
        shape = ("c", tuple(values[x[1]].shape))
        return name, [x, ("v", target.index), ("c", reduction), ("c", ignore), shape]

    return rule


def _lower_mse(op, values, out):
    bound = _bind(op, ("input", "target", "size_average", "reduce", "reduction", "weight"), 2)
    if bound is None or any(bound.get(k) is not None for k in ("size_average", "reduce", "weight")):
        return None
    x, t = (_float_slot(bound[k], values, out.dtype) for k in ("input", "target"))
    reduction = bound.get("reduction", "mean")
    if x is None or t is None or reduction not in ("mean", "sum", "none"):
        return None
    if values[x[1]].shape != values[t[1]].shape:
        return None
    return "mse_loss", [x, t, ("c", reduction)]


def _lower_reduce(name):
    def rule(op, values, out):
        bound = _bind(op, ("input", "dim", "keepdim"), 2)
        if bound is None or bound.get("keepdim", False).__class__ is not bool:
            return None
        x = _float_slot(bound["input"], values, out.dtype)
        if x is None:
            return None
        ndim = len(values[x[1]].shape)
        dim = bound["dim"]
        dims = (dim,) if dim.__class__ is int else dim
        if dims.__class__ not in (tuple, list) or not dims:
            return None
        if any(d.__class__ is not int or not -max(ndim, 1) <= d < max(ndim, 1) for d in dims):
            return None
        dims = tuple(sorted({d % max(ndim, 1) for d in dims}))
        if not ndim:
            return None
        keepdim = bound.get("keepdim", False)
        return name, [x, ("c", dims), ("c", keepdim), ("c", tuple(values[x[1]].shape))]

    return rule


def _lower_reshape(op, values, out):
    """Any call whose output holds its one tensor input's elements in the same order under
    another shape (reshape, view, flatten, squeeze, unsqueeze)."""
    tensors = [a for a in op.args if a.__class__ is Slot]
    tensors += [a for a in op.kwargs.values() if a.__class__ is Slot]
    if len(tensors) != 1 or op.args[:1] != tuple(tensors):
        return None
    x = _float_slot(tensors[0], values, out.dtype)
    if x is None or values[x[1]].shape == out.shape:
        return None
    if op.name == "view" and any(
        not (a.__class__ is int or a.__class__ is tuple) for a in op.args[1:]
    ):
        return None  # (view(dtype) reinterprets bytes)
    return "reshape", [x, ("c", tuple(out.shape)), ("c", tuple(values[x[1]].shape))]


def _lower_conv2d(op, values, out):
    bound = _bind(op, ("input", "weight", "bias", "stride", "padding", "dilation", "groups"), 2)
    if bound is None:
        return None
    x, w = (_float_slot(bound[k], values, out.dtype) for k in ("input", "weight"))
    bias = bound.get("bias")
    b = ("c", None) if bias is None else _float_slot(bias, values, out.dtype)
    if x is None or w is None or b is None or len(values[x[1]].shape) != 4:
        return None
    params = []
    for key, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
        value = bound.get(key, default)
        value = (value, value) if value.__class__ is int else value
        if value.__class__ not in (tuple, list) or len(value) != 2:
            return None
        if any(v.__class__ is not int for v in value):
            return None
        params.append(("c", tuple(value)))
    groups = bound.get("groups", 1)
    if groups.__class__ is not int:
        return None
    keep = values[w[1]].requires_grad
    shapes = [("c", tuple(values[x[1]].shape)), ("c", tuple(values[w[1]].shape))]
    return "conv2d", [x, w, b, *params, ("c", groups), ("c", keep), *shapes]


def _lower_max_pool2d(op, values, out):
    from glassgrad.ops.nn.pool import pool, tiled

    names = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    bound = _bind(op, names, 2)
    if bound is None or bound.get("return_indices", False) or bound.get("ceil_mode", False):
        return None
    x = _float_slot(bound["input"], values, out.dtype)
    if x is None or len(values[x[1]].shape) != 4:
        return None
    shape = values[x[1]].shape
    try:
        kernel, stride, padding, dilation, _ = pool._geometry(
            shape,
            bound["kernel_size"],
            bound.get("stride"),
            bound.get("padding", 0),
            bound.get("dilation", 1),
            False,
        )
    except (TypeError, ValueError, RuntimeError):
        return None
    if not tiled.tiles(shape, kernel, stride, padding, dilation):
        return None
    return "max_pool2d", [x, ("c", tuple(kernel)), ("c", tuple(shape))]


def _lower_gelu(op, values, out):
    bound = _bind(op, ("input", "approximate"), 1)
    if bound is None or bound.get("approximate", "none") not in ("none", "tanh"):
        return None
    x = _float_slot(bound["input"], values, out.dtype)
    return None if x is None else ("gelu", [x, ("c", bound.get("approximate", "none"))])


_RULES = {
    "matmul": _lower_matmul,
    "__matmul__": _lower_matmul,
    "__rmatmul__": lambda op, values, out: _lower_matmul(op, values, out, "ba"),
    "mm": _lower_matmul,
    "addmm": _lower_addmm,
    "linear": _lower_linear,
    "softmax": _lower_softmax("softmax"),
    "log_softmax": _lower_softmax("log_softmax"),
    "cross_entropy": _lower_nll("cross_entropy"),
    "nll_loss": _lower_nll("nll_loss"),
    "mse_loss": _lower_mse,
    "sum": _lower_reduce("sum"),
    "mean": _lower_reduce("mean"),
    "reshape": _lower_reshape,
    "view": _lower_reshape,
    "flatten": _lower_reshape,
    "squeeze": _lower_reshape,
    "unsqueeze": _lower_reshape,
    "conv2d": _lower_conv2d,
    "max_pool2d": _lower_max_pool2d,
    "gelu": _lower_gelu,
}


def combine(prim, operands, made_by, uses):
    """``(prim, operands)``, or one prim doing the work of this op and the op that made its
    operand where that operand has no other use: ``max_pool2d(relu(x))`` is
    ``relu(max_pool2d(x))`` (the maximum commutes with a rising function), whose relu and
    its backward touch a quarter of the elements (the relu is then dead code)."""
    if prim == "max_pool2d" and uses.get(operands[0][1]) == 1:
        made = made_by.get(operands[0][1])
        if made is not None and made[0] == "relu" and made[1][0][0] == "v":
            return "relu_max_pool2d", [made[1][0], *operands[1:]]
    return prim, operands


from glassgrad._compile import structured_ops  # noqa: E402, F401 - (registers the prims)
