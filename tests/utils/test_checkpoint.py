"""``torch.utils.checkpoint`` against PyTorch: values, gradients, grad_fn names, warnings,
errors, nesting and double backward; recomputation, RNG and what ``glass.cost`` sees."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from autograd_compare import assert_same


def _cp(lib):
    return importlib.import_module(lib.__name__ + ".utils.checkpoint")


def _x(lib):
    return lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)


def _f(t):
    return (t.sin() * t).exp()


def _kw(reentrant):
    return {} if reentrant == "unset" else {"use_reentrant": reentrant}


def backward_through(lib, reentrant):
    a = _x(lib)
    y = _cp(lib).checkpoint(_f, a, **_kw(reentrant))
    name = y.grad_fn.name()
    y.sum().backward()
    return y, name, a.grad


def autograd_grad(lib, reentrant):
    a = _x(lib)
    y = _cp(lib).checkpoint(_f, a, **_kw(reentrant))
    return lib.autograd.grad(y.sum(), a)


def backward_with_inputs(lib, reentrant):
    a = _x(lib)
    y = _cp(lib).checkpoint(_f, a, **_kw(reentrant))
    y.sum().backward(inputs=[a])
    return a.grad


def no_input_requires_grad(lib, reentrant):
    return _cp(lib).checkpoint(_f, _x(lib).detach(), **_kw(reentrant))


def several_outputs(lib, reentrant):
    a, b = _x(lib), _x(lib) * 2
    y, z = _cp(lib).checkpoint(lambda p, q: (p * q, (p + q).exp()), a, b, **_kw(reentrant))
    (y.sum() + z.sum()).backward()
    return y, z, a.grad


def non_tensor_argument(lib, reentrant):
    a = _x(lib)
    y = _cp(lib).checkpoint(lambda t, k: t.pow(k), a, 3, **_kw(reentrant))
    y.sum().backward()
    return y, a.grad


def keyword_arguments(lib, reentrant):
    a = _x(lib)
    return _cp(lib).checkpoint(lambda t, k=1: t * k, a, k=3, **_kw(reentrant))


def context_fn_reentrant(lib, reentrant):
    import contextlib

    def context_fn():
        return contextlib.nullcontext(), contextlib.nullcontext()

    a = _x(lib)
    return _cp(lib).checkpoint(_f, a, context_fn=context_fn, **_kw(reentrant))


def nested_double_backward(lib, reentrant):
    cp = _cp(lib)
    a = _x(lib)

    def outer(t):
        return cp.checkpoint(_f, t, use_reentrant=False) * t

    y = cp.checkpoint(outer, a, use_reentrant=False)
    (g,) = lib.autograd.grad(y.sum(), a, create_graph=True)
    (h,) = lib.autograd.grad(g.sum(), a)
    return y, g, h


def sequential(lib, reentrant):
    a = _x(lib)
    steps = [lambda t: t * 2, lambda t: t.sin(), lambda t: t.exp(), lambda t: t * t]
    y = _cp(lib).checkpoint_sequential(steps, 2, a, **_kw(reentrant))
    y.sum().backward()
    return y, a.grad


def sequential_module(lib, reentrant):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    model.double()
    a = _x(lib)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.linspace(-1, 1, p.numel(), dtype=lib.float64).reshape(p.shape))
    y = _cp(lib).checkpoint_sequential(model, 2, a, **_kw(reentrant))
    y.sum().backward()
    return y, a.grad, [p.grad for p in model.parameters()]


def sequential_bad_kwarg(lib, reentrant):
    return _cp(lib).checkpoint_sequential([_f], 1, _x(lib), foo=1, **_kw(reentrant))


def bad_kwarg(lib, reentrant):
    return _cp(lib).checkpoint(_f, _x(lib), foo=1, **_kw(reentrant))


def input_modified_in_place(lib, reentrant):
    a = _x(lib)
    b = a * 1
    y = _cp(lib).checkpoint(lambda t: t.exp(), b, **_kw(reentrant))
    b.add_(1)
    y.sum().backward()
    return a.grad


def context_fn_contexts_without_early_stop(lib, reentrant):
    with _cp(lib).set_checkpoint_early_stop(False):
        return context_fn_contexts(lib, reentrant)


def context_fn_contexts_early_stop_argument(lib, reentrant):
    return context_fn_contexts(lib, reentrant, early_stop=False)


def context_fn_contexts(lib, reentrant, **options):
    import contextlib

    seen = []

    @contextlib.contextmanager
    def note(name):
        seen.append(name + " in")
        yield
        seen.append(name + " out")

    def context_fn():
        return note("forward"), note("recompute")

    a = _x(lib)
    y = _cp(lib).checkpoint(_f, a, context_fn=context_fn, **_kw(reentrant), **options)
    seen.append("backward")
    y.sum().backward()
    return seen, a.grad


def noop_context_fn_given(lib, reentrant):
    cp = _cp(lib)
    a = _x(lib)
    return cp.checkpoint(_f, a, context_fn=cp.noop_context_fn, **_kw(reentrant))


def settings_context_managers(lib, reentrant):
    cp = _cp(lib)
    a = _x(lib)
    with cp.set_checkpoint_early_stop(False), cp.set_checkpoint_debug_enabled(True):
        y = cp.checkpoint(_f, a, **_kw(reentrant))
    y.sum().backward()
    return y, a.grad


CASES = [
    context_fn_contexts,
    context_fn_contexts_without_early_stop,
    context_fn_contexts_early_stop_argument,
    noop_context_fn_given,
    settings_context_managers,
    input_modified_in_place,
    backward_through,
    autograd_grad,
    backward_with_inputs,
    no_input_requires_grad,
    several_outputs,
    non_tensor_argument,
    keyword_arguments,
    context_fn_reentrant,
    nested_double_backward,
    sequential,
    sequential_module,
    sequential_bad_kwarg,
    bad_kwarg,
]


@pytest.mark.parametrize("reentrant", ["unset", True, False])
@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_checkpoint_matches_torch(case, reentrant):
    assert_same(case, reentrant)


@pytest.mark.parametrize("reentrant", [True, False])
def test_recompute_keeps_dropout_mask(reentrant):
    """The recomputation draws the forward's random numbers (preserve_rng_state)."""
    import glassgrad as gg

    gg.manual_seed(0)
    a = gg.ones(64, dtype=gg.float64, requires_grad=True)
    y = _cp(gg).checkpoint(
        lambda t: gg.nn.functional.dropout(t * 2, 0.5, training=True),
        a,
        use_reentrant=reentrant,
    )
    gg.rand(10)  # moves the stream on before backward
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), y.detach().numpy())


def test_region_runs_again_once_in_backward_and_holds_only_inputs():
    import glassgrad as gg
    from glassgrad import glass

    calls = []

    def region(t):
        calls.append(1)
        return (t.exp() * t).sin().tanh()

    a = gg.ones(1000, dtype=gg.float64, requires_grad=True)
    plain = region(a).sum()
    y = _cp(gg).checkpoint(region, a, use_reentrant=False).sum()
    assert glass.cost(y).saved_bytes == a.nbytes  # only the input
    assert glass.cost(plain).saved_bytes > 2 * a.nbytes
    assert len(calls) == 2
    y.backward()
    assert len(calls) == 3
    expected = gg.autograd.grad(region(a).sum(), a)[0]
    np.testing.assert_allclose(a.grad.numpy(), expected.numpy(), rtol=1e-12)


def test_second_backward_raises_as_without_checkpoint():
    import glassgrad as gg

    a = _x(gg)
    y = _cp(gg).checkpoint(_f, a, use_reentrant=False).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
