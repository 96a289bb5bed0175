"""Views of a tensor that enters the graph through an in-place write (of a value requiring grad)
into it or into another of its views: PyTorch regenerates every such view (vs PyTorch 2.13)."""

from __future__ import annotations

import pytest
import torch

import glassgrad as gg

CASES = {
    "written view": (
        "a = t.zeros(3, 2); b = a[1:]; v = t.tensor([5., 6.], requires_grad=True); b[0] = v; "
        "b.sum().backward(); r = (v.grad.tolist(), b.requires_grad, a.requires_grad)"
    ),
    "sibling view": (
        "a = t.zeros(3, 2); b = a[1:]; c = b[0]; v = t.tensor([5., 6.], requires_grad=True); "
        "c.copy_(v); seen = b.requires_grad; (b * 2).sum().backward(); "
        "r = (v.grad.tolist(), seen, b.grad_fn is not None)"
    ),
    "disjoint sibling": (
        "a = t.zeros(3, 2); b = a[1:]; c = a[0]; v = t.tensor([5., 6.], requires_grad=True); "
        "c.copy_(v); (b * 2).sum().backward(); r = (v.grad.tolist(), b.requires_grad)"
    ),
    "mul_ into sibling": (
        "a = t.zeros(3, 2); b = a[1:]; c = a[1]; v = t.tensor([5., 6.], requires_grad=True); "
        "c.mul_(v); (b + 1).sum().backward(); r = (v.grad.tolist(), b.requires_grad)"
    ),
    "transposed view": (
        "a = t.zeros(3, 2); b = a.t(); a[1] = t.tensor([5., 6.], requires_grad=True); "
        "r = (b.sum().requires_grad, b.requires_grad)"
    ),
    "no grad anywhere": (
        "a = t.zeros(3, 2); b = a[1:]; b.add_(1); "
        "r = (b.requires_grad, b.sum().requires_grad, b.grad_fn)"
    ),
    "base already in the graph": (
        "x = t.ones(3, 2, requires_grad=True); a = x * 1; b = a[1:]; a.mul_(2); "
        "(b * 1).sum().backward(); r = x.grad.tolist()"
    ),
}


def _run(lib, code):
    namespace = {"t": lib}
    exec(code, namespace)
    return namespace["r"]


@pytest.mark.parametrize("case", list(CASES))
def test_views_see_the_graph_their_base_gained(case):
    assert _run(gg, CASES[case]) == _run(torch, CASES[case])


def _names(lib):
    """grad_fn names after in-place writes on and through views of every kind."""

    def name(tensor):
        return type(tensor.grad_fn).__name__ if tensor.grad_fn is not None else None

    seen = []
    x = lib.ones(3, 2, requires_grad=True)
    a = x * 1
    views = (a[1:], a.t(), a[0], a.view(6), a.unsqueeze(0), a.expand(2, 3, 2), a.diagonal())
    a.mul_(2)
    seen.append([name(v) for v in (a, *views)])
    for make in (
        lambda a: a[1:],
        lambda a: a.t(),
        lambda a: a.view(6),
        lambda a: a[0],
        lambda a: a.diagonal(),
        lambda a: a[1:][0],
    ):
        a = lib.ones(3, 2, requires_grad=True) * 1
        view = make(a)
        view.add_(1)
        seen.append([name(a), name(view)])
    y = lib.ones(2, requires_grad=True).clone()
    expanded = y.expand(3, 2)
    expanded[0] = lib.tensor([5.0, 6.0])
    seen.append([name(y), name(expanded), y.tolist()])
    return seen


def test_node_names_after_writes_through_views():
    assert _names(gg) == _names(torch)


RETAIN = {
    "base changed, base's graph": "a.mul_(3); a.sum().backward(); r = v.grad",
    "view changed": "v.mul_(3); a.sum().backward(); r = v.grad",
    "base changed, view's graph": "a.mul_(3); (v * 1).sum().backward(); r = v.grad.tolist()",
    "view written": "v[0] = 5.; (v * 2).sum().backward(); r = v.grad.tolist()",
}


@pytest.mark.parametrize("case", list(RETAIN))
def test_retain_grad_follows_a_view_to_its_new_grad_fn(case):
    setup = "x = t.ones(3, requires_grad=True); a = x * 2; v = a[1:]; v.retain_grad(); "
    code = setup + RETAIN[case] + "; r = (r, x.grad.tolist())"
    assert _run(gg, code) == _run(torch, code)
