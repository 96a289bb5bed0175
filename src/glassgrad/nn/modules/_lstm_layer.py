"""One LSTM layer (one direction) as one graph node, as PyTorch's CPU kernel records it
(``MkldnnRnnLayerBackward0``): inputs ``(input, w_ih, w_hh, b_ih, b_hh, h0, c0)``, outputs
``(output, h_n, c_n)``.

Fused for speed: built from primitives, a layer of ``L`` steps records ``~10 L`` small nodes
whose bookkeeping outweighs their arithmetic, and the recurrent weight's gradient is ``L``
small products instead of one. Here the forward runs the steps on arrays, keeps the gates,
and the backward runs backpropagation through time by hand, with the weights' gradients as
one product each over all steps. Under ``create_graph`` the backward rebuilds the layer from
primitives on the saved inputs and differentiates that, so higher orders stay exact.
"""

from __future__ import annotations

import numpy as np

import glassgrad
from glassgrad.autograd.forward_state import ACTIVE as _FORWARD_AD
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import results
from glassgrad.nn import functional as F
from glassgrad.ops.elementwise.unary import _sigmoid

__all__ = ["lstm_layer", "fusable"]


def fusable(*tensors) -> bool:
    """Whether the fused layer applies: float32 arrays (where PyTorch's CPU kernel records one
    node per layer; at float64 it records the steps), no forward-mode AD running."""
    if _FORWARD_AD[0]:
        return False
    for t in tensors:
        if t is None:
            continue
        data = t._data
        if data.__class__ is not np.ndarray or data.dtype != np.float32:
            return False
    return True


def composite_step(x, state, w_hh, b_hh):
    """One step from primitives; ``x`` is the step's input already projected."""
    gates = x + F.linear(state[0], w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    cell = f.sigmoid() * state[1] + i.sigmoid() * g.tanh()
    return (o.sigmoid() * cell.tanh(), cell)


def _composite_layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse):
    projected = F.linear(x, w_ih, b_ih)
    steps = range(x.shape[0])
    seq = [None] * len(steps)
    state = (h0, c0)
    for t in reversed(steps) if reverse else steps:
        state = composite_step(projected[t], state, w_hh, b_hh)
        seq[t] = state[0]
    return glassgrad.stack(seq, 0), state[0], state[1]


def _layer_backward(ctx, grads, x, w_ih, w_hh, b_ih, b_hh, h0, c0, acts, cells, tanhs, hs):
    reverse = ctx._args
    wants = [edge[0] is not None for edge in ctx.next_functions]
    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads, None, None]
    if any(isinstance(g, glassgrad.Tensor) for g in grads):
        return _double(ctx, grads, wants, (x, w_ih, w_hh, b_ih, b_hh, h0, c0), reverse)
    g_out, g_h, g_c = grads
    steps, batch, hidden = tanhs.shape
    dtype = tanhs.dtype
    dh = np.zeros((batch, hidden), dtype) if g_h is None else np.array(g_h, dtype)
    dc = np.zeros((batch, hidden), dtype) if g_c is None else np.array(g_c, dtype)
    if g_out is not None and reverse:
        g_out = g_out[::-1]
    # Everything that does not depend on the incoming gradient, for all steps at once: each
    # gate's gradient is (dc, dc, dc, dh) times its factor below, so a step costs a few passes
    i, f, g, o = (acts[..., k * hidden : (k + 1) * hidden] for k in range(4))
    factors = acts * (1 - acts)  # sigmoid' for i, f, o
    factors = factors.reshape(steps, batch, 4, hidden)
    factors[:, :, 0] *= g
    factors[:, :, 1] *= cells[:-1]
    np.multiply(i, 1 - g * g, out=factors[:, :, 2])  # tanh' for g
    factors[:, :, 3] *= tanhs
    through_tanh = o * (1 - tanhs * tanhs)
    d_gates = np.empty_like(factors)
    spread = np.empty((batch, 4, hidden), dtype)
    for t in range(steps - 1, -1, -1):
        if g_out is not None:
            dh += g_out[t]
        dc += dh * through_tanh[t]
        spread[:, :3] = dc[:, None]
        spread[:, 3] = dh
        part = np.multiply(spread, factors[t], out=d_gates[t])
        dc *= f[t]
        dh = part.reshape(batch, 4 * hidden) @ w_hh
    flat = d_gates.reshape(steps * batch, -1)
    out = [None] * 7
    if wants[0]:
        grad_x = (flat @ w_ih).reshape(steps, batch, -1)
        out[0] = grad_x[::-1] if reverse else grad_x
    if wants[1]:
        inputs = x[::-1] if reverse else x
        out[1] = flat.T @ inputs.reshape(steps * batch, -1)
    if wants[2]:
        out[2] = flat.T @ hs[:-1].reshape(steps * batch, hidden)
    if wants[3] or wants[4]:
        bias = flat.sum(0)
        out[3] = bias if wants[3] else None
        out[4] = (bias.copy() if wants[3] else bias) if wants[4] else None
    out[5] = dh if wants[5] else None
    out[6] = dc if wants[6] else None
    return tuple(out)


