"""Run by tests/distributed/test_ddp.py through the launcher on 2 processes: DDP on halves of a
batch against one process on the whole batch (glassgrad's and PyTorch's), parameter by parameter.
"""

import sys
import types

import numpy as np
import torch as real_torch

import glassgrad as torch
import glassgrad.distributed as dist
from glassgrad import nn


def mlp(seed, bn=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)]
    if bn:
        layers.insert(1, nn.BatchNorm1d(16))
    return nn.Sequential(*layers).double()


def batch(step, n=8):
    rng = np.random.default_rng(100 + step)
    return rng.standard_normal((n, 6)), rng.standard_normal((n, 3))


def close(a, b, what):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12, err_msg=what)


def torch_twin(model):
    """The same network in PyTorch, with the same weights."""
    twin = real_torch.nn.Sequential(
        *[
            real_torch.nn.Linear(m.in_features, m.out_features).double()
            if isinstance(m, nn.Linear)
            else getattr(real_torch.nn, type(m).__name__)()
            for m in model
        ]
    )
    with real_torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
            q.copy_(real_torch.from_numpy(p.detach().numpy().copy()))
    return twin


def case_equivalence(rank, world):
    reference = mlp(0)  # the one-process run, on every rank
    twin = torch_twin(reference)
    model = nn.parallel.DistributedDataParallel(mlp(rank))  # rank 1 starts elsewhere...
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters(), strict=True):
        close(p.detach().numpy(), q.detach().numpy(), f"broadcast {name}")  # ...and gets rank 0's
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    twin_optimizer = real_torch.optim.SGD(twin.parameters(), lr=0.1)
    for step in range(3):
        x, y = batch(step)
        half = slice(rank * 4, rank * 4 + 4)
        optimizer.zero_grad()
        nn.functional.mse_loss(model(torch.tensor(x[half])), torch.tensor(y[half])).backward()
        ref_optimizer.zero_grad()
        nn.functional.mse_loss(reference(torch.tensor(x)), torch.tensor(y)).backward()
        twin_optimizer.zero_grad()
        real_torch.nn.functional.mse_loss(
            twin(real_torch.tensor(x)), real_torch.tensor(y)
        ).backward()
        named = zip(
            model.module.named_parameters(),
            reference.parameters(),
            twin.parameters(),
            strict=True,
        )
        for (name, p), q, t in named:
            close(p.grad.numpy(), q.grad.numpy(), f"step {step} grad {name}")
            close(p.grad.numpy(), t.grad.numpy(), f"step {step} grad {name} vs PyTorch")
        optimizer.step()
        ref_optimizer.step()
        twin_optimizer.step()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters(), strict=True):
        close(p.detach().numpy(), q.detach().numpy(), f"trained {name}")
    assert list(model.state_dict())[0] == "module.0.weight"


def case_no_sync(rank, world):
    model = nn.parallel.DistributedDataParallel(mlp(0))
    reference = mlp(0)
    x, y = batch(0, 16)
    mine = [slice(rank * 4, rank * 4 + 4), slice(8 + rank * 4, 8 + rank * 4 + 4)]
    with model.no_sync():
        nn.functional.mse_loss(model(torch.tensor(x[mine[0]])), torch.tensor(y[mine[0]])).backward()
    local = model.module[0].weight.grad.clone()
    others = [torch.zeros_like(local) for _ in range(world)]
    dist.all_gather(others, local)
    assert not torch.equal(others[0], others[1])  # nothing was averaged inside no_sync
    nn.functional.mse_loss(model(torch.tensor(x[mine[1]])), torch.tensor(y[mine[1]])).backward()
    for chunk in (slice(0, 8), slice(8, 16)):
        xs = torch.tensor(np.concatenate([x[chunk][:4], x[chunk][4:]]))
        nn.functional.mse_loss(reference(xs), torch.tensor(y[chunk])).backward()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters(), strict=True):
        close(p.grad.numpy(), q.grad.numpy(), f"accumulated grad {name}")


class Branchy(nn.Module):
    """A model whose forward skips parameters in the ways the glass box names."""

    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 4)
        self.skipped = nn.Linear(4, 4)  # a branch not taken
        self.detached = nn.Linear(4, 4)
        self.no_grad = nn.Linear(4, 4)

    def forward(self, x, take_branch=False):
        out = self.used(x)
        if take_branch:
            out = out + self.skipped(x)
        out = out + self.detached(x).detach()
        with torch.no_grad():
            frozen_path = self.no_grad(x)
        return out + frozen_path


