"""Compiled rows: W1c, W2c, W3c, W5c, the eager workloads run through ``torch.compile``.

The contenders: ``glassgrad`` is glassgrad compiled, ``torch`` is PyTorch eager (the reference
the issue's targets name), and ``floor`` is what the target is stated against: hand-written
NumPy for W3c (the same floor as W3), eager glassgrad for W1c, W2c and W5c, so that the
table's glassgrad/floor column is the ratio each target bounds. The first call (trace and plan,
fused kernels included) happens in the setup; its seconds are reported as ``compile_s``.
"""

from __future__ import annotations

import time

from workloads import W1_GRADS, W1_VALUES, Bench, Workload, import_contender
from workloads_nn import (
    W3_DEPTH,
    _cnn_arrays,
    _expected,
    _w3_input,
    w2_floor,
    w2_tensor,
    w3_floor,
    w3_tensor,
    w5_tensor,
)


def _timed_first(step):
    start = time.perf_counter()
    step()
    step.compile_s = time.perf_counter() - start
    return step


def w1_compiled(torch, compiled: bool = True) -> Bench:
    """W1 with the forward compiled: one region, one backward node."""
    a, b, c, d, e, f, x = (torch.tensor(v, requires_grad=True) for v in W1_VALUES)
    leaves = (a, b, c, d, e, f, x)

    def forward(a, b, c, d, e, f, x):
        y = a * x + b
        z = c * y + d
        return e * z + f

    run = torch.compile(forward) if compiled else forward

    def step():
        for leaf in leaves:
            leaf.grad = None
        run(*leaves).backward()

    return Bench(_timed_first(step), lambda: [leaf.grad.item() for leaf in leaves])


def w3_compiled(torch) -> Bench:
    """W3's chain compiled: forward and its backward each one plan."""
    x = torch.tensor(_w3_input(), requires_grad=True)

    def chain(x):
        h = x
        for _ in range(W3_DEPTH):
            h = h.tanh() * 0.5 + h
        return h.sum()

    run = torch.compile(chain)

    def step():
        x.grad = None
        run(x).backward()

    from workloads_nn import _sums

    return Bench(_timed_first(step), lambda: _sums([x.grad.numpy()]))


def w2_compiled(torch) -> Bench:
    """W2's step with the forward and loss compiled (reset and SGD update stay eager)."""
    from workloads_nn import _mlp_arrays, _sums

    F = __import__(f"{torch.__name__}.nn.functional", fromlist=["functional"])
    x_np, target_np, initial_np = _mlp_arrays()
    x, target = torch.tensor(x_np), torch.tensor(target_np)
    initial = [torch.tensor(p) for p in initial_np]
    params = [torch.tensor(p).requires_grad_(True) for p in initial_np]

    def loss_fn(x, target, w1, b1, w2, b2, w3, b3):
        h = F.relu(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2))
        return F.cross_entropy(F.linear(h, w3, b3), target)

    return _sgd_step(torch, torch.compile(loss_fn), (x, target), params, initial, _sums)


def w5_compiled(torch) -> Bench:
    """W5's step with the forward and loss compiled (reset and SGD update stay eager)."""
    from workloads_nn import _sums

    F = __import__(f"{torch.__name__}.nn.functional", fromlist=["functional"])
    x_np, target_np, initial_np = _cnn_arrays()
    x, target = torch.tensor(x_np), torch.tensor(target_np)
    initial = [torch.tensor(p) for p in initial_np]
    params = [torch.tensor(p).requires_grad_(True) for p in initial_np]

    def loss_fn(x, target, c1, b1, c2, b2, w, b):
        h = F.max_pool2d(F.relu(F.conv2d(x, c1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, c2, b2, padding=1)), 2)
        return F.cross_entropy(F.linear(h.reshape(64, 256), w, b), target)

    return _sgd_step(torch, torch.compile(loss_fn), (x, target), params, initial, _sums)


def _sgd_step(torch, loss_fn, data, params, initial, sums) -> Bench:
    from workloads_nn import LR

    def step():
        with torch.no_grad():
            for p, p0 in zip(params, initial, strict=True):
                p.copy_(p0)
        for p in params:
            p.grad = None
        loss_fn(*data, *params).backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad * LR)

    return Bench(_timed_first(step), lambda: sums([p.grad.numpy() for p in params]))


def _glassgrad(make):
    return lambda: make(import_contender("glassgrad"))


def _torch(make):
    return lambda: make(import_contender("torch"))


COMPILE_WORKLOADS = {
    "W1c": Workload(
        key="W1c",
        title="W1 compiled; floor = eager glassgrad (target: glassgrad/floor <= 0.5x)",
        setups={
            "floor": lambda: w1_compiled(import_contender("glassgrad"), compiled=False),
            "torch": lambda: w1_compiled(import_contender("torch"), compiled=False),
            "glassgrad": _glassgrad(w1_compiled),
        },
        expected_grads=W1_GRADS,
    ),
    "W3c": Workload(
        key="W3c",
        title="W3 compiled; floor = hand-written NumPy (target: glassgrad/floor <= 0.5x)",
        setups={
            "floor": w3_floor,
            "torch": _torch(w3_tensor),
            "glassgrad": _glassgrad(w3_compiled),
        },
        expected_grads=_expected(w3_floor),
    ),
    "W2c": Workload(
        key="W2c",
        title="W2's step, forward and loss compiled; floor = eager glassgrad; target <= 0.9x torch",
        setups={
            "floor": _glassgrad(w2_tensor),
            "torch": _torch(w2_tensor),
            "glassgrad": _glassgrad(w2_compiled),
        },
        expected_grads=_expected(w2_floor),
        target_vs_torch=0.9,
    ),
    "W5c": Workload(
        key="W5c",
        title="W5's step, forward and loss compiled; floor = eager glassgrad; target <= 0.9x torch",
        setups={
            "floor": _glassgrad(w5_tensor),
            "torch": _torch(w5_tensor),
            "glassgrad": _glassgrad(w5_compiled),
        },
        expected_grads=_expected(_glassgrad(w5_tensor)),
        target_vs_torch=0.9,
    ),
}
