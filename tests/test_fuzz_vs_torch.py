"""Random programs run on glassgrad and on PyTorch 2.13 with the same inputs.

Three fuzzers: (a) chains of differentiable ops, first and second order; (b) mixed-dtype
arithmetic with Python scalars (result dtypes, values, exception types); (c) in-place sequences
on non-leaf tensors and their views, then backward. Inputs are float64 (except in (b)) so that
rounding differences stay far below the tolerances. Each program is drawn once as a list of
steps; every step is a function of the library, so the same step runs on both.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassgrad

LIBS = (torch, glassgrad)
# FUZZ_N=<examples> runs a longer, randomised search; CI runs the fixed, derandomised one.
DEEP = os.environ.get("FUZZ_N")
FUZZ = settings(
    max_examples=int(DEEP or 200),
    deadline=None,
    derandomize=not DEEP,
    suppress_health_check=list(HealthCheck),
)
SIZES = st.integers(1, 4)


def leaf(lib, array, grad=True):
    """A float64 leaf of ``lib`` holding a copy of ``array``."""
    return lib.tensor(np.array(array, dtype=np.float64), requires_grad=grad)


def as_numpy(value):
    return None if value is None else np.asarray(value.detach().numpy())


def same(got, want, name):
    """``got`` (glassgrad) equals ``want`` (torch) in value, dtype and shape."""
    assert (got is None) == (want is None), f"{name}: {got} vs {want}"
    if want is None:
        return
    assert str(got.dtype) == str(want.dtype), f"{name}: dtype {got.dtype} vs {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"{name}: shape {got.shape} vs {want.shape}"
    np.testing.assert_allclose(
        as_numpy(got), as_numpy(want), rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name
    )


def grad_fn_name(tensor):
    return None if tensor.grad_fn is None else type(tensor.grad_fn).__name__


# -- (a) chains of differentiable ops ----------------------------------------------------------
def _broadcast_shape(data, shape, grow=True):
    """A shape that broadcasts with ``shape``: some dims set to 1, some leading dims dropped or
    (when ``grow``) added."""
    dims = [data.draw(st.sampled_from([n, 1])) for n in shape]
    drop = data.draw(st.integers(0, len(dims)))
    extra = data.draw(st.lists(SIZES, max_size=max(0, 3 - len(shape)) if grow else 0))
    return tuple(extra) + tuple(dims[drop:]) if not extra else tuple(extra) + tuple(dims)


def _dim(data, ndim):
    """A valid dim for ``ndim`` dimensions, sometimes negative."""
    span = max(ndim, 1)
    return data.draw(st.integers(-span, span - 1))


def op_binary(data, shape):
    other = _broadcast_shape(data, shape)
    kind = data.draw(st.sampled_from(["add", "sub", "mul", "div", "rdiv", "scalar", "alpha"]))
    value = data.draw(st.sampled_from([-1.5, 0.5, 2.0, 3]))
    steps = {
        "add": lambda lib, x, o: x + o[0],
        "sub": lambda lib, x, o: o[0] - x,
        "mul": lambda lib, x, o: lib.mul(x, o[0]),
        "div": lambda lib, x, o: x / (o[0] * o[0] + 0.5),
        "rdiv": lambda lib, x, o: o[0] / (x * x + 0.5),
        "scalar": lambda lib, x, o: (x * value - value) / value + o[0] * 0,
        "alpha": lambda lib, x, o: lib.add(x, o[0], alpha=value),
    }
    return steps[kind], [np.random.default_rng(len(other)).standard_normal(other)]


def op_unary(data, shape):
    kind = data.draw(st.sampled_from(["exp", "log", "tanh", "sigmoid", "relu", "pow", "powt"]))
    exponent = data.draw(st.sampled_from([0.5, 2, 3, -1.5]))
    steps = {
        "exp": lambda lib, x, o: lib.exp(x),
        "log": lambda lib, x, o: lib.log(x * x + 1),
        "tanh": lambda lib, x, o: x.tanh(),
        "sigmoid": lambda lib, x, o: lib.sigmoid(x),
        "relu": lambda lib, x, o: lib.relu(x),
        "pow": lambda lib, x, o: (x * x + 0.5) ** exponent,
        "powt": lambda lib, x, o: lib.pow(x * x + 0.5, o[0]),
    }
    others = [np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape)] if kind == "powt" else []
    return steps[kind], others


def op_reduce(data, shape):
    kind = data.draw(st.sampled_from(["sum", "mean", "max", "min", "softmax", "log_softmax"]))
    ndim = len(shape)
    if kind in ("softmax", "log_softmax"):
        dim = _dim(data, ndim)
        return (lambda lib, x, o: getattr(x, kind)(dim)), []
    if kind in ("max", "min"):
        if ndim == 0 or data.draw(st.booleans()):
            return (lambda lib, x, o: getattr(x, kind)()), []
        dim, keep = _dim(data, ndim), data.draw(st.booleans())
        return (lambda lib, x, o: getattr(lib, kind)(x, dim, keepdim=keep)[0]), []
    if ndim == 0 or data.draw(st.booleans()):
        return (lambda lib, x, o: getattr(x, kind)()), []
    dims = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    dims = tuple(d - ndim if data.draw(st.booleans()) else d for d in dims)
    keep = data.draw(st.booleans())
    return (lambda lib, x, o: getattr(lib, kind)(x, dims, keepdim=keep)), []


def op_shape(data, shape, contiguous=True):
    ndim, numel = len(shape), int(np.prod(shape))
    # Reshape only of contiguous tensors: of a strided one that can still be viewed PyTorch says
    # ReshapeAliasBackward0 (x[:, ::2].reshape(-1), x[::2].reshape(x[::2].shape)), glassgrad
    # ViewBackward0 or UnsafeViewBackward0.
    kinds = ["reshape"] * contiguous + ["transpose", "permute", "unsqueeze", "squeeze"]
    kind = data.draw(st.sampled_from(kinds))
    if kind == "reshape":
        target = data.draw(st.sampled_from([(-1,), (1, numel), tuple(reversed(shape)), (numel, 1)]))
        return (lambda lib, x, o: x.reshape(target)), []
    if kind == "unsqueeze" or ndim == 0:
        dim = data.draw(st.integers(-ndim - 1, ndim))
        return (lambda lib, x, o: lib.unsqueeze(x, dim)), []
    if kind == "squeeze":
        if data.draw(st.booleans()):
            return (lambda lib, x, o: x.squeeze()), []
        dim = _dim(data, ndim)
        return (lambda lib, x, o: x.squeeze(dim)), []
    if kind == "transpose":
        first, second = _dim(data, ndim), _dim(data, ndim)
        return (lambda lib, x, o: x.transpose(first, second)), []
    order = data.draw(st.permutations(range(ndim)))
    return (lambda lib, x, o: x.permute(*order)), []


def op_index(data, shape):
    ndim = len(shape)
    if ndim == 0:
        return (lambda lib, x, o: x[None]), []
    index = []
    for size in shape[: data.draw(st.integers(1, ndim))]:
        kind = data.draw(st.sampled_from(["slice", "int", "full"]))
        if kind == "slice":
            start = data.draw(st.integers(-size, size - 1))
            step = data.draw(st.integers(1, 3))
            index.append(slice(start, None, step))
        elif kind == "int":
            index.append(data.draw(st.integers(-size, size - 1)))
        else:
            index.append(slice(None))
    if data.draw(st.booleans()):
        # One integer list (with repeats, so the backward has to accumulate) on a drawn dim.
        dim = data.draw(st.integers(0, ndim - 1))
        picks = data.draw(st.lists(st.integers(-shape[dim], shape[dim] - 1), min_size=1))
        index = [slice(None)] * dim + [picks]
    key = tuple(index)
    return (lambda lib, x, o: x[key]), []


def op_matmul(data, shape):
    rng = np.random.default_rng(len(shape))
    if len(shape) == 0:
        return (lambda lib, x, o: x * o[0]), [rng.standard_normal(())]
    inner, cols = shape[-1], data.draw(SIZES)
    # A batched right operand only with the left one's own batch: for 2-D @ 3-D and for batches
    # that broadcast, PyTorch's grad_fn names its internal folding (CloneBackward0,
    # TransposeBackward0 or UnsafeViewBackward0 by shape); glassgrad always says
    # UnsafeViewBackward0.
    batch = tuple(shape[-3:-2]) if data.draw(st.booleans()) else ()
    other = data.draw(st.sampled_from([(inner,), (inner, cols), batch + (inner, cols)]))
    if data.draw(st.booleans()) and len(shape) >= 2:
        rows = shape[-2]
        left = data.draw(st.sampled_from([(rows,), (cols, rows)][: 2 if len(shape) == 2 else 1]))
        return (lambda lib, x, o: lib.matmul(o[0], x)), [rng.standard_normal(left)]
    return (lambda lib, x, o: x @ o[0]), [rng.standard_normal(other)]


def op_join(data, shape):
    ndim = len(shape)
    kind = data.draw(st.sampled_from(["cat", "stack", "where", "clamp"]))
    rng = np.random.default_rng(ndim)
    if kind == "clamp":
        low = data.draw(st.sampled_from([None, -0.5, 0.0]))
        high = data.draw(st.sampled_from([None, 0.5, 1.0] if low is not None else [0.5, 1.0]))
        return (lambda lib, x, o: x.clamp(min=low, max=high)), []
    if kind == "where":
        cond = rng.standard_normal(_broadcast_shape(data, shape)) > 0
        other = _broadcast_shape(data, shape, grow=False)
        return (lambda lib, x, o: lib.where(lib.tensor(cond), x, o[0])), [
            rng.standard_normal(other)
        ]
    if kind == "stack":
        dim = data.draw(st.integers(-ndim - 1, ndim))
        return (lambda lib, x, o: lib.stack([x, o[0]], dim)), [rng.standard_normal(shape)]
    if ndim == 0:
        return (lambda lib, x, o: lib.cat([x[None], o[0]])), [rng.standard_normal(2)]
    dim = _dim(data, ndim)
    other = list(shape)
    other[dim] = data.draw(SIZES)
    return (lambda lib, x, o: lib.cat((o[0], x), dim=dim)), [rng.standard_normal(other)]


OPS = [op_binary, op_unary, op_reduce, op_shape, op_index, op_matmul, op_join]


def draw_program(data):
    """The start shape and a list of ``(step, extra leaf arrays)``; shapes tracked by torch."""
    shape = tuple(data.draw(st.lists(SIZES, max_size=3)))
    start = np.random.default_rng(sum(shape)).uniform(-1.5, 1.5, shape)
    probes, program = [lib.tensor(start) for lib in LIBS], []
    for _ in range(data.draw(st.integers(1, 6))):
        make = data.draw(st.sampled_from(OPS))
        # Both contiguous: NumPy lays x[:, [0, 0]] out non-contiguously where PyTorch's result is
        # contiguous, and a reshape then copies in glassgrad only (UnsafeViewBackward0 against
        # ViewBackward0).
        contiguous = all(probe.is_contiguous() for probe in probes)
        flags = {"contiguous": contiguous} if make is op_shape else {}
        step, others = make(data, tuple(probes[0].shape), **flags)
        probes = [
            step(lib, p, [lib.tensor(o) for o in others])
            for lib, p in zip(LIBS, probes, strict=True)
        ]
        program.append((step, others))
    return start, program


def run_program(lib, start, program):
    """The leaves, the output of every step and the final output, on ``lib``."""
    leaves = [leaf(lib, start)]
    value, outputs = leaves[0], []
    for step, others in program:
        extra = [leaf(lib, o) for o in others]
        leaves += extra
        value = step(lib, value, extra)
        outputs.append(value)
    return leaves, outputs


def _weighted(lib, value):
    weight = np.random.default_rng(value.dim()).uniform(0.5, 1.5, tuple(value.shape))
    return (value * lib.tensor(weight)).sum()


@FUZZ
@given(data=st.data(), double=st.booleans())
def test_random_chains(data, double):
    """Values, dtypes, shapes, grad_fn names and leaf gradients of a random chain agree."""
    start, program = draw_program(data)
    runs = [run_program(lib, start, program) for lib in LIBS]
    (want_leaves, want_outs), (got_leaves, got_outs) = runs
    for index, (got, want) in enumerate(zip(got_outs, want_outs, strict=True)):
        same(got, want, f"step {index}")
        assert grad_fn_name(got) == grad_fn_name(want), f"step {index}"
    if not double:
        for lib, (_, outs) in zip(LIBS, runs, strict=True):
            _weighted(lib, outs[-1]).backward()
        for index, (got, want) in enumerate(zip(got_leaves, want_leaves, strict=True)):
            same(got.grad, want.grad, f"grad of leaf {index}")
        return
    seconds = [
        _second_order(lib, leaves, outs[-1]) for lib, (leaves, outs) in zip(LIBS, runs, strict=True)
    ]
    (want_first, want_second), (got_first, got_second) = seconds
    for index, (got, want) in enumerate(
        zip(got_first + got_second, want_first + want_second, strict=True)
    ):
        same(got, want, f"gradient {index}")


def _second_order(lib, leaves, output):
    """First gradients with create_graph=True, then the gradient of their weighted sum."""
    firsts = lib.autograd.grad(_weighted(lib, output), leaves, create_graph=True, allow_unused=True)
    total = sum(_weighted(lib, g) for g in firsts if g is not None)
    if not isinstance(total, lib.Tensor) or not total.requires_grad:
        return list(firsts), []
    seconds = lib.autograd.grad(total, leaves, allow_unused=True)
    return list(firsts), list(seconds)


# -- (b) mixed-dtype arithmetic ---------------------------------------------------------------
DTYPES = ["bool", "int8", "int32", "int64", "float16", "float32", "float64"]
SCALARS = {"pybool": True, "pyint": 3, "pyfloat": 1.5, "pyneg": -2}
OPERATORS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "pow": lambda a, b: a**b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "maximum": lambda a, b: torch_or_gg(a, b).maximum(a, b),
}


def torch_or_gg(a, b):
    """The library of whichever operand is a tensor."""
    for value in (a, b):
        if isinstance(value, glassgrad.Tensor):
            return glassgrad
    return torch


def operand(lib, kind, shape, seed):
    """A tensor of dtype ``kind`` (nonzero values, so integer division stays defined), or the
    Python scalar named ``kind``."""
    if kind in SCALARS:
        return SCALARS[kind]
    values = np.random.default_rng(seed).integers(1, 4, shape) * np.where(
        np.random.default_rng(seed + 1).random(shape) > 0.3, 1, -1
    )
    array = values.astype(kind) if kind != "bool" else values > 0
    return lib.tensor(array)


@settings(
    max_examples=int(DEEP or 400),
    deadline=None,
    derandomize=not DEEP,
)
@given(
    left=st.sampled_from(DTYPES + list(SCALARS)),
    right=st.sampled_from(DTYPES + list(SCALARS)),
    shapes=st.tuples(st.sampled_from([(), (3,), (2, 3)]), st.sampled_from([(), (3,), (1, 3)])),
    operator=st.sampled_from(sorted(OPERATORS)),
)
def test_mixed_dtype_arithmetic(left, right, shapes, operator):
    """Result dtypes and values of mixed-dtype arithmetic agree, or both raise the same type."""
    if left in SCALARS and right in SCALARS:
        right = "float32"
    fn = OPERATORS[operator]
    outcomes = []
    for lib in LIBS:
        a = operand(lib, left, shapes[0], 1)
        b = operand(lib, right, shapes[1], 2)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                outcomes.append(fn(a, b))
        except Exception as error:  # noqa: BLE001 - the type is what is compared
            outcomes.append(error)
    want, got = outcomes
    if isinstance(want, Exception):
        assert type(got) is type(want), f"torch raised {want!r}, glassgrad gave {got!r}"
        return
    assert not isinstance(got, Exception), f"glassgrad raised {got!r}, torch gave {want!r}"
    assert str(got.dtype) == str(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    tolerance = 1e-3 if want.dtype == torch.float16 else 1e-6
    np.testing.assert_allclose(
        got.numpy().astype(np.float64), want.numpy().astype(np.float64), rtol=tolerance
    )


# -- (c) in-place sequences -------------------------------------------------------------------
def _inplace_step(data, shape):
    """One in-place step on ``y`` (or a view of it) as a function ``(lib, y, other) -> None``,
    with the array of the extra leaf it uses (or None)."""
    kind = data.draw(
        st.sampled_from(["add_", "mul_", "setitem", "clamp_", "view_add_", "view_mul_", "use"])
    )
    rows = data.draw(st.sampled_from([slice(0, 1), slice(1, None), slice(None, None, 2), 0]))
    other = np.random.default_rng(len(kind)).uniform(0.5, 1.5, shape)
    if kind == "add_":
        alpha = data.draw(st.sampled_from([1, -2.0]))
        return (lambda lib, y, o, keep: y.add_(o, alpha=alpha)), other
    if kind == "mul_":
        return (lambda lib, y, o, keep: y.mul_(o)), other
    if kind == "clamp_":
        return (lambda lib, y, o, keep: y.clamp_(min=-0.5, max=1.0)), None
    if kind == "setitem":
        scalar = data.draw(st.booleans())

        def assign(lib, y, o, keep):
            y[rows] = 2.5 if scalar else o[rows] * 3

        return assign, other
    if kind == "use":
        # Saves y for the backward of mul; a later in-place change must make backward raise.
        return (lambda lib, y, o, keep: keep.append(y * y)), None
    method = kind[5:]
    return (lambda lib, y, o, keep: getattr(y[rows], method)(o[rows])), other


@FUZZ
@given(data=st.data())
def test_random_inplace_sequences(data):
    """In-place ops on a non-leaf and its views: same grad_fn names, gradients or error types."""
    shape = (3, data.draw(SIZES))
    start = np.random.default_rng(shape[1]).uniform(-1.5, 1.5, shape)
    steps = [_inplace_step(data, shape) for _ in range(data.draw(st.integers(1, 5)))]
    on_leaf = data.draw(st.integers(0, 9)) == 0
    outcomes = [_run_inplace(lib, start, steps, on_leaf) for lib in LIBS]
    want, got = outcomes
    if isinstance(want, Exception):
        assert type(got) is type(want), f"torch raised {want!r}, glassgrad gave {got!r}"
        return
    assert not isinstance(got, Exception), f"glassgrad raised {got!r}, torch gave {want!r}"
    assert got[0] == want[0], "grad_fn names"
    for index, (g, w) in enumerate(zip(got[1], want[1], strict=True)):
        same(g, w, f"grad of leaf {index}")


def _run_inplace(lib, start, steps, on_leaf):
    """The grad_fn names after each step and the leaves' gradients, or the exception raised."""
    base = leaf(lib, start)
    leaves, names, keep = [base], [], []
    try:
        y = base if on_leaf else base * 2
        for step, other in steps:
            extra = leaf(lib, other) if other is not None else None
            leaves += [extra] if extra is not None else []
            step(lib, y, extra, keep)
            names.append(grad_fn_name(y))
        total = _weighted(lib, y) + sum(_weighted(lib, k) for k in keep)
        total.backward()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return error
    return names, [item.grad for item in leaves]