def case_unused_error(rank, world):
    model = nn.parallel.DistributedDataParallel(Branchy().double())
    x = torch.ones(2, 4, dtype=torch.float64)
    model(x).sum().backward()
    try:
        model(x)
    except RuntimeError as exc:
        text = str(exc)
        assert text.startswith("Expected to have finished reduction in the prior iteration"), text
        assert f"Parameter indices which did not receive grad for rank {rank}: 2 3 4 5 6 7" in text
        note = "\n".join(exc.__notes__)
        print(f"NOTE rank {rank}\n{note}", flush=True)
        lines = note.splitlines()
        assert lines[0].startswith(f"glassgrad: on rank {rank}, no gradient reached"), note
        assert lines[1] == (
            "  skipped.weight (index 2): not used by this output (forward never reached it: "
            "a branch not taken, or a layer not called)"
        ), note
        assert lines[3].startswith("  detached.weight (index 4): the only path to the output "
                                   "passes `")  # fmt: skip
        assert ".detach()` at ddp.py:" in lines[3], note
        assert lines[5].startswith("  no_grad.weight (index 6): the only path to the output was "
                                   "computed inside `no_grad()` at ddp.py:")  # fmt: skip
    else:
        raise AssertionError("no error for parameters that received no gradient")


def case_find_unused(rank, world):
    model = nn.parallel.DistributedDataParallel(Branchy().double(), find_unused_parameters=True)
    reference = Branchy().double()
    reference.load_state_dict(model.module.state_dict())
    x = torch.arange(8.0, dtype=torch.float64).reshape(2, 4) + rank
    for _ in range(2):  # a second iteration: no error, the prior one finished
        model.zero_grad()
        model(x, take_branch=rank == 1).sum().backward()
    grads = {n: p.grad for n, p in model.module.named_parameters()}
    assert grads["detached.weight"] is None and grads["no_grad.bias"] is None  # no rank used them
    # skipped: only rank 1 used it, so every rank gets half of rank 1's gradient
    xs = [torch.arange(8.0, dtype=torch.float64).reshape(2, 4) + r for r in range(world)]
    for r in range(world):
        reference(xs[r], take_branch=r == 1).sum().backward()
    for name, p in reference.named_parameters():
        if p.grad is not None:
            close(grads[name].numpy(), p.grad.numpy() / world, f"grad {name}")


def case_static_graph(rank, world):
    model = nn.parallel.DistributedDataParallel(Branchy().double(), static_graph=True)
    x = torch.ones(2, 4, dtype=torch.float64)
    for _ in range(3):
        model(x).sum().backward()
    assert model.module.skipped.weight.grad is None
    close(model.module.used.bias.grad.numpy(), np.full(4, 6.0), "static graph grad")


def case_bucket_view(rank, world):
    model = nn.parallel.DistributedDataParallel(
        mlp(0), gradient_as_bucket_view=True, bucket_cap_mb=0.0005
    )
    reference = mlp(0)
    assert len(model.reducer.buckets) > 1  # a small cap: several buckets, launched in order
    x, y = batch(1)
    half = slice(rank * 4, rank * 4 + 4)
    nn.functional.mse_loss(model(torch.tensor(x[half])), torch.tensor(y[half])).backward()
    nn.functional.mse_loss(reference(torch.tensor(x)), torch.tensor(y)).backward()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters(), strict=True):
        close(p.grad.numpy(), q.grad.numpy(), f"grad {name}")
        assert np.shares_memory(p.grad.numpy(), model.reducer.where[0].flat) or any(
            np.shares_memory(p.grad.numpy(), b.flat) for b in model.reducer.buckets
        )


def case_buffers(rank, world):
    model = nn.parallel.DistributedDataParallel(mlp(rank, bn=True))
    bn = model.module[1]
    x, _ = batch(rank)
    model(torch.tensor(x))  # each rank updates its running stats from its own batch...
    before = bn.running_mean.clone()
    model(torch.tensor(x))  # ...and the next forward starts from rank 0's (broadcast_buffers)
    stats = [torch.zeros_like(before) for _ in range(world)]
    dist.all_gather(stats, before)
    assert not torch.equal(stats[0], stats[1])
    quiet = nn.parallel.DistributedDataParallel(mlp(rank, bn=True), broadcast_buffers=False)
    quiet(torch.tensor(x))
    quiet(torch.tensor(x))


