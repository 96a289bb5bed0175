"""From a trace to a plan: Python source for the forward and the backward of the whole region.

Each recorded op becomes one statement on NumPy arrays. The ops of ``lowering.LOWERED``
(elementwise arithmetic, ``tanh``, ``exp``, full reductions) are written out as array
expressions with their derivative written out too (AOTAutograd's joint graph: the backward is
planned at trace time, not found by walking nodes); every other op is *opaque*: the plan calls
the op itself on tensors wrapping the arrays, and, where a gradient must flow through it, keeps
the little graph that call made and runs it in the region's backward.

Then the forward graph loses its dead code (values no output and no backward needs) and its
common subexpressions (the same lowered op on the same operands), and chains of elementwise
statements are fused (``fusion``).
"""

from __future__ import annotations

import re

import numpy as np

from glassgrad._compile import fusion, lowering, structured
from glassgrad._compile.trace import Slot, flatten, tree_map
from glassgrad.autograd import grad_mode as _grad_mode
from glassgrad.tensor import _make


class Plan:
    """A compiled region: ``forward(*arrays) -> (outputs, saved)``, ``backward(grads, saved)``."""

    def __init__(self) -> None:
        self.forward = None
        self.backward = None
        self.forward_source = ""
        self.backward_source = ""
        self.out_slots: list = []  # slot per flat output tensor
        self.out_grad: list = []  # requires_grad per flat output
        self.region_inputs: list = []  # slots of the inputs and lifted tensors, in order
        self.saved_inputs: list = []  # which region inputs the backward reads (version-checked)
        self.op_count = 0
        self.lowered_count = 0
        self.fused_count = 0
        self.opaque_grad_count = 0  # opaque ops whose backward the plan runs


