"""The steps a program is drawn from: new leaves, table ops, in-place ops, views and indexing,
grad modes, detach, retain_grad, hooks, and the closing backward or ``autograd.grad``."""

from __future__ import annotations

import re

import numpy as np
import torch
from hypothesis import strategies as st

from glassgrad.ops.registry import OPS

from .table import VARIANTS, samples_of

SHAPES = [(), (3,), (4,), (2, 3), (3, 4), (3, 3), (1, 3), (3, 1), (2, 3, 4), (0,), (2, 0), (4, 5)]
MODES = [
    "with torch.no_grad(): ",
    "with torch.inference_mode(): ",
    "with torch.no_grad(), torch.enable_grad(): ",
    "with torch.enable_grad(): ",
    "with torch.set_grad_enabled(False): ",
]


def new_leaf(build, shape=None, dtype=None, grad=None):
    """``vN = torch.tensor([...], dtype=..., requires_grad=...)``; returns its name."""
    from .program import leaf_source

    shape = build.choice(SHAPES) if shape is None else shape
    dtype = build.choice(["float32", "float64"]) if dtype is None else dtype
    grad = build.chance(80) if grad is None else grad
    array = build.rng().uniform(-2.0, 2.0, shape)
    out = build.name()
    build.emit(f"{out} = {leaf_source(array, dtype, grad)}", "leaf", out)
    return out


# -- ops from the table ------------------------------------------------------------------------
def table_op(build, mode=""):
    variant = build.choice(VARIANTS)
    info = OPS[variant.op]
    samples = samples_of(info)
    primary = None
    if variant.any_shape:
        primary = build.pick(floating=True)
        if primary is None:
            return
        drawn = samples(build.rng(), tuple(build.value(primary).shape))
    else:
        drawn = samples(build.rng())
    if variant.call.startswith("."):
        drawn = [s for s in drawn if s[0] and isinstance(s[0][0], np.ndarray)]
    if not drawn:
        return
    args, kwargs = build.choice(range(len(drawn))), None
    args, kwargs = drawn[args]
    state = {"primary": primary}
    sources = [_argument(build, value, state) for value in args]
    if variant.op in SIGN_READERS:
        sources = [_plain_nan(source) for source in sources]
    keywords = [f"{key}={_constant(value)}" for key, value in kwargs.items()]
    out = build.name()
    if variant.call.startswith("."):
        call = f"{sources[0]}{variant.call}({', '.join(sources[1:] + keywords)})"
    else:
        call = f"{variant.call}({', '.join(sources + keywords)})"
    build.emit(f"{mode}{out} = {call}", variant.tag, out)


# Ops that read the sign bit of a NaN. IEEE 754 leaves that sign unspecified for a NaN made by an
# invalid operation, and PyTorch's kernels differ (log(-1) and sqrt(-1) give +NaN, acos(2) and
# 0/0 give -NaN; NumPy gives -NaN for all): their tensor arguments get every NaN as +NaN first.
SIGN_READERS = {"signbit", "copysign"}


def _plain_nan(source):
    tensor = re.fullmatch(r"\w+(\[\d+\])?", source) and not source[0].isdigit()
    return f"{source}.nan_to_num(nan=float('nan'))" if tensor else source


def _argument(build, value, state):
    """Source for a positional argument: float arrays become program tensors or new leaves."""
    if isinstance(value, list):
        return "[" + ", ".join(_argument(build, v, state) for v in value) + "]"
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        return _constant(value)
    if state["primary"] is not None:
        primary, state["primary"] = state["primary"], None
        return primary
    if build.chance(60):
        same = build.pick(floating=True, shape=value.shape)
        if same is not None:
            return same
    return new_leaf(build, shape=value.shape)


