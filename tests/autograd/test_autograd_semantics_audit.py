"""Autograd semantics audited against PyTorch: each snippet runs under both libraries.

A snippet appends what it observes to ``out`` (values, names, flags); an exception ends it and is
recorded as its type and message. Warnings are recorded as category and message.
"""

import warnings

import pytest
import torch

import glassgrad


def _describe(value):
    if isinstance(value, (torch.Tensor, glassgrad.Tensor)):
        fn = value.grad_fn
        return ("tensor", value.tolist(), str(value.dtype), value.requires_grad, type(fn).__name__)
    if isinstance(value, (tuple, list)):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        return {k: _describe(v) for k, v in value.items()}
    return value


def _outcome(lib, code):
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exec(code, {"torch": lib, "out": out})
        except Exception as exc:  # noqa: BLE001 - the exception is the observation
            out.append((type(exc).__name__, str(exc)))
    # PyTorch's C++ warnings end with the source line that raised them; glassgrad has none
    notes = [
        (w.category.__name__, str(w.message).split(" (Triggered internally")[0]) for w in caught
    ]
    return [_describe(v) for v in out], notes


def _check(code):
    assert _outcome(glassgrad, code) == _outcome(torch, code)


GRAD_API = {
    "gradient_not_tensor": """
x = torch.tensor([1., 2.], requires_grad=True)
(x * 2).backward([1., 1.])
""",
    "gradient_count_backward": """
x = torch.tensor([1., 2.], requires_grad=True)
torch.autograd.backward([x * 2, x * 3], [torch.ones(2)])
""",
    "gradient_count_grad": """
x = torch.tensor([1., 2.], requires_grad=True)
torch.autograd.grad([x * x, x], x, grad_outputs=[torch.ones(2)])
""",
    "grad_output_checked_before_inputs": """
z = torch.tensor([1., 2.])
torch.autograd.grad(z.sum(), [z])
""",
    "grad_integer_input": """
z = torch.tensor([1, 2])
torch.autograd.grad(z.sum(), z)
""",
    "grad_empty_inputs": """
x = torch.tensor([1., 2.], requires_grad=True)
torch.autograd.grad((x * x).sum(), [])
""",
    "materialize_with_allow_unused_false": """
x = torch.tensor([1., 2.], requires_grad=True)
z = torch.tensor([1., 2.], requires_grad=True)
torch.autograd.grad((x * x).sum(), [x, z], allow_unused=False, materialize_grads=True)
""",
    "materialize_create_graph": """
x = torch.tensor([1., 2.], requires_grad=True)
z = torch.tensor([1., 2.], requires_grad=True)
out.append(torch.autograd.grad((x * x).sum(), [x, z], materialize_grads=True, create_graph=True))
""",
    "grad_dict_inputs": """
x = torch.tensor([1., 2.], requires_grad=True)
w = torch.tensor([3., 4.], requires_grad=True)
out.append(torch.autograd.grad((x * w).sum(), {"a": x, "b": w}))
""",
    "grad_only_inputs_deprecated": """
x = torch.tensor([1., 2.], requires_grad=True)
out.append(torch.autograd.grad((x * x).sum(), x, only_inputs=False))
""",
    "grad_variables_deprecated": """
x = torch.tensor([1., 2.], requires_grad=True)
torch.autograd.backward(x * 2, grad_variables=torch.ones(2))
out.append(x.grad)
torch.autograd.backward(x * 2, torch.ones(2), grad_variables=torch.ones(2))
""",
    "backward_inputs_dict": """
x = torch.tensor([1., 2.], requires_grad=True)
torch.autograd.backward((x * 2).sum(), inputs={"x": x})
out.append(x.grad)
""",
    "backward_inputs_non_leaf_retains": """
x = torch.tensor([1., 2.], requires_grad=True)
y = x * 2
(y * y).sum().backward(inputs=[y], retain_graph=True)
out.extend([y.retains_grad, y.grad.tolist(), x.grad])
(y * y).sum().backward(inputs=[y, x])
out.extend([y.grad, x.grad])
""",
    "backward_inputs_non_leaf_unused": """
x = torch.tensor([1., 2.], requires_grad=True)
z = torch.tensor([1., 2.], requires_grad=True) * 2
(x * 2).sum().backward(inputs=[z])
out.extend([z.retains_grad, z.grad, x.grad])
""",
    "grads_batched": """
x = torch.tensor([1., 2.], requires_grad=True)
w = torch.tensor([3., 4.], requires_grad=True)
z = torch.tensor([3., 4.], requires_grad=True)
rows = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])
out.append(torch.autograd.grad(x * w, [x, w, z], rows, is_grads_batched=True, allow_unused=True))
out.append(torch.autograd.grad(x * w, [x, z], rows, is_grads_batched=True, materialize_grads=True))
""",
    "grads_batched_shape_error": """
x = torch.tensor([1., 2.], requires_grad=True)
torch.autograd.grad(x * x, x, grad_outputs=torch.ones(3, 3), is_grads_batched=True)
""",
}