def build(tracer, input_slots, lifted_slots, out_tree, sparse=False, dynamic=False) -> Plan:
    """The plan of ``tracer``'s ops; ``sparse``: many of the outputs usually get no gradient
    (a resumed function's segment: every value the Python code may use is an output), so a
    missing output gradient is no gradient, not zeros. ``dynamic``: no shape is written into
    the source; the backward reads each shape it needs from the forward's arrays (``_s<slot>``),
    so one plan serves every size of the inputs' first dimension (see ``runtime``)."""
    values = tracer.values
    ops = tracer.ops
    plan = Plan()
    plan.region_inputs = list(input_slots) + list(lifted_slots)
    flat_out = [s.index for s in flatten(out_tree) if s.__class__ is Slot]
    plan.out_slots = flat_out
    plan.out_grad = [values[i].requires_grad for i in flat_out]
    plan.op_count = len(ops)

    # -- lower, then CSE and dead-code elimination ----------------------------------------------
    stmts = []  # (op index, lowered form or None)
    alias: dict[int, int] = {}  # slot -> slot it equals (CSE)
    seen: dict = {}
    uses: dict = {}
    for op in ops:
        for slot in op.inputs:
            uses[slot] = uses.get(slot, 0) + 1
    for slot in flat_out:
        uses[slot] = uses.get(slot, 0) + 1
    made_by: dict = {}  # slot -> the lowered form that made it
    for index, op in enumerate(ops):
        low = lowering.lower(op, values)
        if low is not None:
            prim, operands, out = low
            operands = [("v", alias.get(o[1], o[1])) if o[0] == "v" else o for o in operands]
            prim, operands = structured.combine(prim, operands, made_by, uses)
            made_by[out] = (prim, operands)
            key = (prim, tuple(operands), values[out].requires_grad)
            if key in seen:
                alias[out] = seen[key]
                continue
            seen[key] = out
            stmts.append((index, (prim, operands, out)))
        else:
            stmts.append((index, None))

    def real(slot):
        return alias.get(slot, slot)

    dyn = set() if dynamic else None

    def shape_text(slot):
        slot = real(slot)
        if dyn is None or values[slot].shape == ():
            return repr(values[slot].shape)
        dyn.add(slot)
        return f"_s{slot}"

    needs_grad = any(plan.out_grad) and _grad_mode.state.record
    # backward statements first (they decide which forward values are saved)
    grad_of: dict[int, str] = {}  # slot -> name of its gradient variable
    bstmts: list[str] = []
    gshapes: dict = {}
    if needs_grad:
        _backward(plan, tracer, stmts, real, grad_of, bstmts, gshapes, sparse, shape_text)
    used_by_backward = set()
    for line in bstmts:
        used_by_backward.update(lowering.names_in(line))

    live = {real(s) for s in flat_out}
    live.update(int(n[1:]) for n in used_by_backward if n.startswith("v"))
    live.update(int(n[2:]) for n in used_by_backward if n.startswith(("_x", "_s")))
    kept = []
    for index, low in reversed(stmts):
        op = ops[index]
        if low is not None:
            prim, operands, out = low
            if out not in live:
                continue  # dead
            live.update(o[1] for o in operands if o[0] == "v")
        else:
            live.update(real(i) for i in op.inputs)
        kept.append((index, low))
    kept.reverse()

    # -- forward source -------------------------------------------------------------------------
    env = {
        # (NumPy's float warnings in glassgrad's modules are filtered: PyTorch has none)
        "__name__": "glassgrad._compile.generated",
        "_np": np,
        "_call": _call,
        "_call_grad": _call_grad,
        "_sum_to": lowering.sum_to,
        "_sigmoid": lowering.sigmoid,
        "_relu": lowering.relu,
        "_relu_bwd": lowering.relu_backward,
        "_size": lowering.size,
        **structured.env(),
    }
    lines = []
    for index, low in kept:
        op = ops[index]
        if low is not None:
            prim, operands, out = low
            target = f"v{out}, _x{out}" if lowering.has_aux(prim) else f"v{out}"
            lines.append((target, lowering.forward_expr(prim, operands), values[out]))
            plan.lowered_count += 1
            continue
        env[f"_op{index}"] = op
        outs = op.out_slots()
        grad = op.grad and any(values[s].requires_grad for s in outs)
        args = ", ".join(f"v{real(i)}" for i in op.inputs)
        targets = "".join(f"v{s}, " for s in outs)
        if grad and needs_grad:
            env[f"_m{index}"] = tuple(values[i].requires_grad for i in op.inputs)
            plan.opaque_grad_count += 1
            lines.append(
                (f"({targets}), _h{index}", f"_call_grad(_op{index}, ({args},), _m{index})", None)
            )
        else:
            lines.append((f"({targets})", f"_call(_op{index}, ({args},))", None))
    saved_names = sorted(n for n in used_by_backward if n.startswith(("_h", "_x", "_s", "v")))
    region = {f"v{s}" for s in plan.region_inputs}
    plan.saved_inputs = [s for s in plan.region_inputs if f"v{s}" in used_by_backward]
    saved_names = [n for n in saved_names if n not in region]
    plan.saved_names = saved_names
    shapes = {f"v{i}": (v.shape, v.dtype) for i, v in enumerate(values)}
    params = ", ".join(f"v{s}" for s in plan.region_inputs)
    outs = "".join(f"v{real(s)}, " for s in flat_out)
    saved = "".join(f"{n}, " for n in saved_names)
    body, plan.fused_count = fusion.fuse(
        [f"{target} = {expr}" for target, expr, _ in lines],
        env,
        keep=set(),
        shapes=shapes,
        tail=f"return ({outs}), ({saved})",
        dynamic=dynamic,
    )
    if dyn:
        body = _capture_shapes(body, dyn, plan.region_inputs)
    body = fusion.free_dead(body, f"return ({outs}), ({saved})")
    src = f"def forward({params}):\n"
    # 0-d arrays as NumPy scalars: arithmetic on scalars is several times faster (W1)
    src += "".join(f"    v{s} = v{s}[()]\n" for s in plan.region_inputs if values[s].shape == ())
    src += "".join(f"    {b}\n" for b in body)
    src += f"    return ({outs}), ({saved})\n"
    plan.forward_source = src
    namespace = dict(env)
    exec(compile(src, "<glassgrad.compile forward>", "exec"), namespace)
    plan.forward = namespace["forward"]

    if needs_grad:
        gparams = ", ".join(f"g{k}" for k in range(len(flat_out)))
        sparams = "".join(f"{n}, " for n in saved_names)
        iparams = "".join(f"v{s}, " for s in plan.saved_inputs)
        src = "def backward(grads, saved, inputs):\n"
        if flat_out:
            src += f"    ({gparams},) = grads\n"
        if saved_names:
            src += f"    ({sparams}) = saved\n"
        if plan.saved_inputs:
            src += f"    ({iparams}) = inputs\n"
            src += "".join(
                f"    v{s} = v{s}[()]\n" for s in plan.saved_inputs if values[s].shape == ()
            )
        rets = []
        for s in plan.region_inputs:
            rets.append(grad_of.get(s, "None") if values[s].requires_grad else "None")
        ret = f"return ({''.join(r + ', ' for r in rets)})"
        gshapes.update(shapes)
        benv: dict = {}
        bbody, fused = fusion.fuse(
            bstmts, benv, keep=set(), shapes=gshapes, tail=ret, dynamic=dynamic
        )
        plan.fused_count += fused
        bbody = fusion.free_dead(bbody, ret)
        src += "".join(f"    {line}\n" for line in bbody)
        src += f"    {ret}\n"
        plan.backward_source = src
        namespace = dict(env)
        namespace.update(benv)
        namespace["_call_bwd"] = _call_bwd
        namespace["_zeros"] = np.zeros
        namespace["_add"] = _add
        exec(compile(src, "<glassgrad.compile backward>", "exec"), namespace)
        plan.backward = namespace["backward"]
    return plan


