"""Views, in-place writes through them, and PyTorch's refusals (issue 11), against PyTorch.

Each case is a small program run on PyTorch 2.13 and on glassgrad; values, gradients, grad_fn
names and exception types and messages must agree (see ``views_outcome``).
"""

from __future__ import annotations

import pytest

from views_outcome import check

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def _y(t, *shape):
    """A non-leaf that requires grad, and its leaf."""
    w = t.ones(*shape, requires_grad=True)
    return w * 1, w


# -- select / unbind of a 1-d tensor are 0-d views -------------------------------------------
@case
def select_of_1d_is_a_view(t):
    x = t.zeros(3)
    s = x.select(0, 1)
    s.fill_(5)
    u = x.unbind()
    x.add_(1)
    return x, s, u[0], u[2], s._version, x._version, s._is_view(), u[2]._base is x


@case
def index_of_1d_is_a_view(t):
    x = t.zeros(3)
    s = x[1]
    s.add_(2)
    x.mul_(3)
    return x, s, s._base is x


@case
def unbind_of_2d_sees_later_writes(t):
    x = t.zeros(2, 3)
    rows = x.unbind(1)
    x[0, 2] = 7
    return rows, rows[2]._version


@case
def select_grad_fn_and_gradient(t):
    y, w = _y(t, 3)
    s = y.select(0, 1)
    u = y.unbind()
    (s * 2 + u[2]).backward()
    return s, u[1], w.grad


@case
def select_written_in_place_reaches_the_base(t):
    y, w = _y(t, 3)
    s = y[1]
    s.mul_(3)
    y.sum().backward()
    return y, s, w.grad


@case
def select_stale_after_base_written(t):
    y, w = _y(t, 3)
    s = y.select(0, 2)
    y.mul_(4)
    s.backward()
    return s, w.grad


# -- outputs of functions returning several views -------------------------------------------
@case
def unbind_output_in_place(t):
    y, _ = _y(t, 3)
    y.unbind()[0].mul_(3)


@case
def unbind_dim1_output_in_place(t):
    y, _ = _y(t, 4, 2)
    y.unbind(1)[1].mul_(2)


@case
def split_output_in_place(t):
    y, _ = _y(t, 4)
    y.split(2)[0].mul_(3)


@case
def split_list_output_in_place(t):
    y, _ = _y(t, 4, 2)
    y.split([1, 3])[1].mul_(2)


@case
def chunk_output_in_place(t):
    y, _ = _y(t, 4)
    y.chunk(2)[1].mul_(3)


@case
def split_with_sizes_output_in_place(t):
    y, _ = _y(t, 4)
    y.split_with_sizes([1, 3])[1].mul_(3)


@case
def split_with_sizes_values(t):
    x = t.arange(6.0).reshape(2, 3)
    return x.split_with_sizes([1, 2], 1), t.split_with_sizes(x, (2,))


@case
def split_with_sizes_int_refused(t):
    return t.split_with_sizes(t.ones(4), 2)


@case
def split_of_leaf_in_place(t):
    w = t.ones(4, requires_grad=True)
    w.split(2)[0].mul_(3)


@case
def split_without_grad_in_place(t):
    w = t.ones(4)
    w.split(2)[0].mul_(3)
    return w


@case
def split_under_no_grad_in_place_allowed(t):
    y, _ = _y(t, 4)
    with t.no_grad():
        y.split(2)[0].mul_(3)
    return y


@case
def split_of_plain_written_with_grad_value(t):
    x = t.zeros(4)
    s = x.split(2)[0]
    s.add_(t.ones(2, requires_grad=True))


@case
def unbind_of_plain_written_with_grad_value(t):
    x = t.zeros(4)
    s = x.unbind()[0]
    s.add_(t.ones((), requires_grad=True))


@case
def view_of_split_output_in_place(t):
    y, _ = _y(t, 4, 2)
    y.split(2)[0][0].mul_(2)


@case
def flat_view_of_split_output_in_place(t):
    y, _ = _y(t, 4, 2)
    y.split(2)[0].view(-1).mul_(2)


@case
def split_output_after_base_written_grad_fn(t):
    y, _ = _y(t, 4)
    s = y.split(2)[0]
    y.mul_(3)
    return s.grad_fn


@case
def split_output_after_base_written_used(t):
    y, _ = _y(t, 4)
    s = y.split(2)[0]
    y.mul_(3)
    return s.sum()


@case
def split_output_after_base_written_is_leaf(t):
    y, _ = _y(t, 4)
    s = y.split(2)[0]
    y.mul_(3)
    return s.is_leaf


@case
def split_output_after_sibling_detached_written(t):
    y, _ = _y(t, 4, 2)
    pieces = y.split(2)
    pieces[1].detach().mul_(2)
    return pieces[0].grad_fn


