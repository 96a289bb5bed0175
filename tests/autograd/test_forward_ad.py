"""``autograd.forward_ad`` against PyTorch: the level API and its errors, tangents through views
and in-place writes, forward over reverse, ``Function.jvp``, and the forward-mode hooks of
``autograd.functional.jacobian`` and ``gradcheck``. Each scenario runs in both libraries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as torch_fw

import glassgrad
from glassgrad.autograd import forward_ad as glass_fw

LIBS = ((torch, torch_fw), (glassgrad, glass_fw))


def _plain(value):
    """A scenario's result as comparable Python data: arrays, None, error (type, text)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return np.asarray(value.detach().numpy() if hasattr(value, "detach") else value)


def both(scenario):
    """Run ``scenario(lib, fw)`` in PyTorch and glassgrad: same results, or same error."""
    outcomes = []
    for lib, fw in LIBS:
        try:
            outcomes.append(("ok", _plain(scenario(lib, fw))))
        except Exception as exc:  # noqa: BLE001 - compared with PyTorch's
            outcomes.append(("error", (type(exc).__name__, str(exc))))
        finally:
            while fw._current_level >= 0:  # leave no level open after an error
                fw.exit_dual_level()
    (kind_t, theirs), (kind_g, ours) = outcomes
    assert kind_g == kind_t, f"torch: {theirs}\nglassgrad: {ours}"
    if kind_t == "error":
        assert ours == theirs
        return
    _assert_same(ours, theirs)


def _assert_same(ours, theirs):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _assert_same(o, t)
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), ours
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    else:
        assert ours == theirs


def _x(lib, *shape, requires_grad=False):
    n = int(np.prod(shape)) if shape else 1
    data = np.linspace(-1.0, 1.5, n).reshape(shape)
    return lib.tensor(data, dtype=lib.float64, requires_grad=requires_grad)


def _t(lib, *shape):
    n = int(np.prod(shape)) if shape else 1
    return lib.tensor(np.cos(np.arange(n)).reshape(shape), dtype=lib.float64)


# -- the level API and its errors ------------------------------------------------------------
def test_make_dual_needs_a_level():
    both(lambda lib, fw: fw.make_dual(_x(lib, 3), _t(lib, 3)))


def test_nested_levels_are_refused():
    def scenario(lib, fw):
        with fw.dual_level():
            with fw.dual_level():
                pass

    both(scenario)


@pytest.mark.parametrize(
    "case",
    ["size", "int_primal", "int_tangent", "twice", "bad_level", "unpack_number", "exit_twice"],
)
def test_errors(case):
    def scenario(lib, fw):
        with fw.dual_level() as level:
            if case == "size":
                return fw.make_dual(_x(lib, 3), _t(lib, 2))
            if case == "int_primal":
                return fw.make_dual(lib.arange(3), lib.arange(3))
            if case == "int_tangent":
                return fw.make_dual(_x(lib, 3), lib.arange(3))
            if case == "twice":
                dual = fw.make_dual(_x(lib, 3), _t(lib, 3))
                return fw.make_dual(dual, _t(lib, 3))
            if case == "bad_level":
                return fw.make_dual(_x(lib, 3), _t(lib, 3), level=level + 2)
            if case == "unpack_number":
                return fw.unpack_dual(3)
            fw.exit_dual_level()
            fw.exit_dual_level()

    both(scenario)


def test_unpack_dual_and_level_lifetime():
    def scenario(lib, fw):
        tangent = _t(lib, 3)
        with fw.dual_level() as level:
            dual = fw.make_dual(_x(lib, 3), tangent)
            unpacked = fw.unpack_dual(dual)
            inside = [
                level,
                unpacked.primal,
                unpacked.tangent,
                unpacked.tangent is tangent,
                type(unpacked).__name__,
                unpacked._fields,
                fw.unpack_dual(_x(lib, 3)).tangent,
                fw.unpack_dual(dual.detach()).tangent,
                fw.unpack_dual(dual.argmax()).tangent,
                dual.requires_grad,
                dual.is_leaf,
            ]
            out = dual.sin()
        return inside + [fw.unpack_dual(out).tangent, fw._current_level]

    both(scenario)