def _capture_shapes(body, slots, region_inputs) -> list:
    """``body`` with ``_s<slot> = v<slot>.shape`` right where each slot's array is made."""
    out = [f"_s{s} = v{s}.shape" for s in region_inputs if s in slots]
    for line in body:
        out.append(line)
        target = line.split(" = ", 1)[0] if " = " in line else ""
        for name in re.findall(r"\bv(\d+)\b", target):
            if int(name) in slots and int(name) not in region_inputs:
                out.append(f"_s{name} = v{name}.shape")
    return out


def _backward(plan, tracer, stmts, real, grad_of, out, shapes, sparse, shape_text) -> None:
    """Reverse-mode statements for the whole region into ``out``; ``grad_of[slot]`` names the
    variable holding each slot's gradient when done."""
    values = tracer.values
    ops = tracer.ops
    counter = [0]
    maybe_none: set = set()  # gradient names that are None where an opaque op gave none

    def zeros(slot):
        v = values[real(slot)]
        return f"_zeros({shape_text(slot)}, _np.{v.dtype.name})"

    def accumulate(slot, expr):
        slot = real(slot)
        if not values[slot].requires_grad:
            return
        name = f"gr{counter[0]}"
        counter[0] += 1
        shapes[name] = (values[slot].shape, values[slot].dtype)
        before = grad_of.get(slot)
        if before is None:
            out.append(f"{name} = {expr}")
        elif before in maybe_none:
            out.append(f"{name} = {expr} if {before} is None else {before} + {expr}")
        else:
            out.append(f"{name} = {before} + {expr}")
        grad_of[slot] = name

    for k, slot in enumerate(plan.out_slots):
        if sparse and plan.out_grad[k]:
            if values[slot].shape == ():
                out.append(f"g{k} = None if g{k} is None else g{k}[()]")
            name = f"gr{counter[0]}"
            counter[0] += 1
            before = grad_of.get(real(slot))
            out.append(f"{name} = g{k}" if before is None else f"{name} = _add({before}, g{k})")
            maybe_none.add(name)
            grad_of[real(slot)] = name
        elif plan.out_grad[k]:
            v = values[slot]
            zero = f"_zeros({shape_text(slot)}, _np.{v.dtype.name})"
            shapes[f"g{k}"] = (v.shape, v.dtype)
            if v.shape == ():  # as a NumPy scalar (see forward)
                out.append(f"g{k} = {zero}[()] if g{k} is None else g{k}[()]")
            else:
                out.append(f"g{k} = {zero} if g{k} is None else g{k}")
            accumulate(slot, f"g{k}")
    for index, low in reversed(stmts):
        op = ops[index]
        if low is not None:
            prim, operands, slot = low
            if slot not in grad_of:
                continue
            g = grad_of.pop(slot)
            if g in maybe_none:  # (an opaque op's None: no gradient, as zeros here)
                out.append(f"if {g} is None:")
                out.append(f"    {g} = {zeros(slot)}")
            for position, operand in enumerate(operands):
                if operand[0] != "v" or not values[real(operand[1])].requires_grad:
                    continue
                expr = lowering.backward_expr(
                    prim, position, g, operands, f"v{slot}", values, shape_text
                )
                shape = values[real(operand[1])].shape
                if shape != values[slot].shape and lowering.unbroadcasts(prim):
                    expr = f"_sum_to({expr}, {shape_text(operand[1])})"
                accumulate(operand[1], expr)
            continue
        outs = op.out_slots()
        if not op.grad or not any(s in grad_of for s in outs):
            continue
        grads = []
        for s in outs:
            if s in grad_of:
                grads.append(grad_of.pop(s))
            else:
                grads.append("None")
        targets = [i for i in op.inputs]
        names = [f"b{index}_{k}" for k in range(len(targets))]
        out.append(
            f"({''.join(n + ', ' for n in names)}) = _call_bwd(_h{index}, "
            f"({''.join(g + ', ' for g in grads)}))"
        )
        for slot, name in zip(targets, names, strict=True):
            if values[real(slot)].requires_grad:
                # None (no gradient reached the input, as in eager) stays None until a
                # lowered rule needs an array
                before = grad_of.get(real(slot))
                tmp = f"gr{counter[0]}"
                counter[0] += 1
                if before is None:
                    out.append(f"{tmp} = {name}")
                    maybe_none.add(tmp)
                elif before in maybe_none:
                    out.append(f"{tmp} = _add({before}, {name})")
                    maybe_none.add(tmp)
                else:
                    out.append(f"{tmp} = {before} if {name} is None else {before} + {name}")
                grad_of[real(slot)] = tmp


