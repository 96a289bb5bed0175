"""torch.func workloads: F1 per-sample gradients (vmap(grad)), F2 hessian, F3 jacrev, F4 jacfwd.

F1's floor is not NumPy by hand but glassgrad's own loop of 128 backward passes (one per
sample): glassgrad/floor is what vmap buys over that loop (target: at most 0.2x). F2-F4 have no
floor; their target is PyTorch's torch.func.
"""

from __future__ import annotations

import numpy as np

from workloads import Bench, Workload, import_contender
from workloads_nn import W2_SIZES, _mlp_arrays, _sums

N = 100  # F2-F4: inputs (and outputs) of the function


def _loss(torch):
    F = torch.nn.functional

    def loss(params, x, target):
        w1, b1, w2, b2, w3, b3 = params
        h = F.relu(F.linear(x, w1, b1))
        h = F.relu(F.linear(h, w2, b2))
        return F.cross_entropy(F.linear(h, w3, b3).unsqueeze(0), target.unsqueeze(0))

    return loss


def _w2_tensors(torch):
    x, target, params = _mlp_arrays()
    return [torch.tensor(p) for p in params], torch.tensor(x), torch.tensor(target)


def f1_vmap(torch) -> Bench:
    """Per-sample gradients of W2's MLP, batch 128: vmap(grad(loss)) over the samples."""
    params, x, target = _w2_tensors(torch)
    per_sample = torch.func.vmap(torch.func.grad(_loss(torch)), in_dims=(None, 0, 0))
    found = []

    def step():
        found[:] = per_sample(params, x, target)

    return Bench(step, lambda: _sums([g.numpy() for g in found]))


def f1_loop() -> Bench:
    """The same gradients by glassgrad's autograd: one backward pass per sample."""
    torch = import_contender("glassgrad")
    params, x, target = _w2_tensors(torch)
    loss = _loss(torch)
    found = []

    def step():
        grads = []
        for i in range(W2_SIZES[0]):
            leaves = [p.detach().requires_grad_() for p in params]
            loss(leaves, x[i], target[i]).backward()
            grads.append([leaf.grad for leaf in leaves])
        found[:] = [torch.stack(list(g)) for g in zip(*grads, strict=True)]

    return Bench(step, lambda: _sums([g.numpy() for g in found]))


def _matrix():
    return np.random.default_rng(1).standard_normal((N, N)) / np.sqrt(N)


def _vector():
    return np.random.default_rng(2).standard_normal(N)


def f2_hessian(torch) -> Bench:
    """hessian of sum(tanh(W x)**2) + sum(x**3)/3 at one point of R^100."""
    w, x = torch.tensor(_matrix()), torch.tensor(_vector())

    def scalar(v):
        return (w @ v).tanh().pow(2).sum() + v.pow(3).sum() / 3

    hessian = torch.func.hessian(scalar)
    found = []

    def step():
        found[:] = [hessian(x)]

    return Bench(step, lambda: _sums([found[0].numpy()]))


def _map(torch, w):
    return lambda v: (w @ v).tanh() * v


def f3_jacrev(torch) -> Bench:
    """jacrev of x -> tanh(W x) * x, R^100 -> R^100."""
    w, x = torch.tensor(_matrix()), torch.tensor(_vector())
    jacobian = torch.func.jacrev(_map(torch, w))
    found = []

    def step():
        found[:] = [jacobian(x)]

    return Bench(step, lambda: _sums([found[0].numpy()]))


def f4_jacfwd(torch) -> Bench:
    """jacfwd of the same map."""
    w, x = torch.tensor(_matrix()), torch.tensor(_vector())
    jacobian = torch.func.jacfwd(_map(torch, w))
    found = []

    def step():
        found[:] = [jacobian(x)]

    return Bench(step, lambda: _sums([found[0].numpy()]))


def _both(setup):
    return {
        "torch": lambda: setup(import_contender("torch")),
        "glassgrad": lambda: setup(import_contender("glassgrad")),
    }


def _expected(setup) -> list[float]:
    bench = setup(import_contender("glassgrad"))
    bench.step()
    return bench.grads()


FUNC_WORKLOADS = {
    "F1": Workload(
        key="F1",
        title=(
            "per-sample gradients of W2's MLP, batch 128, vmap(grad(loss)); floor = glassgrad's "
            "loop of 128 backward passes (target there: glassgrad/floor <= 0.2)"
        ),
        setups={"floor": f1_loop, **_both(f1_vmap)},
        expected_grads=_expected(f1_vmap),
        target_vs_torch=1.0,
    ),
    "F2": Workload(
        key="F2",
        title="torch.func.hessian of a scalar function of 100 float64 inputs",
        setups=_both(f2_hessian),
        expected_grads=_expected(f2_hessian),
        target_vs_torch=1.0,
    ),
    "F3": Workload(
        key="F3",
        title="torch.func.jacrev of a map R^100 -> R^100 (float64)",
        setups=_both(f3_jacrev),
        expected_grads=_expected(f3_jacrev),
        target_vs_torch=1.0,
    ),
    "F4": Workload(
        key="F4",
        title="torch.func.jacfwd of the same map",
        setups=_both(f4_jacfwd),
        expected_grads=_expected(f4_jacfwd),
        target_vs_torch=1.0,
    ),
}