@case
def split_output_after_base_row_written(t):
    y, _ = _y(t, 4, 2)
    pieces = y.split(2)
    y[0].mul_(2)
    return pieces[1].grad_fn


@case
def split_output_of_plain_base_written(t):
    x = t.zeros(4)
    pieces = x.split(2)
    x.add_(1)
    return pieces, pieces[0].grad_fn


@case
def split_output_in_place_stale(t):
    y, _ = _y(t, 4)
    s = y.split(2)[0]
    y.mul_(3)
    s.mul_(2)


# -- views of leaves -----------------------------------------------------------------------
@case
def squeeze_of_leaf_noop_in_place(t):
    w = t.ones(3, requires_grad=True)
    w.squeeze().relu_()


@case
def squeeze_dim_of_leaf_noop_in_place(t):
    w = t.ones(3, requires_grad=True)
    w.squeeze(0).mul_(2)


@case
def view_of_leaf_in_place(t):
    w = t.ones(3, requires_grad=True)
    w.view(3).relu_()


@case
def view_of_leaf_made_requiring_later(t):
    x = t.zeros(3)
    v = x[:2]
    x.requires_grad_()
    v.mul_(2)


@case
def squeeze_noop_is_a_view(t):
    x = t.zeros(3)
    s = x.squeeze()
    s.add_(1)
    return x, s._is_view(), s._base is x


# -- views made under no_grad / inference_mode ----------------------------------------------
@case
def no_grad_view_in_place(t):
    y, _ = _y(t, 3)
    with t.no_grad():
        v = y[:2]
    v.mul_(2)


@case
def no_grad_view_of_leaf_in_place(t):
    w = t.ones(3, requires_grad=True)
    with t.no_grad():
        v = w[:2]
    v.mul_(2)


@case
def no_grad_split_in_place(t):
    y, _ = _y(t, 4)
    with t.no_grad():
        v = y.split(2)[0]
    v.mul_(2)


@case
def no_grad_split_base_written(t):
    y, _ = _y(t, 4)
    with t.no_grad():
        v = y.split(2)[0]
    y.mul_(2)
    return v.grad_fn


@case
def no_grad_view_base_written(t):
    y, _ = _y(t, 4, 2)
    with t.no_grad():
        v = y[0]
    y.mul_(2)
    return v.grad_fn


@case
def view_of_no_grad_view_in_place(t):
    y, _ = _y(t, 4, 2)
    with t.no_grad():
        v = y[0]
    v.view(-1).mul_(2)


@case
def view_of_no_grad_view(t):
    y, _ = _y(t, 4, 2)
    with t.no_grad():
        v = y[0]
    u = v.view(-1)
    return u.requires_grad, u.is_leaf


@case
def no_grad_view_of_leaf_after_leaf_written(t):
    w = t.ones(3, requires_grad=True)
    with t.no_grad():
        v = w[:2]
    w.detach().mul_(2)
    return v.grad_fn


@case
def no_grad_view_of_plain_written_plainly(t):
    x = t.ones(3)
    with t.no_grad():
        v = x[:2]
    v.mul_(2)
    return x


@case
def no_grad_view_of_plain_written_with_grad_value(t):
    x = t.ones(3)
    with t.no_grad():
        v = x[:2]
    v.mul_(t.ones(2, requires_grad=True))


@case
def no_grad_view_written_by_setitem_with_grad_value(t):
    x = t.ones(3)
    with t.no_grad():
        v = x[:2]
    v[0] = t.ones((), requires_grad=True)


@case
def inference_view_of_grad_tensor_written(t):
    y, _ = _y(t, 3)
    with t.inference_mode():
        v = y[:2]
    v.mul_(2)


@case
def inference_view_of_grad_tensor_base_written(t):
    y, _ = _y(t, 3)
    with t.inference_mode():
        v = y[:2]
    y.mul_(2)
    return v.grad_fn


@case
def inference_view_of_normal_tensor(t):
    y, _ = _y(t, 3)
    with t.inference_mode():
        v = y[:2]
    return v.is_inference(), v.requires_grad, v._version, v._is_view()


@case
def inference_split_of_normal_written(t):
    y, _ = _y(t, 3)
    with t.inference_mode():
        v = y.split(2)[0]
    v.mul_(2)


@case
def inference_view_of_plain_written_outside(t):
    x = t.ones(3)
    with t.inference_mode():
        v = x[:2]
    v.mul_(2)
    return x


@case
def inference_view_of_plain_written_with_grad_value(t):
    x = t.ones(3)
    with t.inference_mode():
        v = x[:2]
    v.mul_(t.ones(2, requires_grad=True))


@case
def inference_view_written_under_no_grad(t):
    y, _ = _y(t, 3)
    with t.inference_mode():
        v = y[:2]
    with t.no_grad():
        v.mul_(2)
    return y


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    check(CASES[name])
