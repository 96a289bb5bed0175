"""In-place writes through views and on views of plain tensors, and the in-place forms of table
ops, against PyTorch: values, ``grad_fn`` names and gradients."""

import pytest
import torch

import glassgrad


def _both(fn):
    """``fn(lib)`` under PyTorch and glassgrad; results compared as nested lists."""
    return [fn(lib) for lib in (torch, glassgrad)]


def _grad_after(lib, write):
    """The gradient of ``x`` after ``write(y)`` edits ``y = x * 2`` in place through a view."""
    x = lib.arange(6.0, requires_grad=True)
    y = x * 2
    write(lib, y)
    (y * lib.arange(1.0, 7.0)).sum().backward()
    return y.tolist(), x.grad.tolist()


@pytest.mark.parametrize(
    "write",
    [
        lambda lib, y: y.view(2, 3).mul_(3),
        lambda lib, y: y.view(2, 3).t().mul_(lib.tensor([[1.0], [2.0], [3.0]])),
        lambda lib, y: y[1:][::2].add_(5),
        lambda lib, y: y.view(2, 3).diagonal().zero_(),
        lambda lib, y: y.view(2, 3)[0].__setitem__(1, 7.0),
        lambda lib, y: y.view(3, 2).permute(1, 0).__setitem__((0, 1), y[0].detach() * 0 + 9),
    ],
)
def test_inplace_through_view_reaches_base_graph(write):
    expected, actual = _both(lambda lib: _grad_after(lib, write))
    assert actual == expected


def test_chained_index_assignment_cuts_gradient():
    def run(lib):
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 2
        y[0][1] = 5
        y.sum().backward()
        return x.grad.tolist()

    expected, actual = _both(run)
    assert actual == expected


def test_inplace_on_view_of_plain_tensor_with_grad_value():
    def run(lib):
        x = lib.ones(3, requires_grad=True)
        w = lib.ones(3)
        w.view(3)[1:].mul_(x[1:] * 4)
        w.sum().backward()
        return w.requires_grad, w.tolist(), x.grad.tolist()

    expected, actual = _both(run)
    assert actual == expected


def test_functional_relu_inplace():
    def run(lib):
        x = lib.tensor([-1.0, 2.0, 3.0], requires_grad=True)
        h = x * 1
        y = lib.nn.functional.relu(h, inplace=True)
        y.sum().backward()
        return y is h, type(y.grad_fn).__name__, x.grad.tolist()

    expected, actual = _both(run)
    assert actual == expected


def _view_then_base_changed(lib):
    """A view taken before its base changes in place: its gradient sees the change."""
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[0:2]
    y.mul_(2)
    v.sum().backward()
    first = x.grad.tolist()
    x.grad = None
    y = x * 1
    v = y.view(3, 1)
    y[1] = 10.0
    (v * v).sum().backward()
    return first, x.grad.tolist(), y._version == v._version


def test_a_view_follows_in_place_changes_of_its_base():
    expected, actual = _both(_view_then_base_changed)
    assert actual == expected


def test_a_view_saved_for_backward_sees_its_base_modified():
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        v = y[0:2]
        z = v * v
        y.add_(1)
        try:
            z.sum().backward()
        except RuntimeError as exc:
            return str(exc).split(":")[0]
        return "no error"

    expected, actual = _both(run)
    assert actual == expected


def test_in_place_forms_of_table_ops():
    def run(lib):
        x = lib.tensor([1.5, -2.0, 3.0], requires_grad=True)
        y = x * 1
        y.masked_fill_(y < 0, 0.0)
        y.clamp_min_(2.0)
        z = lib.zeros(3)
        z.scatter_(0, lib.tensor([2, 0]), lib.tensor([5.0, 6.0]))
        z.index_add_(0, lib.tensor([1, 1]), lib.tensor([1.0, 2.0]))
        w = lib.tensor([1.4, 2.6])
        w.floor_()
        (y * 2).sum().backward()
        return y.tolist(), type(y.grad_fn).__name__, x.grad.tolist(), z.tolist(), w.tolist()

    expected, actual = _both(run)
    assert actual == expected