def _double(ctx, grads, wants, inputs, reverse):
    """Under ``create_graph``: the layer rebuilt from primitives on the saved inputs, and its
    gradient taken with a graph, so the result is differentiable again."""
    with glassgrad.enable_grad():
        outs = _composite_layer(*inputs, reverse)
    pairs = [(o, g) for o, g in zip(outs, grads, strict=True) if g is not None]
    wanted = [k for k in range(7) if wants[k] and inputs[k] is not None]
    found = glassgrad.autograd.grad(
        [o for o, _ in pairs],
        [inputs[k] for k in wanted],
        [g for _, g in pairs],
        create_graph=True,
        allow_unused=True,
    )
    out = [None] * 7
    for k, g in zip(wanted, found, strict=True):
        out[k] = g
    return tuple(out)


MkldnnRnnLayerBackward0 = node_class("MkldnnRnnLayerBackward0", _layer_backward, n_outputs=3)


def lstm_layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse: bool = False):
    """``(output, h_n, c_n)`` of one direction of one LSTM layer over ``x`` (L, N, H_in)."""
    data = x._data
    steps, batch = data.shape[0], data.shape[1]
    hidden = w_hh.shape[1]
    seq = data[::-1] if reverse else data
    projected = seq.reshape(steps * batch, -1) @ w_ih._data.T
    if b_ih is not None:
        projected += b_ih._data
    projected = projected.reshape(steps, batch, -1)
    w = w_hh._data.T
    b = None if b_hh is None else b_hh._data
    dtype = projected.dtype
    acts = np.empty((steps, batch, 4 * hidden), dtype)
    cells = np.empty((steps + 1, batch, hidden), dtype)
    tanhs = np.empty((steps, batch, hidden), dtype)
    hs = np.empty((steps + 1, batch, hidden), dtype)
    hs[0], cells[0] = h0._data, c0._data
    for t in range(steps):
        recurrent = hs[t] @ w
        if b is not None:
            recurrent += b
        gates = projected[t] + recurrent
        act = acts[t]
        act[...] = _sigmoid(gates)  # one pass; the g block is then overwritten by tanh
        np.tanh(gates[:, 2 * hidden : 3 * hidden], out=act[:, 2 * hidden : 3 * hidden])
        i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
        cells[t + 1] = f * cells[t] + i * g
        np.tanh(cells[t + 1], out=tanhs[t])
        np.multiply(o, tanhs[t], out=hs[t + 1])
    output = hs[1:][::-1] if reverse else hs[1:]
    inputs = (x, w_ih, w_hh, b_ih, b_hh, h0, c0)
    saved = (*inputs, acts, cells, tanhs, hs)
    return results(
        (np.ascontiguousarray(output), hs[steps].copy(), cells[steps].copy()),
        MkldnnRnnLayerBackward0,
        inputs,
        saved=saved,
        args=reverse,
    )