@pytest.mark.parametrize("name", GRAD_API)
def test_backward_and_grad_arguments(name):
    _check(GRAD_API[name])


INPLACE = {
    "augmented_assignments_in_place": """
for op in ["x //= 2", "x %= 4", "x &= 3", "x |= 8", "x ^= 1"]:
    x = torch.tensor([5, 6, 7])
    x0 = x
    exec(op)
    out.extend([op, x is x0, x, x._version])
""",
    "augmented_assignment_on_leaf": """
for op in ["x //= 2", "x %= 2", "x &= 1"]:
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    try:
        exec(op)
    except RuntimeError as exc:
        out.append(str(exc))
""",
    "floor_divide_into_integer": """
b = torch.tensor([5, 6])
b //= 2.5
""",
    "remainder_in_graph": """
a = torch.tensor([5., 6.], requires_grad=True)
b = a * 1
b %= 4
out.extend([b, b._version])
b.sum().backward()
out.append(a.grad)
""",
    "fill_zero_copy_node_names": """
a = torch.tensor([1., 2.], requires_grad=True)
v = torch.tensor(3., requires_grad=True)
b = a * 1
b.zero_()
out.append(len(b.grad_fn.next_functions))
b.fill_(2)
out.extend([b, len(b.grad_fn.next_functions)])
b.fill_(v)
out.extend([b, len(b.grad_fn.next_functions)])
b.copy_(a * 3)
out.append(b)
(b * torch.tensor([1., 2.])).sum().backward()
out.extend([a.grad, v.grad])
""",
    "fill_tensor_value_gets_gradient": """
v = torch.tensor(3., requires_grad=True)
b = torch.zeros(2)
b.fill_(v)
(b * torch.tensor([1., 2.])).sum().backward()
out.extend([b, v.grad])
""",
    "fill_needs_0d_value": """
b = torch.zeros(2)
b.fill_(torch.tensor([1.]))
""",
    "copy_into_integer_does_not_require_grad": """
s = torch.tensor([1.5, 2.5], requires_grad=True)
b = torch.zeros(2, dtype=torch.int64)
b.copy_(s)
out.extend([b, b._version])
""",
    "comparisons_in_place": """
a = torch.tensor([1., 2.], requires_grad=True)
w = torch.tensor([1., 3.], requires_grad=True)
for name in ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "less_equal_"]:
    b = a * 1
    getattr(b, name)(2.)
    c = a * 1
    getattr(c, name)(w)
    out.extend([name, b, c, len(b.grad_fn.next_functions), len(c.grad_fn.next_functions)])
(b + c).sum().backward()
out.extend([a.grad, w.grad])
i = torch.tensor([1, 2])
i.eq_(2)
out.append(i)
""",
    "non_differentiable_in_place_keeps_grad_fn": """
a = torch.tensor([1., 0.], requires_grad=True)
b = a * 1
b.logical_not_()
out.extend([b, b._version])
""",
    "bitwise_in_place": """
b = torch.tensor([1, 0])
b.bitwise_not_()
c = torch.tensor([True, False])
c ^= torch.tensor([True, True])
out.extend([b, c])
""",
    "broadcast_into_smaller_self": """
for b in [torch.tensor([1., 2.]), torch.tensor([1., 2.], requires_grad=True) * 1]:
    try:
        b += torch.ones(2, 2)
    except RuntimeError as exc:
        out.append(str(exc))
""",
    "float_alpha_on_integers": """
x = torch.tensor([1, 2])
x.add_(1, alpha=2)
out.append(x)
x.sub_(1, alpha=2.5)
""",
    "saved_output_versions": """
a = torch.tensor([1., 2.], requires_grad=True)
b = a * 1
b.exp_()
b.add_(1)
b.sum().backward()
""",
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_semantics(name):
    _check(INPLACE[name])


FUNCTION = {
    "ctx_is_the_node": """
class E(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        out.append(ctx.needs_input_grad)
        ctx.k = k
        ctx.save_for_backward(x)
        return x * k
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        out.extend([ctx.needs_input_grad, torch.is_grad_enabled(), x.requires_grad])
        return g * ctx.k, None
x = torch.tensor([1., 2.], requires_grad=True)
y = E.apply(x * 1, 5)
out.extend([y.grad_fn.k, y.grad_fn.saved_tensors[0]])
y.sum().backward()
out.append(x.grad)
y.grad_fn.saved_tensors
""",
    "wrong_number_of_gradients": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        return x * w
    @staticmethod
    def backward(ctx, g):
        return g
x = torch.tensor([1., 2.], requires_grad=True)
F.apply(x, x).sum().backward()
""",
    "extra_gradients": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2
    @staticmethod
    def backward(ctx, g):
        return g, None, None
class G(F):
    @staticmethod
    def backward(ctx, g):
        return g, g
x = torch.tensor([1., 2.], requires_grad=True)
F.apply(x).sum().backward()
out.append(x.grad)
G.apply(x).sum().backward()
""",
    "gradient_for_non_tensor_input": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        return x * k
    @staticmethod
    def backward(ctx, g):
        return g, g
F.apply(torch.tensor([1., 2.], requires_grad=True), 3.).sum().backward()
""",
    "gradient_shape_and_type": """
for bad in [lambda g: g.sum(), lambda g: torch.ones(3), lambda g: 3, lambda g: g.double()]:
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2
        @staticmethod
        def backward(ctx, g):
            return bad(g)
    x = torch.tensor([1., 2.], requires_grad=True)
    try:
        F.apply(x).sum().backward()
        out.append(x.grad)
    except RuntimeError as exc:
        out.append(str(exc))
""",
    "mark_dirty": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x.mul_(2)
        ctx.mark_dirty(x)
        return x
    @staticmethod
    def backward(ctx, g):
        return g * 2
a = torch.tensor([1., 2.], requires_grad=True)
x = a * 1
y = F.apply(x)
out.extend([y is x, y, x._version])
y.sum().backward()
out.append(a.grad)
F.apply(a)
""",
    "mark_dirty_not_returned": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x.mul_(2)
        ctx.mark_dirty(x)
        return x * 1
    @staticmethod
    def backward(ctx, g):
        return g
F.apply(torch.tensor([1., 2.], requires_grad=True) * 1)
""",
    "materialized_gradients": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        idx = x.argmax()
        ctx.mark_non_differentiable(idx)
        return x * 2, idx, x * 3, None
    @staticmethod
    def backward(ctx, ga, gi, gb, gn):
        out.extend([ga, gi, gb, gn])
        return ga * 2
class G(F):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3
    @staticmethod
    def backward(ctx, ga, gb):
        out.extend([ga, gb])
        return ga
x = torch.tensor([1., 2.], requires_grad=True)
F.apply(x)[0].sum().backward()
G.apply(x)[0].sum().backward()
out.append(x.grad)
""",
    "save_for_backward_checks": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out, None)
        return out
    @staticmethod
    def backward(ctx, g):
        y, nothing = ctx.saved_tensors
        out.append(nothing)
        return g * y
x = torch.tensor([1., 2.], requires_grad=True)
y = F.apply(x)
y.sum().backward(retain_graph=True)
y.mul_(2)
try:
    y.sum().backward()
except RuntimeError as exc:
    out.append(str(exc))
class G(F):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x, 3)
        return x
G.apply(x)
""",
    "once_differentiable": """
class F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3
    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, = ctx.saved_tensors
        out.append(torch.is_grad_enabled())
        return 3 * x * x * g
x = torch.tensor([1., 2.], requires_grad=True)
g, = torch.autograd.grad(F.apply(x), x, torch.ones(2, requires_grad=True), create_graph=True)
out.append(g)
g.sum().backward()
""",
    "setup_context": """
class E(torch.autograd.Function):
    @staticmethod
    def forward(x, k):
        return x * k
    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.k = inputs[1]
    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None
x = torch.tensor([1., 2.], requires_grad=True)
E.apply(x, 3.).sum().backward()
out.append(x.grad)
""",
    "instantiating": """
class E(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x
E()(torch.ones(1))
""",
    "decorating_a_class": """
@torch.no_grad()
class A:
    def __init__(self):
        out.append(torch.is_grad_enabled())
A()
out.append(torch.is_grad_enabled())
""",
}


@pytest.mark.parametrize("name", FUNCTION)
def test_custom_function_and_modes(name):
    _check(FUNCTION[name])