def test_no_grad_does_not_stop_forward_mode():
    def scenario(lib, fw):
        with fw.dual_level():
            dual = fw.make_dual(_x(lib, 3), _t(lib, 3))
            with lib.no_grad():
                out = (dual * dual).exp().sum()
            return fw.unpack_dual(out).tangent, fw.unpack_dual(dual.floor()).tangent

    both(scenario)


def test_mixed_dual_and_plain_operands():
    def scenario(lib, fw):
        with fw.dual_level():
            dual = fw.make_dual(_x(lib, 2, 3), _t(lib, 2, 3))
            plain = _x(lib, 3) + 2
            outs = [
                dual @ plain,
                plain * dual,
                (dual / plain).sum(0),
                lib.where(dual > 0, dual, plain),
            ]
            return [fw.unpack_dual(o).tangent for o in outs]

    both(scenario)


# -- views and in-place writes ---------------------------------------------------------------
def test_inplace_through_views_reaches_the_base_tangent():
    def scenario(lib, fw):
        found = []
        with fw.dual_level():
            dual = fw.make_dual(_x(lib, 2, 3), _t(lib, 2, 3))
            row = dual[0]
            row.mul_(3)
            found.append(fw.unpack_dual(dual).tangent)
            target = _x(lib, 2, 3).clone()
            part = target[1:]
            part.mul_(dual[1:])
            found += [fw.unpack_dual(target).tangent, fw.unpack_dual(part).tangent]
            holder = lib.zeros(3, dtype=lib.float64)
            holder[1] = dual[0, 2]
            found.append(fw.unpack_dual(holder).tangent)
            cleared = dual.clone()
            cleared.zero_()
            found.append(fw.unpack_dual(cleared).tangent)
            flipped = dual.t()
            flipped.mul_(2)
            found.append(fw.unpack_dual(dual).tangent)
            base = lib.zeros(4, dtype=lib.float64)
            head = base[:2]
            base.copy_(fw.make_dual(lib.ones(4, dtype=lib.float64), _t(lib, 4)))
            found.append(fw.unpack_dual(head).tangent)
            plain = _x(lib, 3).clone()
            plain.add_(fw.make_dual(_x(lib, 3), _t(lib, 3)), alpha=2)
            found.append(fw.unpack_dual(plain).tangent)
        return found

    both(scenario)


# -- forward over reverse, reverse over forward ---------------------------------------------
def test_backward_through_a_jvp():
    def scenario(lib, fw):
        primal = _x(lib, 3, requires_grad=True)
        tangent = _t(lib, 3).requires_grad_()
        with fw.dual_level():
            dual = fw.make_dual(primal, tangent)
            out = (dual.sin() * dual).sum() + dual.exp().prod()
            jvp = fw.unpack_dual(out).tangent
        jvp.backward()
        return jvp, primal.grad, tangent.grad

    both(scenario)


def test_hessian_vector_product_forward_over_reverse():
    def scenario(lib, fw):
        with fw.dual_level():
            dual = fw.make_dual(_x(lib, 4, requires_grad=True), _t(lib, 4))
            loss = (dual.tanh() ** 3).sum() + (dual[:2] * dual[2:]).sum()
            (grad,) = lib.autograd.grad(loss, dual, create_graph=True)
            return grad, fw.unpack_dual(grad).tangent

    both(scenario)


def test_nested_levels_give_second_derivatives():
    """The internal API (for torch.func) nests levels: jvp of jvp is a second derivative."""
    x = glassgrad.tensor([0.3, -1.2], dtype=glassgrad.float64)
    outer = glass_fw._enter()
    try:
        a = glass_fw._make_dual(x, glassgrad.ones(2, dtype=glassgrad.float64), outer)
        inner = glass_fw._enter()
        try:
            b = glass_fw._make_dual(a, glassgrad.ones(2, dtype=glassgrad.float64), inner)
            first = glass_fw.unpack_dual(b.sin() * b, level=inner).tangent
        finally:
            glass_fw._exit(inner)
        second = glass_fw.unpack_dual(first, level=outer).tangent
    finally:
        glass_fw._exit(outer)
    value = x.numpy()
    np.testing.assert_allclose(first.numpy(), np.cos(value) * value + np.sin(value))
    np.testing.assert_allclose(second.numpy(), 2 * np.cos(value) - value * np.sin(value))