# -- regressions found by the fuzzers ---------------------------------------------------------
@pytest.mark.parametrize("lib", LIBS, ids=["torch", "glassgrad"])
def test_fuzz_harness_runs_on_both(lib):
    """The harness itself: a fixed chain runs and its gradient is the hand-derived one."""
    x = leaf(lib, [1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), [2.0, 4.0])


CASES = {
    "int ** negative int tensor": lambda lib: (
        lib.tensor([2, 1, -1, 0, -1, 3]) ** lib.tensor([-2, -3, -3, -1, -2, 2])
    ),
    "scalar ** negative int tensor": lambda lib: 2 ** lib.tensor(-2),
    "bool ** int8 tensor": lambda lib: lib.tensor(True) ** lib.tensor(-2, dtype=lib.int8),
    "bool ** bool scalar": lambda lib: lib.tensor([True, False]) ** True,
    "bool ** False": lambda lib: lib.tensor([True, False]) ** False,
    "bool ** bool tensor": lambda lib: lib.tensor([True]) ** lib.tensor([False]),
    "True ** bool tensor": lambda lib: True ** lib.tensor([True]),
    "int ** negative Python int": lambda lib: lib.tensor([2]) ** -2,
    "bool // bool": lambda lib: lib.tensor([True]) // lib.tensor([True]),
    "bool % True": lambda lib: lib.tensor([True]) % True,
    "True // bool": lambda lib: True // lib.tensor([True]),
    "fmod bool": lambda lib: lib.fmod(lib.tensor([True]), lib.tensor([True])),
    "trunc div bool": lambda lib: lib.div(lib.tensor([True]), True, rounding_mode="trunc"),
    "maximum(scalar, tensor)": lambda lib: lib.maximum(True, lib.tensor([1])),
    "atan2(scalar, tensor)": lambda lib: lib.atan2(1.0, lib.tensor([1.0])),
    "3 // int8": lambda lib: 3 // lib.tensor([2], dtype=lib.int8),
    "3 % int8": lambda lib: 3 % lib.tensor([2], dtype=lib.int8),
    "2.5 // int32": lambda lib: 2.5 // lib.tensor([2], dtype=lib.int32),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_integer_and_bool_regressions(case):
    """Found by the dtype fuzzer: integer pow with negative tensor exponents (NumPy raised), bool
    pow (NumPy gave int8 where PyTorch keeps bool or raises) and bool //, %, fmod (PyTorch has
    no bool kernel; glassgrad returned int64); maximum/atan2 with a scalar ``input`` (PyTorch's
    TypeError; glassgrad's AttributeError); a number on the left of ``//``/``%`` (glassgrad made it
    int64)."""
    outcomes = []
    for lib in LIBS:
        try:
            outcomes.append(CASES[case](lib))
        except Exception as error:  # noqa: BLE001 - the type and text are what is compared
            outcomes.append(error)
    want, got = outcomes
    if isinstance(want, Exception):
        assert type(got) is type(want) and str(got) == str(want)
        return
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


SUB_CASES = {
    "bool - int8 tensor": lambda lib: lib.tensor([True]) - lib.tensor([3], dtype=lib.int8),
    "int8 - bool tensor": lambda lib: lib.tensor([3], dtype=lib.int8) - lib.tensor([True]),
    "bool - 1": lambda lib: lib.tensor([True]) - 1,
    "1 - bool": lambda lib: 1 - lib.tensor([True]),
    "bool - True": lambda lib: lib.tensor([True]) - True,
    "True - bool": lambda lib: True - lib.tensor([True]),
    "float - True": lambda lib: lib.tensor([1.5]) - True,
    "sub bool alpha": lambda lib: lib.sub(lib.tensor([2.0]), lib.tensor([True]), alpha=2),
}


@pytest.mark.parametrize("case", sorted(SUB_CASES))
def test_bool_subtraction_regressions(case):
    """Found by the dtype fuzzer: PyTorch refuses ``-`` whenever one side is bool, with one text
    for two bools and another for one; glassgrad subtracted, or raised NumPy's TypeError."""
    outcomes = []
    for lib in LIBS:
        with pytest.raises(RuntimeError) as caught:
            SUB_CASES[case](lib)
        outcomes.append(str(caught.value))
    assert outcomes[1] == outcomes[0]


def test_relu_gradient_can_be_differentiated_again():
    """Found by the chain fuzzer: PyTorch's relu gradient keeps the output in the graph, so its
    gradient requires grad and differentiates to zeros; glassgrad's was a constant."""
    results = []
    for lib in LIBS:
        x = leaf(lib, [1.0, -1.0])
        (first,) = lib.autograd.grad(lib.relu(x).sum(), x, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), x)
        results.append((first.requires_grad, as_numpy(first), as_numpy(second)))
    (want_flag, want_first, want_second), (got_flag, got_first, got_second) = results
    assert got_flag == want_flag
    np.testing.assert_array_equal(got_first, want_first)
    np.testing.assert_array_equal(got_second, want_second)