def _constant(value):
    from .program import literal

    if isinstance(value, np.ndarray):
        return literal(value)
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, tuple):
        inner = ", ".join(_constant(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_constant(v) for v in value) + "]"
    return repr(value)


def moded_op(build):
    table_op(build, build.choice(MODES))


# -- in place ----------------------------------------------------------------------------------
UNARY_INPLACE = sorted(
    name
    for name, info in OPS.items()
    if info.samples is None and info.nin == 1 and hasattr(torch.Tensor, name + "_")
)


def inplace(build):
    target = build.pick(floating=True)
    if target is None:
        return
    shape = tuple(build.value(target).shape)
    kind = build.choice(
        ["unary", "binary", "scalar", "fill", "setitem", "copy", "clamp", "relu", "masked"]
    )
    if kind == "unary":
        src = f"{target}.{build.choice(UNARY_INPLACE)}_()"
    elif kind in ("binary", "copy"):
        other = _broadcastable(build, shape)
        if kind == "copy":
            src = f"{target}.copy_({other})"
        else:
            method = build.choice(["add_", "sub_", "mul_", "div_"])
            alpha = ", alpha=2" if method in ("add_", "sub_") and build.chance(30) else ""
            src = f"{target}.{method}({other}{alpha})"
    elif kind == "scalar":
        method = build.choice(["add_", "mul_", "div_", "pow_"])
        src = f"{target}.{method}({build.choice([2, 0.5, -1.5])})"
    elif kind == "fill":
        src = f"{target}.{build.choice(['zero_()', 'fill_(1.5)'])}"
    elif kind == "setitem":
        key = _basic_key(build, shape)
        value = build.choice(["0.5", "float('nan')"] + [new_leaf(build, shape=())])
        src = f"{target}[{key}] = {value}"
    elif kind == "clamp":
        src = f"{target}.clamp_(min={build.choice([-0.5, 0.0, None])}, max=1.0)"
    elif kind == "relu":
        src = f"F.{build.choice(['relu', 'hardtanh', 'leaky_relu', 'elu'])}({target}, inplace=True)"
    else:
        src = f"{target}.masked_fill_({target} > 0, {build.choice([0.0, -1.0])})"
    mode = build.choice(["", "", "", MODES[0]])
    build.emit(mode + src, f"inplace:{kind}", touched=(target,))


def _broadcastable(build, shape):
    """A tensor that broadcasts to ``shape``: from the pool, else a new leaf."""
    options = [shape, shape[1:], shape[-1:] if shape else (), ()]
    if shape and build.chance(30):
        options.append(tuple(1 if i == 0 else n for i, n in enumerate(shape)))
    wanted = build.choice(options)
    if build.chance(50):
        found = build.pick(floating=True, shape=wanted)
        if found is not None:
            return found
    return new_leaf(build, shape=wanted)


# -- views and indexing --------------------------------------------------------------------------
def _basic_key(build, shape):
    if not shape:
        return build.choice(["...", "None", "()"])
    parts = []
    for size in shape[: build.draw(st.integers(1, len(shape)))]:
        kind = build.choice(["slice", "int", "full", "step", "none"])
        if kind == "int" and size:
            parts.append(str(build.draw(st.integers(-size, size - 1))))
        elif kind == "slice":
            parts.append(f"{build.draw(st.integers(-size - 1, size))}:")
        elif kind == "step":
            parts.append(f"::{build.draw(st.integers(1, 3))}")
        elif kind == "none":
            parts.append("None")
        else:
            parts.append(":")
    if build.chance(20):
        parts.append("...")
    return ", ".join(parts)


def view(build):
    target = build.pick(floating=True)
    if target is None:
        return
    t = build.value(target)
    shape = tuple(t.shape)
    kind = build.choice(["basic", "basic", "list", "mask", "view", "t", "expand", "unbind"])
    if kind == "basic":
        src = f"{target}[{_basic_key(build, shape)}]"
    elif kind == "list" and shape and shape[0]:
        picks = build.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=4))
        src = f"{target}[{picks}]"
    elif kind == "mask":
        src = f"{target}[{target} > 0]"
    elif kind == "view":
        size = build.choice(["-1", str(t.numel()), "1, -1", f"tuple({target}.shape)"])
        src = f"{target}.view({size})"
    elif kind == "t":
        src = (
            f"{target}.{build.choice(['T', 'mT', 't()', 'H'])}" if t.dim() >= 2 else f"{target}.t()"
        )
    elif kind == "expand":
        src = f"{target}.expand(2, *{target}.shape)"
    else:
        src = f"{target}.unbind({build.draw(st.integers(-1, 0))})"
    out = build.name()
    build.emit(f"{build.choice(['', '', '', MODES[0]])}{out} = {src}", f"view:{kind}", out)


