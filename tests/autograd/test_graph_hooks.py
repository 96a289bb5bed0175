"""``torch.autograd.graph``'s hooks against PyTorch: saved_tensors_hooks, save_on_cpu,
disable_saved_tensors_hooks, register_multi_grad_hook, Node.register_hook/register_prehook,
Node.name(), next_functions and metadata."""

from __future__ import annotations

import pytest

from autograd_compare import assert_same


def _x(lib):
    return lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)


def _grads(values):
    return [None if g is None else g.tolist() for g in values]


def pack_and_unpack(lib):
    calls = []

    def pack(t):
        calls.append(("pack", tuple(t.shape)))
        return t * 1

    def unpack(t):
        calls.append(("unpack", tuple(t.shape)))
        return t

    a = _x(lib)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = (a * a).sin().sum()
    calls.append("forward done")
    y.backward()
    return calls, a.grad


def unpack_changes_value(lib):
    a = _x(lib)
    with lib.autograd.graph.saved_tensors_hooks(lambda t: t * 0 + 2, lambda t: t):
        y = (a * a).sum()
    y.backward()
    return a.grad


def unpack_returns_inference_tensor(lib):
    a = _x(lib)
    with lib.inference_mode():
        twos = lib.full(tuple(a.shape), 2.0)
    with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: twos):
        y = (a * a).sum()
    y.backward()
    return a.grad


def unpack_returns_not_tensor(lib):
    a = _x(lib)
    with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
        y = a.exp().sum()
    y.backward()


def nested_hooks_innermost_wins(lib):
    calls = []
    a = _x(lib)
    with lib.autograd.graph.saved_tensors_hooks(lambda t: calls.append("outer") or t, lambda t: t):
        with lib.autograd.graph.saved_tensors_hooks(
            lambda t: calls.append("inner") or t, lambda t: t
        ):
            y = a.exp()
        z = (y * 2).sum()
    z.backward()
    return calls, a.grad


def hooks_with_custom_function(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, grad):
            (t,) = ctx.saved_tensors
            return 2 * t * grad

    calls = []
    a = _x(lib)
    with lib.autograd.graph.saved_tensors_hooks(
        lambda t: calls.append("pack") or t, lambda t: calls.append("unpack") or t
    ):
        y = Square.apply(a).sum()
    y.backward()
    return calls, a.grad


def save_on_cpu(lib):
    a = _x(lib)
    with lib.autograd.graph.save_on_cpu():
        y = (a.exp() * a).sum()
    y.backward()
    return a.grad


def double_backward_under_hooks(lib):
    a = _x(lib)
    with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        y = (a.pow(3)).sum()
    (g,) = lib.autograd.grad(y, a, create_graph=True)
    return g, lib.autograd.grad(g.sum(), a)


def disabled(lib):
    with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass


def disabled_as_decorator(lib):
    @lib.autograd.graph.disable_saved_tensors_hooks("not in here")
    def run():
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass

    run()


def multi_all(lib):
    seen = []
    a, b, c = _x(lib), _x(lib), _x(lib)
    handle = lib.autograd.graph.register_multi_grad_hook(
        (a, b, c), lambda grads: seen.append(_grads(grads))
    )
    (a * b).sum().backward()
    (a * 2 + b * c).sum().backward()
    handle.remove()
    (a * 2).sum().backward()
    return seen


def multi_all_leaf_in_autograd_grad(lib):
    a, c = _x(lib), _x(lib)
    lib.autograd.graph.register_multi_grad_hook((a, c), print)
    return lib.autograd.grad((a * c).sum(), (a,))


def multi_all_autograd_grad(lib):
    seen = []
    a = _x(lib)
    h, k = a * 2, a * 3
    lib.autograd.graph.register_multi_grad_hook((h, k), lambda grads: seen.append(_grads(grads)))
    lib.autograd.grad((h * k).sum(), (h,))
    return seen