def case_sync_batchnorm(rank, world):
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)).double()
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(
        nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)).double()
    )
    assert type(synced[1]).__name__ == "SyncBatchNorm"
    synced.load_state_dict(plain.state_dict())
    ddp = nn.parallel.DistributedDataParallel(synced)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 2, 3, 3)) * 3 + 1
    weights = rng.standard_normal((6, 3, 3, 3))
    half = slice(rank * 3, rank * 3 + 3)
    out = ddp(torch.tensor(x[half]))
    (out * torch.tensor(weights[half])).sum().backward()
    full = plain(torch.tensor(x))
    (full * torch.tensor(weights)).sum().backward()
    close(out.detach().numpy(), full.detach().numpy()[half], "output")
    for (name, p), q in zip(synced.named_parameters(), plain.parameters(), strict=True):
        # DDP averages: each rank's gradient is half the sum, the whole batch's is the sum
        close(p.grad.numpy() * world, q.grad.numpy(), f"grad {name}")
    close(synced[1].running_mean.numpy(), plain[1].running_mean.numpy(), "running_mean")
    close(synced[1].running_var.numpy(), plain[1].running_var.numpy(), "running_var")


def case_mpi_path(rank, world):
    """Where the ranks cannot share memory, buckets travel by MPI allreduce: the same answers."""
    assert nn.parallel.DistributedDataParallel(mlp(0)).reducer.buckets[0].shared is not None
    from glassgrad.distributed import _shared

    real = _shared.os.statvfs
    _shared.os.statvfs = lambda path: types.SimpleNamespace(f_bavail=1, f_frsize=4096)
    try:  # a small /dev/shm (as containers mount it): the buckets travel by MPI instead
        assert nn.parallel.DistributedDataParallel(mlp(0)).reducer.buckets[0].shared is None
    finally:
        _shared.os.statvfs = real
    nn.parallel._reducer.USE_SHARED_MEMORY = False
    assert nn.parallel.DistributedDataParallel(mlp(0)).reducer.buckets[0].shared is None
    case_equivalence(rank, world)
    case_bucket_view(rank, world)
    case_find_unused(rank, world)


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x, use_b=True):
        return self.b(self.a(x)) if use_b else self.a(x)


def case_find_unused_one_rank(rank, world):
    """Only rank 1 leaves a layer out: rank 0 has nothing unused, and must still take part in
    the exchange that finds out which parameters no rank used."""
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(TwoLayers().double(), find_unused_parameters=True)
    reference = TwoLayers().double()
    reference.load_state_dict(model.module.state_dict())
    xs = [torch.arange(6.0, dtype=torch.float64).reshape(2, 3) * (r + 1) for r in range(world)]
    for _ in range(2):
        model.zero_grad()
        model(xs[rank], use_b=rank == 0).sum().backward()
    for r in range(world):
        reference(xs[r], use_b=r == 0).sum().backward()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters(), strict=True):
        close(p.grad.numpy(), q.grad.numpy() / world, f"grad {name}")


def _local_and_reference_grads(rank, world, step=0):
    """Each rank's own gradients on its half, and the whole batch's (the average of halves)."""
    local, reference = mlp(0).float(), mlp(0).float()
    x, y = batch(step)
    half = slice(rank * 4, rank * 4 + 4)
    nn.functional.mse_loss(
        local(torch.tensor(x[half]).float()), torch.tensor(y[half]).float()
    ).backward()
    nn.functional.mse_loss(reference(torch.tensor(x).float()), torch.tensor(y).float()).backward()
    return [p.grad for p in local.parameters()], [p.grad for p in reference.parameters()]


def _hooked_grads(rank, hook, state=None):
    model = nn.parallel.DistributedDataParallel(mlp(0).float())
    model.register_comm_hook(state, hook)
    x, y = batch(0)
    half = slice(rank * 4, rank * 4 + 4)
    out = model(torch.tensor(x[half]).float())
    nn.functional.mse_loss(out, torch.tensor(y[half]).float()).backward()
    return [p.grad for p in model.module.parameters()]


