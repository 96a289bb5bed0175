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
