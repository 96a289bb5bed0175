"""Every op of the op table under ``glassgrad.compile``: forward values and gradients against eager.

Each op is called through its public name inside a compiled function (the first call traces,
the second replays the plan); the outputs and the gradients of ``sum(out * w)`` must equal eager
glassgrad's to float rounding. Random ops are reseeded before each run, so eager and compiled
draw the same numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassgrad
from glassgrad.ops import OPS
from glassgrad.ops._sampling import maker

NAMES = sorted(OPS)


def _samples(info, rng):
    if info.samples is not None:
        return list(info.samples(rng))
    make = maker(rng, info.domain)
    return [(tuple(make(s) for _ in range(info.nin)), dict(info.kwargs)) for s in info.shapes]


def _tensor(value, grad):
    if isinstance(value, np.ndarray):
        t = glassgrad.tensor(value)
        if grad and value.dtype.kind == "f":
            t.requires_grad_()
        return t
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
        return type(value)(_tensor(v, grad) for v in value)
    return value


def _public(info):
    """The op through a name the tracer sees: method, ``glassgrad.``, ``nn.functional.``..."""
    name = info.name
    if info.methods:
        return lambda first, *rest, **kw: getattr(first, name)(*rest, **kw)
    # looked up at each call, as user code does (``F.relu(x)``): the tracer sees that name
    for namespace in (glassgrad, glassgrad.nn.functional, glassgrad.linalg, glassgrad.special):
        if getattr(namespace, name, None) is not None:
            return lambda *a, _ns=namespace, **kw: getattr(_ns, name)(*a, **kw)
    short = name.removeprefix("special_").removeprefix("linalg_")
    for namespace in (glassgrad.special, glassgrad.linalg):
        if getattr(namespace, short, None) is not None:
            return lambda *a, _ns=namespace, **kw: getattr(_ns, short)(*a, **kw)
    return None


def _outs(out):
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, glassgrad.Tensor)]
    return [out] if isinstance(out, glassgrad.Tensor) else []


def _leaves(args):
    found = []
    for value in args:
        items = value if isinstance(value, (list, tuple)) else (value,)
        found += [v for v in items if isinstance(v, glassgrad.Tensor) and v.requires_grad]
    return found


def _run(call, args, kwargs, weights, seed):
    glassgrad.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = call(*args, **kwargs)
    outs = _outs(out)
    inputs = _leaves(args)
    values = [o.detach().numpy().copy() for o in outs]
    grads = None
    if inputs and any(o.requires_grad for o in outs):
        loss = sum(
            (o * glassgrad.tensor(w.astype(o.detach().numpy().dtype))).sum()
            for o, w in zip(outs, weights, strict=True)
            if o.requires_grad
        )
        found = glassgrad.autograd.grad(loss, inputs, allow_unused=True)
        grads = [None if g is None else g.numpy().copy() for g in found]
    return values, grads


def _close(got, expected, name):
    assert len(got) == len(expected), name
    for a, b in zip(got, expected, strict=True):
        if a is None or b is None:
            assert a is None and b is None, name
            continue
        assert a.dtype == b.dtype and a.shape == b.shape, name
        if a.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=name, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)


COMPILED: set = set()


@pytest.fixture(autouse=True)
def _replay_opaque(monkeypatch):
    """Replay every plan, also those that only call opaque ops (which run eagerly by default,
    being no faster): the op table is checked through the plan machinery."""
    from glassgrad._compile import runtime

    monkeypatch.setattr(runtime, "REPLAY_OPAQUE", [True])


@pytest.mark.parametrize("name", NAMES)
def test_op_under_compile_matches_eager(name):
    info = OPS[name]
    call = _public(info)
    if call is None:
        pytest.skip(f"{name} has no public name")
    rng = np.random.default_rng(0)
    for args_np, kwargs in _samples(info, rng):
        args = [_tensor(a, info.differentiable) for a in args_np]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                probe = _outs(call(*args, **kwargs))
        except Exception:  # noqa: BLE001 - a sample eager refuses says nothing of compile
            continue
        weights = [rng.uniform(0.5, 1.5, tuple(o.shape)) for o in probe]
        expected = _run(call, args, kwargs, weights, 7)
        compiled = glassgrad.compile(lambda *a, **k: call(*a, **k))
        first = _run(compiled, args, kwargs, weights, 7)  # the trace
        second = _run(compiled, args, kwargs, weights, 7)  # the replay
        for got in (first, second):
            _close(got[0], expected[0], name)
            if expected[1] is None:
                assert got[1] is None, name
            else:
                _close(got[1], expected[1], name)
        entry = compiled._compiled.entries[0]
        if not entry.eager:
            assert entry.profitable
            COMPILED.add(name)


def test_most_of_the_table_replays_a_plan():
    """Guard against a tracer that silently falls back: most ops must compile for real."""
    for name in NAMES:
        if name not in COMPILED and _public(OPS[name]) is not None:
            test_op_under_compile_matches_eager(name)
    assert len(COMPILED) > 200, sorted(set(NAMES) - COMPILED)


def test_common_ops_really_compile():
    """The ops a training step is made of replay a plan, not an eager fallback."""
    x = glassgrad.randn(3, 4, requires_grad=True)
    w = glassgrad.randn(4, 2, requires_grad=True)
    for fn in (
        lambda x, w: (x @ w).tanh().sum(),
        lambda x, w: glassgrad.nn.functional.relu(x).exp().mean() * 2 - x.sin().sum(),
        lambda x, w: glassgrad.nn.functional.softmax(x, dim=1).log().sum(),
    ):
        compiled = glassgrad.compile(fn)
        compiled(x, w)
        entry = compiled._compiled.entries[0]
        assert not entry.eager, entry.breaks