def case_comm_hooks(rank, world):
    from glassgrad.distributed.algorithms.ddp_comm_hooks import default_hooks as hooks

    local, reference = _local_and_reference_grads(rank, world)
    for grad, want in zip(_hooked_grads(rank, hooks.allreduce_hook), reference, strict=True):
        # float32: the halves' average and the whole batch's differ in the last bits
        np.testing.assert_allclose(grad.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)
    compressed = {
        "fp16": (hooks.fp16_compress_hook, np.float16, 1e-3),
        "bf16": (hooks.bf16_compress_hook, torch.bfloat16, 1e-2),
        "fp16 wrapper": (hooks.fp16_compress_wrapper(hooks.allreduce_hook), np.float16, 1e-3),
        "bf16 wrapper": (hooks.bf16_compress_wrapper(hooks.allreduce_hook), torch.bfloat16, 1e-2),
    }
    for name, (hook, dtype, tolerance) in compressed.items():
        grads = _hooked_grads(rank, hook, dist.group.WORLD)
        for grad, want in zip(grads, reference, strict=True):
            np.testing.assert_allclose(grad.numpy(), want.numpy(), rtol=tolerance, atol=tolerance)
            # each average was computed in half precision: it survives the round trip unchanged
            if dtype is np.float16:
                rounded = grad.numpy().astype(np.float16).astype(np.float32)
            else:
                rounded = grad.to(dtype).float().numpy()
            np.testing.assert_array_equal(grad.numpy(), rounded, err_msg=name)
        assert grads[0].dtype == torch.float32, name

    seen = []

    def keep_local(state, bucket):
        """Average nothing: each rank keeps its own gradients."""
        assert isinstance(bucket, dist.GradBucket)
        seen.append((bucket.index(), bucket.is_last(), bucket.parameters(), bucket.gradients()))
        future = torch.futures.Future()
        future.set_result(bucket.buffer())
        return future

    for grad, want in zip(_hooked_grads(rank, keep_local), local, strict=True):
        close(grad.numpy(), want.numpy(), "a hook that keeps local gradients")
    ((index, last, params, grads),) = seen
    assert (index, last) == (0, True)
    assert [tuple(p.shape) for p in params] == [(16, 6), (16,), (16, 16), (16,), (3, 16), (3,)]
    for grad, want in zip(grads, local, strict=True):
        close(grad.numpy(), want.numpy(), "GradBucket.gradients()")


def _train_unevenly(rank, world, divide_by_initial_world_size):
    """Rank r trains on 2 + 2r batches inside join(); the reference replays every step, with
    the gradients a joined rank contributes (zeros)."""
    model = nn.parallel.DistributedDataParallel(mlp(0))
    reference = mlp(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    steps = [2 + 2 * r for r in range(world)]
    with model.join(divide_by_initial_world_size=divide_by_initial_world_size):
        for step in range(steps[rank]):
            x, y = batch(step)
            optimizer.zero_grad()
            half = slice(rank * 4, rank * 4 + 4)
            nn.functional.mse_loss(model(torch.tensor(x[half])), torch.tensor(y[half])).backward()
            optimizer.step()
    for step in range(max(steps)):
        x, y = batch(step)
        training = [r for r in range(world) if step < steps[r]]
        ref_optimizer.zero_grad()
        for r in training:
            half = slice(r * 4, r * 4 + 4)
            out = reference(torch.tensor(x[half]))
            nn.functional.mse_loss(out, torch.tensor(y[half])).backward()
        divisor = world if divide_by_initial_world_size else len(training)
        for p in reference.parameters():
            p.grad = p.grad / divisor
        ref_optimizer.step()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters(), strict=True):
        close(p.detach().numpy(), q.detach().numpy(), f"after uneven training: {name}")


def case_join(rank, world):
    _train_unevenly(rank, world, divide_by_initial_world_size=True)
    _train_unevenly(rank, world, divide_by_initial_world_size=False)
    nn.parallel._reducer.USE_SHARED_MEMORY = False
    _train_unevenly(rank, world, divide_by_initial_world_size=True)


def case_join_throw(rank, world):
    from glassgrad.distributed.algorithms.join import Join

    model = nn.parallel.DistributedDataParallel(mlp(0))
    x, y = batch(0)
    try:
        with Join([model], throw_on_early_termination=True):
            for _ in range(1 + 3 * rank):
                nn.functional.mse_loss(model(torch.tensor(x)), torch.tensor(y)).backward()
    except RuntimeError as exc:
        expected = (
            "Rank 0 exhausted all inputs." if rank == 0 else
            "Detected at least one rank that exhausted inputs. Throwing across all ranks."
        )  # fmt: skip
        assert str(exc) == expected, str(exc)
    else:
        raise AssertionError("no rank stopped early")


if __name__ == "__main__":
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    globals()["case_" + sys.argv[1]](rank, world)
    dist.barrier()
    print(f"OK rank {rank}", flush=True)
    dist.destroy_process_group()
