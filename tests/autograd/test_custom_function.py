"""``autograd.Function`` against PyTorch: setup_context, once_differentiable, mark_dirty,
mark_non_differentiable, set_materialize_grads, needs_input_grad, freed buffers, vjp/vmap hooks."""

from __future__ import annotations

import pytest

from autograd_compare import assert_same


def x(lib, rg=True):
    return lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=rg)


def setup_ctx(lib):
    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(a, k):
            return a * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            a, k = inputs
            ctx.k = k
            ctx.save_for_backward(a)

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    a = x(lib)
    y = Mul.apply(a, 3.0)
    y.sum().backward()
    return y, a.grad, y.grad_fn.name(), type(y.grad_fn).__name__


def needs(lib):
    seen = []

    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, g, None

    y = F.apply(x(lib), x(lib, False), 2)
    y.sum().backward()
    return seen


def nondiff(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            b = a.clone()
            c = a * 2
            ctx.mark_non_differentiable(b)
            return b, c

        @staticmethod
        def backward(ctx, gb, gc):
            return gb + gc

    a = x(lib)
    b, c = F.apply(a)
    c.sum().backward()
    return b.requires_grad, b.grad_fn, c.grad_fn.name(), a.grad


def nondiff_backward_b(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            b = a.clone()
            ctx.mark_non_differentiable(b)
            return b

        @staticmethod
        def backward(ctx, gb):
            return gb

    b = F.apply(x(lib))
    return b.sum().backward()


def materialize(lib, value):
    seen = []

    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(value)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None, None if g2 is None else g2.tolist()))
            return g1 * 2 if g1 is not None else None

    a = x(lib)
    p, q = F.apply(a)
    p.sum().backward()
    return seen, a.grad


def dirty(lib):
    class Inc(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g

    a = x(lib)
    b = a * 1
    c = Inc.apply(b)
    r = (c is b, c.grad_fn.name(), b._version if hasattr(b, "_version") else None)
    (c * c).sum().backward()
    return r, a.grad


def dirty_leaf(lib):
    class Inc(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g

    return Inc.apply(x(lib))


def dirty_not_returned(lib):
    class Inc(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    return Inc.apply(x(lib) * 1)


def freed(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = F.apply(x(lib))
    y.sum().backward()
    return y.grad_fn.saved_tensors


def once(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    a = x(lib)
    y = F.apply(a)
    (g,) = lib.autograd.grad(y.sum(), a, create_graph=True)
    r = (g.requires_grad, g.grad_fn.name())
    g.sum().backward()
    return r


def once_nograd(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    a = x(lib)
    y = F.apply(a)
    (g,) = lib.autograd.grad(y.sum(), a)
    return g


def vmap_attrs(lib):
    class F(lib.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(a):
            return a * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class G(lib.autograd.Function):
        @staticmethod
        def forward(a):
            return a * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g * 2

        @staticmethod
        def vmap(info, in_dims, a):
            return a * 2, in_dims[0]

    return F.apply(x(lib)), G.apply(x(lib)), F.generate_vmap_rule, G.generate_vmap_rule


def kwargs_apply(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k=2):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g

    return F.apply(x(lib), k=3)


def no_setup_ctx_forward(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    return F.apply(x(lib))


def saved_nonleaf_output(lib):
    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            r = a.exp()
            ctx.save_for_backward(r)
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            return g * r

    a = x(lib)
    y = Exp.apply(a)
    (g,) = lib.autograd.grad(y.sum(), a, create_graph=True)
    (g2,) = lib.autograd.grad(g.sum(), a)
    return y, g, g2


def ctx_attrs(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a, None)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    y = F.apply(x(lib))
    return y.grad_fn.saved_tensors, y.grad_fn.needs_input_grad, len(y.grad_fn.next_functions)


def setup_ctx_defaults(lib):
    seen = []

    class F(lib.autograd.Function):
        @staticmethod
        def forward(a, k=2):
            return a * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            seen.append(tuple(type(i).__name__ for i in inputs))

        @staticmethod
        def backward(ctx, g):
            return g, None

    return F.apply(x(lib)), F.apply(x(lib), k=3), seen


def vjp_only(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def vjp(ctx, g):
            return g * 5

    a = x(lib)
    F.apply(a).sum().backward()
    return a.grad


def vjp_and_backward(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

        @staticmethod
        def vjp(ctx, g):
            return g * 5

    F.apply(x(lib)).sum().backward()


def save_for_forward_bad(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_forward(a, 3)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    return F.apply(x(lib))


def default_vmap_rule(lib):
    return lib.autograd.Function.generate_vmap_rule, lib.autograd.Function.vmap(None, (0,), 1)


def materialize_true(lib):
    return materialize(lib, True)


def materialize_false(lib):
    return materialize(lib, False)


CASES = {
    name: globals()[name]
    for name in [
        "setup_ctx",
        "needs",
        "nondiff",
        "nondiff_backward_b",
        "materialize_true",
        "materialize_false",
        "dirty",
        "dirty_leaf",
        "dirty_not_returned",
        "freed",
        "once",
        "once_nograd",
        "vmap_attrs",
        "kwargs_apply",
        "no_setup_ctx_forward",
        "saved_nonleaf_output",
        "ctx_attrs",
        "setup_ctx_defaults",
        "vjp_only",
        "vjp_and_backward",
        "save_for_forward_bad",
        "default_vmap_rule",
    ]
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_matches_torch(name):
    assert_same(CASES[name])