def hooks_only_where_autograd_grad_runs(lib):
    seen = []
    a, c = _x(lib), _x(lib)
    a.register_hook(lambda g: seen.append("a"))
    c.register_hook(lambda g: seen.append("c"))
    lib.autograd.grad((a * c).sum(), a)
    h, k = a * 2, c * 3
    h.register_hook(lambda g: seen.append("h"))
    k.register_hook(lambda g: seen.append("k"))
    lib.autograd.grad((h * k).sum(), h)
    (h * k).sum().backward(inputs=[h])
    return seen


def multi_any(lib):
    seen = []
    a, b = _x(lib), _x(lib)
    lib.autograd.graph.register_multi_grad_hook(
        (a, b), lambda grad: seen.append(grad.tolist()), mode="any"
    )
    (a * b).sum().backward()
    (b * 3).sum().backward()
    return seen


def multi_non_leaf(lib):
    seen = []
    a = _x(lib)
    h1, h2 = a * 2, a.exp()
    lib.autograd.graph.register_multi_grad_hook((h1, h2), lambda grads: seen.append(_grads(grads)))
    (h1 * h2).sum().backward()
    return seen


def multi_bad_mode(lib):
    return lib.autograd.graph.register_multi_grad_hook((_x(lib),), print, mode="some")


def node_hooks(lib):
    seen = []
    a = _x(lib)
    y = a * 3
    z = y.exp().sum()
    y.grad_fn.register_hook(lambda gi, go: seen.append(("post", _grads(gi), _grads(go))))
    z.grad_fn.register_prehook(lambda go: seen.append(("pre", _grads(go))))
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 0,) + tuple(gi[1:]))
    z.backward()
    return seen, a.grad


def node_hook_removed(lib):
    seen = []
    a = _x(lib)
    y = a.exp()
    handle = y.grad_fn.register_hook(lambda gi, go: seen.append(1))
    handle.remove()
    y.sum().backward()
    return seen, a.grad


def node_hook_create_graph(lib):
    a = _x(lib)
    y = a.pow(2)
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 2,))
    (g,) = lib.autograd.grad(y.sum(), a, create_graph=True)
    return g, lib.autograd.grad(g.sum(), a)


def accumulate_grad_hooks(lib):
    seen = []
    a = _x(lib)
    y = (a * 2).sum()
    acc = y.grad_fn.next_functions[0][0].next_functions[0][0]
    acc.register_hook(lambda gi, go: seen.append(("post", gi, _grads(go), a.grad.tolist())))
    acc.register_prehook(lambda go: seen.append(("pre", _grads(go))))
    y.backward()
    return acc.name(), seen, a.grad


def node_introspection(lib):
    a = _x(lib)
    y = (a * 2).exp().sum()
    node = y.grad_fn
    chain = []
    while node is not None:
        chain.append(
            (node.name(), [None if n is None else n.name() for n, _ in node.next_functions])
        )
        node = node.next_functions[0][0] if node.next_functions else None
    y.grad_fn.metadata["tag"] = 1
    return chain, y.grad_fn.metadata, isinstance(y.grad_fn, lib.autograd.graph.Node)


CASES = [
    pack_and_unpack,
    unpack_changes_value,
    unpack_returns_inference_tensor,
    unpack_returns_not_tensor,
    nested_hooks_innermost_wins,
    hooks_with_custom_function,
    save_on_cpu,
    double_backward_under_hooks,
    disabled,
    disabled_as_decorator,
    multi_all,
    multi_all_leaf_in_autograd_grad,
    multi_all_autograd_grad,
    hooks_only_where_autograd_grad_runs,
    multi_any,
    multi_non_leaf,
    multi_bad_mode,
    node_hooks,
    node_hook_removed,
    node_hook_create_graph,
    accumulate_grad_hooks,
    node_introspection,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_graph_hooks_match_torch(case):
    assert_same(case)
