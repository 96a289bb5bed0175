"""In-place writes into an ``expand``ed tensor (several elements share one memory location),
against PyTorch: which ops refuse, which write (and what memory holds then), which warn, and
that a backward through such a write in the graph fails as PyTorch's does."""

from __future__ import annotations

import warnings

import pytest
import torch

import glassgrad

WEIGHTS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]

WRITES = {
    "fill_": lambda t, v: v.fill_(1.5),
    "zero_": lambda t, v: v.zero_(),
    "copy_": lambda t, v: v.copy_(t.ones(2, 3)),
    "masked_fill_": lambda t, v: v.masked_fill_(v > 0, 0.0),
    "masked_fill_rows": lambda t, v: v.masked_fill_(
        t.tensor([[True, False, False], [False, False, True]]), -7.0
    ),
    "masked_fill_tensor": lambda t, v: v.masked_fill_(v > 0, t.tensor(2.0)),
    "index_put_": lambda t, v: v.index_put_((t.tensor([0]),), t.tensor(5.0)),
    "index_put_pairs": lambda t, v: v.index_put_(
        (t.tensor([0, 1]), t.tensor([1, 2])), t.tensor([7.0, 8.0])
    ),
    "index_fill_": lambda t, v: v.index_fill_(1, t.tensor([0, 2]), 9.0),
    "index_fill_tensor": lambda t, v: v.index_fill_(1, t.tensor([1]), t.tensor(-1.0)),
    "add_": lambda t, v: v.add_(1),
    "mul_": lambda t, v: v.mul_(2),
    "relu_": lambda t, v: v.relu_(),
    "exp_": lambda t, v: v.exp_(),
    "clamp_": lambda t, v: v.clamp_(0, 1),
    "setitem_row": lambda t, v: v.__setitem__(0, 1.0),
    "setitem_column": lambda t, v: v.__setitem__((slice(None), 0), t.tensor(1.0)),
    "uniform_": lambda t, v: v.uniform_(),
}


def _run(lib, name, grad, loss):
    """Write into ``b.expand(2, 3)``; return what happened, memory, names and the gradient."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = lib.tensor([1.0, -2.0, 3.0], requires_grad=grad)
        b = a * 1 if grad else a.clone()
        v = b.expand(2, 3)
        try:
            WRITES[name](lib, v)
        except RuntimeError as error:
            return ("raise", str(error))
    warned = sorted(str(w.message).split(" (Triggered")[0] for w in caught)
    out = [
        "ok",
        b.tolist() if name != "uniform_" else None,
        warned,
        type(v.grad_fn).__name__ if v.grad_fn is not None else None,
        type(b.grad_fn).__name__ if b.grad_fn is not None else None,
    ]
    if grad:
        total = {
            "view": lambda: (v * lib.tensor(WEIGHTS)).sum(),
            "base": lambda: (b * lib.tensor(WEIGHTS[0])).sum(),
        }[loss]()
        try:
            total.backward()
            out.append(a.grad.tolist())
        except RuntimeError as error:
            out.append(("backward raise", str(error)))
    return out


@pytest.mark.parametrize(("grad", "loss"), [(False, None), (True, "view"), (True, "base")])
@pytest.mark.parametrize("name", sorted(WRITES))
def test_write_into_expanded_matches_torch(name, grad, loss):
    assert _run(glassgrad, name, grad, loss) == _run(torch, name, grad, loss)


def test_fill_of_a_non_view_expanded_leaf_copy_refuses_backward_only():
    """The write itself is allowed; what fails is the gradient through it, at backward."""
    for lib in (torch, glassgrad):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        v = (a * 2).expand(3, 2)
        v.zero_()
        with pytest.raises(RuntimeError, match="more than one element of the written-to"):
            v.sum().backward()