# -- graph control -----------------------------------------------------------------------------
def control(build):
    target = build.pick(floating=True)
    if target is None:
        return
    kind = build.choice(
        [
            "detach",
            "detach_grad",
            "detach_",
            "requires_grad_",
            "no_requires_grad_",
            "retain_grad",
            "hook",
            "hook_scale",
            "clone",
        ]
    )
    out = None
    if kind == "detach":
        out = build.name()
        src = f"{out} = {target}.detach()"
    elif kind == "detach_grad":
        out = build.name()
        src = f"{out} = {target}.detach().requires_grad_()"
    elif kind == "clone":
        out = build.name()
        src = f"{out} = {target}.clone()"
    elif kind == "detach_":
        src = f"{target}.detach_()"
    elif kind == "requires_grad_":
        src = f"{target}.requires_grad_()"
    elif kind == "no_requires_grad_":
        src = f"{target}.requires_grad_(False)"
    elif kind == "retain_grad":
        src = f"{target}.retain_grad()"
    elif kind.startswith("hook") and build.value(target)._base is not None:
        # PyTorch 2.13 segfaults on register_hook of a view written in place whose base was then
        # written too (v = y[:]; v.copy_(t); y.add_(2); v.register_hook(f)): no hooks on views
        return
    elif kind == "hook":
        src = f"_ = {target}.register_hook(lambda g: _log.append(({target!r}, g.detach().clone())))"
    else:
        src = f"_ = {target}.register_hook(lambda g: g * 2)"
    build.emit(src, f"control:{kind}", out, touched=(target,) if out is None else ())


WEIGHTED = (
    [new_leaf] * 2 + [table_op] * 10 + [moded_op] * 2 + [inplace] * 3 + [view] * 2 + [control] * 2
)


# -- the end: backward or autograd.grad, sometimes of second order ----------------------------
def finish(build):
    outputs = build.tensors(floating=True, grad=True)
    if not outputs:
        return
    chosen = build.draw(st.lists(st.sampled_from(outputs), min_size=1, max_size=3, unique=True))
    terms = " + ".join(f"({expr} * _w({expr})).sum()" for expr in chosen)
    if not build.emit(f"_loss = {terms}", "loss", "_loss"):
        return
    leaves = build.tensors(floating=True, grad=True, leaf=True)
    how = build.choice(["backward", "backward_twice", "grad", "grad_create"])
    if how.startswith("backward") or not leaves:
        create = ", create_graph=True" if build.chance(15) else ""
        twice = how == "backward_twice"
        build.emit(f"_loss.backward(retain_graph={twice}{create})", "backward")
        if twice:
            build.emit("_loss.backward()", "backward")
        return
    inputs = build.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=4, unique=True))
    create = how == "grad_create"
    listed = ", ".join(inputs)
    src = f"_g = torch.autograd.grad(_loss, [{listed}], allow_unused=True, create_graph={create})"
    if not build.emit(src, "autograd.grad", "_g"):
        return
    firsts = [i for i, g in enumerate(build.value("_g")) if g is not None and g.requires_grad]
    if create and firsts:
        terms = " + ".join(f"(_g[{i}] * _w(_g[{i}])).sum()" for i in firsts)
        build.emit(f"_loss2 = {terms}", "loss2", "_loss2")
        src = f"_g2 = torch.autograd.grad(_loss2, [{listed}], allow_unused=True)"
        build.emit(src, "autograd.grad2", "_g2")
