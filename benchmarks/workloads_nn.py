"""Training-step workloads: W2 (MLP), W3 (tanh chain), W5 (small CNN).

Each step resets the parameters to their initial values before the forward pass, so that a
timed loop of thousands of steps stays at one point of the loss surface and ``run.py`` can check
the gradients of the last step; the reset is an in-place copy, the same for every contender.
The floor is the same math written by hand in NumPy (W5 has none: hand-written convolutions
would measure the author, not the framework).
"""

from __future__ import annotations

import numpy as np

from workloads import Bench, Workload, import_contender

W2_SIZES = (128, 784, 256, 256, 10)  # batch, input, hidden, hidden, classes
LR = 0.01


def _mlp_arrays():
    rng = np.random.default_rng(0)
    batch, n_in, h1, h2, n_out = W2_SIZES
    x = rng.standard_normal((batch, n_in)).astype(np.float32)
    target = rng.integers(0, n_out, batch)
    params = []
    for fan_in, fan_out in ((n_in, h1), (h1, h2), (h2, n_out)):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return x, target, params


def _sums(grads) -> list[float]:
    return [float(np.square(np.asarray(g, dtype=np.float64)).sum()) for g in grads]


def w2_floor() -> Bench:
    """The MLP step by hand: forward, softmax cross-entropy gradient, backward, SGD."""
    x, target, initial = _mlp_arrays()
    params = [p.copy() for p in initial]
    grads = [None] * 6
    onehot = np.eye(W2_SIZES[-1], dtype=np.float32)[target]

    def step():
        for p, p0 in zip(params, initial, strict=True):
            np.copyto(p, p0)
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        logits = h2 @ w3.T + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        g3 = (probs - onehot) / x.shape[0]
        g2 = (g3 @ w3) * (h2 > 0)
        g1 = (g2 @ w2) * (h1 > 0)
        grads[:] = (g1.T @ x, g1.sum(0), g2.T @ h1, g2.sum(0), g3.T @ h2, g3.sum(0))
        for p, g in zip(params, grads, strict=True):
            p -= LR * g

    return Bench(step, lambda: _sums(grads))


def w2_tensor(torch, no_grad_forward: bool = False) -> Bench:
    """The MLP step as a PyTorch user writes it without nn/optim (or only its no_grad forward)."""
    import_nn = __import__(f"{torch.__name__}.nn.functional", fromlist=["functional"])
    x_np, target_np, initial_np = _mlp_arrays()
    x, target = torch.tensor(x_np), torch.tensor(target_np)
    initial = [torch.tensor(p) for p in initial_np]
    params = [torch.tensor(p).requires_grad_(True) for p in initial_np]
    linear, relu, cross_entropy = import_nn.linear, import_nn.relu, import_nn.cross_entropy

    def forward():
        w1, b1, w2, b2, w3, b3 = params
        return linear(relu(linear(relu(linear(x, w1, b1)), w2, b2)), w3, b3)

    if no_grad_forward:
        found = []

        def evaluate():
            with torch.no_grad():
                found[:] = [forward()]

        return Bench(evaluate, lambda: _sums([found[0].numpy()]))

    def step():
        with torch.no_grad():
            for p, p0 in zip(params, initial, strict=True):
                p.copy_(p0)
        for p in params:
            p.grad = None
        loss = cross_entropy(forward(), target)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad * LR)

    return Bench(step, lambda: _sums([p.grad.numpy() for p in params]))


def w2_forward_floor() -> Bench:
    """The MLP's forward by hand in NumPy."""
    x, _, params = _mlp_arrays()
    found = []

    def evaluate():
        w1, b1, w2, b2, w3, b3 = params
        h = np.maximum(np.maximum(x @ w1.T + b1, 0) @ w2.T + b2, 0)
        found[:] = [h @ w3.T + b3]

    return Bench(evaluate, lambda: _sums(found))


def provenance_cost(no_grad_forward: bool, records: bool) -> Bench:
    """W2's step (P1) or its no_grad forward (P2) on glassgrad, with provenance on or off."""
    import glassgrad
    from glassgrad import glass

    bench = w2_tensor(glassgrad, no_grad_forward)

    def step():
        # switched per step, not per process: the tests run these setups in-process
        with glass.provenance(records):
            bench.step()

    return Bench(step, bench.grads)


def flow_cost(flows: bool) -> Bench:
    """W2's step on glassgrad with ``glass.record_flows()`` (per-node gradient statistics, what
    ``glassgrad explain`` and ``glass.explain``'s own pass switch on) on or off."""
    import glassgrad
    from glassgrad import glass

    bench = w2_tensor(glassgrad)

    def step():
        with glass.record_flows(flows):
            bench.step()

    return Bench(step, bench.grads)


# --- W3: 100 x (tanh, * 0.5, + residual) on 10,000 elements -----------------------------------
W3_SIZE, W3_DEPTH = 10_000, 100


def _w3_input():
    return np.random.default_rng(3).standard_normal(W3_SIZE)