# -- opaque ops ----------------------------------------------------------------------------------
def _wrap(array):
    if array.__class__ is not np.ndarray:
        array = np.asarray(array)
    return _make(array)


def _outs(op, result):
    return tuple(t._data for t in flatten(result) if hasattr(t, "_data"))


def _call(op, arrays):
    """Run an opaque op on ``arrays`` (no graph): its output arrays."""
    tensors = {}
    it = iter(arrays)
    for i in op.inputs:
        if i not in tensors:
            tensors[i] = _wrap(next(it))
        else:
            next(it)
    args = tree_map(lambda s: tensors[s.index] if s.__class__ is Slot else s, op.args)
    kwargs = tree_map(lambda s: tensors[s.index] if s.__class__ is Slot else s, op.kwargs)
    with _grad_mode.no_grad():
        result = op.fn(*args, **kwargs)
    return _outs(op, result)


def _call_grad(op, arrays, mask):
    """Run an opaque op on fresh leaves: its output arrays and what its backward needs."""
    leaves = []
    tensors = {}
    for i, array, grad in zip(op.inputs, arrays, mask, strict=True):
        if i in tensors:
            leaves.append(None)
            continue
        t = _wrap(array)
        if grad:
            t._requires_grad = True
            leaves.append(t)
        else:
            leaves.append(None)
        tensors[i] = t
    args = tree_map(lambda s: tensors[s.index] if s.__class__ is Slot else s, op.args)
    kwargs = tree_map(lambda s: tensors[s.index] if s.__class__ is Slot else s, op.kwargs)
    with _grad_mode.enable_grad():
        result = op.fn(*args, **kwargs)
    outs = [t for t in flatten(result) if hasattr(t, "_data")]
    return tuple(t._data for t in outs), (outs, leaves)


def _call_bwd(handle, grads):
    """The opaque op's backward: the gradient reaching each of its inputs (None where none)."""
    from glassgrad import autograd

    outs, leaves = handle
    direct = _direct_backward(outs, leaves, grads)
    if direct is not None:
        return direct
    roots, seeds = [], []
    for t, g in zip(outs, grads, strict=True):
        if g is not None and t.requires_grad:
            roots.append(t)
            seeds.append(_wrap(g))
    targets = [leaf for leaf in leaves if leaf is not None]
    if not roots or not targets:
        return tuple(None for _ in leaves)
    found = iter(autograd.grad(roots, targets, seeds, allow_unused=True))
    return tuple(
        None if leaf is None else (lambda g: None if g is None else g._data)(next(found))
        for leaf in leaves
    )


def _direct_backward(outs, leaves, grads):
    """The backward of an op that recorded one node straight onto the leaves: its rule run
    directly (what the engine would do for a graph of one node), or None where the op made
    more than one node, or the node needs the engine (hooks, custom Functions)."""
    from glassgrad.autograd.engine import _fit

    node = None
    for t in outs:
        fn = t._grad_fn
        if fn is not None:
            if node is None:
                node = fn
            elif fn is not node:
                return None
    if node is None or node._special or node._custom_apply:
        return None
    where = {}
    for k, leaf in enumerate(leaves):
        if leaf is not None and leaf._accum is not None:
            where[id(leaf._accum[0])] = k
    for edge in node.next_functions:
        if edge[0] is not None and id(edge[0]) not in where:
            return None
    count = node._n_outputs
    if count == 1:
        grad = None
        for t, g in zip(outs, grads, strict=True):
            if t._grad_fn is node:
                grad = g
        if grad is None:
            return tuple(None for _ in leaves)
        if grad.__class__ is not np.ndarray:
            grad = np.asarray(grad)
    else:
        by_output = [None] * count
        for t, g in zip(outs, grads, strict=True):
            if t._grad_fn is node and g is not None:
                by_output[t._output_nr] = g if g.__class__ is np.ndarray else np.asarray(g)
        if all(g is None for g in by_output):
            return tuple(None for _ in leaves)
        grad = tuple(by_output)
    results = node.apply(grad, False)
    node.release()
    found = [None] * len(leaves)
    for edge, g, meta in zip(node.next_functions, results, node._input_meta(), strict=False):
        if edge[0] is None or g is None:
            continue
        if g.__class__ is not np.ndarray:
            g = np.asarray(g)
        if g.shape != meta[0] or g.dtype != meta[1]:
            g = _fit(g, meta, False)
        k = where[id(edge[0])]
        found[k] = g if found[k] is None else found[k] + g
    return tuple(found)


def _add(a, b):
    """``a + b`` where either may be None (no gradient)."""
    if a is None:
        return b
    return a if b is None else a + b