# -- custom Functions ------------------------------------------------------------------------
def _functions(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_forward(x)
            ctx.scale = scale
            return x**3 * scale

        @staticmethod
        def backward(ctx, grad):
            raise AssertionError("not used")

        @staticmethod
        def jvp(ctx, x_t, scale_t):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * x_t * ctx.scale

    class NoJvp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    return Cube, NoJvp


@pytest.mark.parametrize("which", [0, 1])
def test_function_jvp(which):
    def scenario(lib, fw):
        fn = _functions(lib)[which]
        with fw.dual_level():
            dual = fw.make_dual(_x(lib, 3), _t(lib, 3))
            out = fn.apply(dual, 2.0) if which == 0 else fn.apply(dual)
            return fw.unpack_dual(out).tangent

    both(scenario)


# -- the hooks: functional.jacobian and gradcheck --------------------------------------------
def _f(a, b):
    return a.sin() * b.sum(), (b @ b).exp()


def test_jacobian_forward_mode():
    both(
        lambda lib, fw: lib.autograd.functional.jacobian(
            _f, (_x(lib, 3), _x(lib, 2, 2)), strategy="forward-mode", vectorize=True
        )
    )


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("backward", [True, False])
def test_gradcheck_forward_ad(fast_mode, backward):
    both(
        lambda lib, fw: lib.autograd.gradcheck(
            _f,
            (_x(lib, 3, requires_grad=True), _x(lib, 2, 2, requires_grad=True)),
            check_forward_ad=True,
            check_backward_ad=backward,
            fast_mode=fast_mode,
        )
    )


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_finds_a_wrong_jvp(fast_mode):
    def scenario(lib, fw):
        class Wrong(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, grad):
                return grad * 2

            @staticmethod
            def jvp(ctx, tangent):
                return tangent * 3

        x = _x(lib, 3, requires_grad=True)
        return lib.autograd.gradcheck(Wrong.apply, (x,), check_forward_ad=True, fast_mode=fast_mode)

    both(scenario)


def test_make_dual_and_unpack_dual_views_are_not_forward_differentiable():
    """PyTorch's own view/in-place cases: the primal under a dual and unpack_dual's halves are
    views that in-place writes through the dual do not give a tangent (and vice versa)."""

    def scenario(lib, fw):
        foo = _x(lib, 2).clone()
        bar = lib.ones(2, dtype=lib.float64)
        found = []
        with fw.dual_level():
            dual = fw.make_dual(foo, bar)
            dual *= 2
            found += [fw.unpack_dual(foo).tangent, bar, foo, fw.unpack_dual(dual).tangent]
            primal, tangent = fw.unpack_dual(dual)
            found += [fw.unpack_dual(primal).tangent, fw.unpack_dual(tangent).tangent]
            primal *= 2
            found += [fw.unpack_dual(dual).primal, fw.unpack_dual(dual).tangent]
            tangent *= 2
            found += [fw.unpack_dual(dual).primal, fw.unpack_dual(dual).tangent]
            view = dual.narrow(0, 0, 1)
            view *= 2
            found += [fw.unpack_dual(foo).tangent, fw.unpack_dual(dual).tangent]
            found.append(fw.unpack_dual(view).tangent)
            baz = _x(lib, 2) * 3
            baz += dual
            found.append(fw.unpack_dual(baz).tangent)
            baz = _x(lib, 2) * 3
            baz[0] = dual[0]
            found.append(fw.unpack_dual(baz).tangent)
            baz = _x(lib, 2) * 3
            detached = baz.detach()
            detached += dual
            found.append(fw.unpack_dual(baz).tangent)
        return found

    both(scenario)


OPS_ON_DUALS = {
    "t_": lambda lib, x: x.clone().t_(),
    "unsqueeze_": lambda lib, x: x.clone().unsqueeze_(0),
    "to_float32": lambda lib, x: x.to(lib.float32),
    "stack": lambda lib, x: lib.stack([x, x * 2]),
    "cat": lambda lib, x: lib.cat([x, _x(lib, 1, 3)]),
    "data": lambda lib, x: x.data,
    "detach_": lambda lib, x: x.clone().detach_(),
    "comparison": lambda lib, x: (x > 0).double(),
    "softmax": lambda lib, x: lib.softmax(x, 1),
    "linear": lambda lib, x: lib.nn.functional.linear(x, _x(lib, 4, 3), _x(lib, 4)),
    "matmul_plain_left": lambda lib, x: _x(lib, 3, 2) @ x,
    "inverse": lambda lib, x: lib.linalg.inv(x[:, :2] + 3 * lib.eye(2, dtype=lib.float64)),
    "max_dim": lambda lib, x: x.max(dim=1).values,
    "cross_entropy": lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 2])),
    "conv1d": lambda lib, x: lib.nn.functional.conv1d(x.unsqueeze(0), _x(lib, 2, 2, 2)),
    "setitem_number": lambda lib, x: _assign(x.clone(), 0, 5.0),
    "add_expanded": lambda lib, x: _x(lib, 2, 3).add_(x[0].expand(2, 3)),
}


