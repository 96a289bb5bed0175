"""nn.LSTM at float32 records one node per layer and direction, as PyTorch's CPU kernel does
(``MkldnnRnnLayerBackward0``): values, first and second-order gradients, grad_fn names and
edges against PyTorch; float64 keeps PyTorch's per-step graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad

CASES = {
    "two_layers": {"num_layers": 2},
    "bidirectional_batch_first": {"num_layers": 2, "bidirectional": True, "batch_first": True},
    "no_bias": {"bias": False},
    "reverse_only_layer": {"bidirectional": True},
}


def _pair(kwargs, dtype):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 4, **kwargs).to(dtype)
    ours = glassgrad.nn.LSTM(3, 4, **kwargs).to(getattr(glassgrad, str(dtype)[6:]))
    for name, p in theirs.named_parameters():
        getattr(ours, name).data.copy_(glassgrad.tensor(p.detach().numpy()))
    return theirs, ours


def _run(lib, module, arrays, create_graph):
    x, h, c = (lib.tensor(a, requires_grad=True) for a in arrays)
    out, (h_n, c_n) = module(x, (h, c))
    loss = (out**2).sum() + (h_n * 2).sum() + (c_n**3).sum()
    params = list(module.parameters())
    grads = lib.autograd.grad(loss, [x, h, c, *params], create_graph=create_graph)
    found = [out, h_n, c_n, *grads]
    if create_graph:
        again = sum((g**2).sum() for g in grads)
        found += list(lib.autograd.grad(again, [x, h, c, *params]))
    names = [type(t.grad_fn).__name__ for t in (out, h_n, c_n)]
    return [t.detach().numpy() for t in found], names, out


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("create_graph", [False, True])
def test_lstm_float32_matches_pytorch(case, create_graph):
    kwargs = CASES[case]
    theirs, ours = _pair(kwargs, torch.float32)
    rng = np.random.default_rng(1)
    states = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    shape = (2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3)
    arrays = [
        rng.standard_normal(shape).astype(np.float32),
        rng.standard_normal((states, 2, 4)).astype(np.float32),
        rng.standard_normal((states, 2, 4)).astype(np.float32),
    ]
    want, want_names, t_out = _run(torch, theirs, arrays, create_graph)
    got, got_names, g_out = _run(glassgrad, ours, arrays, create_graph)
    assert got_names == want_names
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    if want_names[0] == "MkldnnRnnLayerBackward0":
        t_edges = [type(n).__name__ for n, _ in t_out.grad_fn.next_functions]
        g_edges = [type(n).__name__ for n, _ in g_out.grad_fn.next_functions]
        assert g_edges == t_edges


def test_lstm_float64_keeps_step_graph():
    theirs, ours = _pair({}, torch.float64)
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    t_out, _ = theirs(torch.tensor(x, requires_grad=True))
    g_out, _ = ours(glassgrad.tensor(x, requires_grad=True))
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10)


def test_lstm_backward_twice_needs_retain_graph():
    errors = []
    for lib, module in zip((torch, glassgrad), _pair({}, torch.float32), strict=True):
        x = lib.tensor(np.ones((4, 2, 3), np.float32), requires_grad=True)
        out, _ = module(x)
        out.sum().backward()
        with pytest.raises(RuntimeError) as caught:
            out.sum().backward()
        errors.append(str(caught.value))
    assert errors[1] == errors[0]