@pytest.mark.parametrize(
    "key",
    [(slice(-1, None),), (slice(-3, None),), (slice(0, None),), (slice(0, 10),), (slice(-5, 3),)],
    ids=str,
)
def test_tuple_slice_grad_fn_regressions(key):
    """Found by the chain fuzzer: PyTorch names a tuple index by the slice as written (``x[-3:,]``
    on three rows is a SliceBackward0), glassgrad by the normalised one (AliasBackward0)."""
    names = [grad_fn_name((leaf(lib, np.ones((3, 2))) * 1)[key]) for lib in LIBS]
    assert names[1] == names[0]


def test_pow_tensor_exponent_zero_second_order():
    """Found by the chain fuzzer: PyTorch masks exponent == 0 in the base's gradient, so its
    derivative with respect to the exponent is zero there; glassgrad's was ``2x / a``."""
    results = []
    for lib in LIBS:
        x = leaf(lib, [[0.3, -1.2], [0.5, 1.0]])
        exponent = leaf(lib, [[-1.0, 0.0], [1.0, 2.0]])
        firsts = lib.autograd.grad(
            lib.pow(x * x + 0.5, exponent).sum(), [x, exponent], create_graph=True
        )
        seconds = lib.autograd.grad(sum(g.sum() for g in firsts), [x, exponent])
        results.append([as_numpy(g) for g in firsts + seconds])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