def _assign(target, key, value):
    target[key] = value
    return target


@pytest.mark.parametrize("name", sorted(OPS_ON_DUALS))
def test_ops_on_dual_tensors(name):
    def scenario(lib, fw):
        with fw.dual_level():
            dual = fw.make_dual(_x(lib, 2, 3), _t(lib, 2, 3))
            out = OPS_ON_DUALS[name](lib, dual)
            return out, fw.unpack_dual(out).tangent

    both(scenario)


# -- switching forward grad off (torch._C._set_fwd_grad_enabled) ------------------------------
def _switched_off(lib, fw):
    found = [lib._C._is_fwd_grad_enabled(), fw._is_fwd_grad_enabled()]
    with fw.dual_level():
        x = fw.make_dual(lib.ones(2), lib.ones(2) * 2)
        with fw._set_fwd_grad_enabled(False):
            found += [lib._C._is_fwd_grad_enabled(), fw.unpack_dual(x * 3).tangent]
            found.append(fw.unpack_dual(x).tangent)
            made_off = fw.make_dual(lib.ones(2), lib.ones(2))  # kept, read once back on
            found.append(fw.unpack_dual(made_off).tangent)
        found += [fw.unpack_dual(x * 3).tangent, fw.unpack_dual(made_off * 3).tangent]
        lib._C._set_fwd_grad_enabled(False)
        found.append(fw.unpack_dual(x * 3).tangent)
        lib._C._set_fwd_grad_enabled(True)
        found.append(lib._C._is_fwd_grad_enabled())
    return found


def test_set_fwd_grad_enabled():
    both(_switched_off)


def test_set_fwd_grad_enabled_refuses_a_non_bool():
    both(lambda lib, fw: lib._C._set_fwd_grad_enabled(1))


# -- autograd.Function.jvp with setup_context, under torch.func and in a dual level ----------
def _functions(lib):
    class Pair(lib.autograd.Function):
        @staticmethod
        def forward(x, y):
            return x * y.exp(), y * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_forward(*inputs)

        @staticmethod
        def jvp(ctx, tx, ty):  # ty: zeros for an input without a tangent (materialized)
            x, y = ctx.saved_tensors
            return tx * y.exp() + x * y.exp() * ty, ty * 2

    class OldStyle(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x**2

        @staticmethod
        def jvp(ctx, tx):
            return 2 * ctx.saved_tensors[0] * tx

    return Pair, OldStyle


X, Y = [1.0, 2.0], [0.5, 0.1]


def test_function_jvp_under_func_jvp():
    both(
        lambda lib, fw: lib.func.jvp(
            _functions(lib)[0].apply, (lib.tensor(X), lib.tensor(Y)), (lib.ones(2), lib.ones(2))
        )
    )


def test_function_without_setup_context_refused_by_func_jvp():
    both(lambda lib, fw: lib.func.jvp(_functions(lib)[1].apply, (lib.tensor(X),), (lib.ones(2),)))


def test_function_jvp_materializes_missing_tangents():
    def scenario(lib, fw):
        with fw.dual_level():
            x = fw.make_dual(lib.tensor(X), lib.ones(2))
            outs = _functions(lib)[0].apply(x, lib.tensor(Y))
            return [fw.unpack_dual(o).tangent for o in outs]

    both(scenario)