def w3_floor() -> Bench:
    """The chain and its backward by hand, keeping each tanh output for the backward pass."""
    x = _w3_input()
    grads = [None]

    def step():
        h = x
        saved = []
        for _ in range(W3_DEPTH):
            t = np.tanh(h)
            saved.append(t)
            h = t * 0.5 + h
        g = np.ones_like(x)
        for t in reversed(saved):
            g = g + (g * 0.5) * (1 - t * t)
        grads[0] = g

    return Bench(step, lambda: _sums(grads))


def w3_tensor(torch) -> Bench:
    """The chain with autograd."""
    x = torch.tensor(_w3_input(), requires_grad=True)

    def step():
        x.grad = None
        h = x
        for _ in range(W3_DEPTH):
            h = h.tanh() * 0.5 + h
        h.sum().backward()

    return Bench(step, lambda: _sums([x.grad.numpy()]))


# --- W5: conv(1->32) relu pool, conv(32->64) relu pool, linear; batch 64 of 8x8 ----------------
def _cnn_arrays():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 1, 8, 8)).astype(np.float32)
    target = rng.integers(0, 10, 64)
    shapes = [(32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (10, 256), (10,)]
    fans = [9, 9, 288, 288, 256, 256]
    params = [
        (rng.uniform(-1, 1, s) / np.sqrt(f)).astype(np.float32)
        for s, f in zip(shapes, fans, strict=True)
    ]
    return x, target, params


def w5_tensor(torch) -> Bench:
    """The CNN step with nn.functional and a manual SGD update."""
    F = __import__(f"{torch.__name__}.nn.functional", fromlist=["functional"])
    x_np, target_np, initial_np = _cnn_arrays()
    x, target = torch.tensor(x_np), torch.tensor(target_np)
    initial = [torch.tensor(p) for p in initial_np]
    params = [torch.tensor(p).requires_grad_(True) for p in initial_np]

    def step():
        with torch.no_grad():
            for p, p0 in zip(params, initial, strict=True):
                p.copy_(p0)
        for p in params:
            p.grad = None
        c1, b1, c2, b2, w, b = params
        h = F.max_pool2d(F.relu(F.conv2d(x, c1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, c2, b2, padding=1)), 2)
        loss = F.cross_entropy(F.linear(h.reshape(64, 256), w, b), target)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad * LR)

    return Bench(step, lambda: _sums([p.grad.numpy() for p in params]))


def _expected(setup) -> list[float]:
    bench = setup()
    bench.step()
    return bench.grads()


def _glassgrad(setup):
    return lambda: setup(import_contender("glassgrad"))


def _torch(setup):
    return lambda: setup(import_contender("torch"))


NN_WORKLOADS = {
    "W2": Workload(
        key="W2",
        title="MLP 784-256-256-10 training step, batch 128, float32, cross_entropy, SGD",
        setups={"floor": w2_floor, "torch": _torch(w2_tensor), "glassgrad": _glassgrad(w2_tensor)},
        expected_grads=_expected(w2_floor),
    ),
    "W3": Workload(
        key="W3",
        title="100 x (tanh, * 0.5, + residual) on 10,000 float64 elements, forward + backward",
        setups={"floor": w3_floor, "torch": _torch(w3_tensor), "glassgrad": _glassgrad(w3_tensor)},
        expected_grads=_expected(w3_floor),
    ),
}
for _key, _forward in (("P1", False), ("P2", True)):
    NN_WORKLOADS[_key] = Workload(
        key=_key,
        title=(
            "provenance cost on W2's MLP: "
            + ("no_grad forward" if _forward else "training step")
            + "; floor = glassgrad with glass.provenance(False), so glassgrad/floor is the cost"
            " of provenance (budget 1.05x)"
        ),
        setups={
            "floor": (lambda f: lambda: provenance_cost(f, False))(_forward),
            "torch": (lambda f: lambda: w2_tensor(import_contender("torch"), f))(_forward),
            "glassgrad": (lambda f: lambda: provenance_cost(f, True))(_forward),
        },
        expected_grads=_expected(w2_forward_floor if _forward else w2_floor),
    )
NN_WORKLOADS["P3"] = Workload(
    key="P3",
    title=(
        "cost of per-node gradient statistics (glass.record_flows) on W2's training step; "
        "floor = glassgrad with them off, so glassgrad/floor is their cost (switched on only "
        "by the user or glassgrad explain; no budget)"
    ),
    setups={
        "floor": lambda: flow_cost(False),
        "torch": lambda: w2_tensor(import_contender("torch")),
        "glassgrad": lambda: flow_cost(True),
    },
    expected_grads=_expected(w2_floor),
)
NN_WORKLOADS["W5"] = Workload(
    key="W5",
    title="CNN step: conv 1->32, relu, pool, conv 32->64, relu, pool, linear; 64 x 8x8 float32",
    setups={"torch": _torch(w5_tensor), "glassgrad": _glassgrad(w5_tensor)},
    expected_grads=_expected(_glassgrad(w5_tensor)),
    target_vs_torch=2.0,
)
