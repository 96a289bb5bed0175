"""Shared builders for the MultiheadAttention tests: torch and glassgrad modules with equal
weights, inputs in every layout, and one forward/backward comparison."""

from __future__ import annotations

import numpy as np
import torch

import glassgrad
import glassgrad.nn as gnn

E, H, L, S, N = 8, 2, 3, 4, 2


def _g(t, requires_grad=False):
    return glassgrad.tensor(t.detach().numpy(), requires_grad=requires_grad)


def _build(seed=0, **kwargs):
    torch.manual_seed(seed)
    tm = torch.nn.MultiheadAttention(E, H, **kwargs).double()
    gm = gnn.MultiheadAttention(E, H, **kwargs)
    gm.double()
    state = tm.state_dict()
    assert list(gm.state_dict()) == list(state)
    gm.load_state_dict({k: _g(v) for k, v in state.items()})
    return tm, gm


def _inputs(kdim=E, vdim=E, batched=True, batch_first=False, same=False):
    def shape(length, width):
        if not batched:
            return (length, width)
        return (N, length, width) if batch_first else (length, N, width)

    query = torch.randn(shape(L, E), dtype=torch.float64)
    if same:
        return [query]
    return [
        query,
        torch.randn(shape(S, kdim), dtype=torch.float64),
        torch.randn(shape(S, vdim), dtype=torch.float64),
    ]


def _close(g, t):
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), atol=1e-10, rtol=1e-9)


def _check(tm, gm, tensors, **kwargs):
    """Forward and backward on both sides; compare everything that comes out and every grad."""
    t_in = [t.clone().requires_grad_() for t in tensors]
    g_in = [_g(t, requires_grad=True) for t in tensors]
    t_args = t_in * 3 if len(t_in) == 1 else t_in
    g_args = g_in * 3 if len(g_in) == 1 else g_in
    g_kwargs = {k: _g(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    t_out, t_w = tm(*t_args, **kwargs)
    g_out, g_w = gm(*g_args, **g_kwargs)
    _close(g_out, t_out)
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    assert (g_w is None) == (t_w is None)
    weight = torch.randn(t_out.shape, dtype=torch.float64)
    t_loss, g_loss = (t_out * weight).sum(), (g_out * _g(weight)).sum()
    if t_w is not None:
        _close(g_w, t_w)
        assert type(g_w.grad_fn).__name__ == type(t_w.grad_fn).__name__
        weight = torch.randn(t_w.shape, dtype=torch.float64)
        t_loss, g_loss = t_loss + (t_w * weight).sum(), g_loss + (g_w * _g(weight)).sum()
    t_loss.backward()
    g_loss.backward()
    for t, g in zip(t_in, g_in, strict=True):
        _close(g.grad, t.grad)
    t_params, g_params = dict(tm.named_parameters()), dict(gm.named_parameters())
    assert list(t_params) == list(g_params)
    for name, p in t_params.items():
        _close(g_params[name].grad, p.grad)
    return g_out, g_w
