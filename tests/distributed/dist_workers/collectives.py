"""Run by tests/distributed/test_collectives.py through the launcher on 2 processes: each case
runs one collective and checks every rank's result against the one-process computation."""

import sys

import numpy as np

import glassgrad as torch
import glassgrad.distributed as dist


def value(rank, shape=(2, 3), dtype=torch.float32):
    """What rank ``rank`` contributes: distinct on every rank and element."""
    n = int(np.prod(shape))
    return (torch.arange(n, dtype=torch.float64) * (rank + 2) - rank).reshape(shape).to(dtype)


def same(got, expected):
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert tuple(got.shape) == tuple(expected.shape), (got.shape, expected.shape)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def everyone(world, dtype=torch.float32):
    return [value(r, dtype=dtype) for r in range(world)]


def case_all_reduce(rank, world):
    ops = {
        dist.ReduceOp.SUM: lambda xs: sum(xs[1:], xs[0]),
        dist.ReduceOp.AVG: lambda xs: sum(xs[1:], xs[0]) / len(xs),
        dist.ReduceOp.PRODUCT: lambda xs: xs[0] * xs[1],
        dist.ReduceOp.MIN: lambda xs: torch.minimum(xs[0], xs[1]),
        dist.ReduceOp.MAX: lambda xs: torch.maximum(xs[0], xs[1]),
    }
    for op, combine in ops.items():
        for dtype in (torch.float32, torch.float64, torch.int64):
            if op is dist.ReduceOp.AVG and dtype is torch.int64:
                continue
            t = value(rank, dtype=dtype)
            assert dist.all_reduce(t, op=op) is None
            same(t, combine(everyone(world, dtype)))
    flags = torch.tensor([rank == 0, False])
    dist.all_reduce(flags)
    same(flags, torch.tensor([True, False]))
    t = value(rank).t()  # not contiguous: the result still lands in the tensor's own memory
    dist.all_reduce(t)
    same(t, sum(x.t() for x in everyone(world)))


def case_async(rank, world):
    t = value(rank)
    work = dist.all_reduce(t, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() is True and work.is_completed()
    same(t, sum(everyone(world)[1:], everyone(world)[0]))
    same(work.result()[0], t)
    out = [torch.zeros(2, 3) for _ in range(world)]
    work = dist.all_gather(out, value(rank), async_op=True)
    work.wait()
    for r in range(world):
        same(out[r], value(r))
    assert dist.barrier(async_op=True).wait()


def case_broadcast(rank, world):
    for src in range(world):
        t = value(rank, dtype=torch.float64)
        dist.broadcast(t, src=src)
        same(t, value(src, dtype=torch.float64))
    t = value(rank, dtype=torch.int32)
    dist.broadcast(t, group_src=1)
    same(t, value(1, dtype=torch.int32))


def case_reduce(rank, world):
    t = value(rank)
    dist.reduce(t, dst=1, op=dist.ReduceOp.MAX)
    same(t, torch.maximum(value(0), value(1)) if rank == 1 else value(rank))


def case_all_gather(rank, world):
    out = [torch.zeros(2, 3) for _ in range(world)]
    dist.all_gather(out, value(rank))
    for r in range(world):
        same(out[r], value(r))
    flat = torch.zeros(world * 2, 3)
    dist.all_gather_into_tensor(flat, value(rank))
    same(flat, torch.cat(everyone(world)))
    stacked = torch.zeros(world, 2, 3)
    dist.all_gather_into_tensor(stacked, value(rank))
    same(stacked, torch.stack(everyone(world)))
    objects = [None] * world
    dist.all_gather_object(objects, {"rank": rank})
    assert objects == [{"rank": r} for r in range(world)]


def case_gather_scatter(rank, world):
    gathered = [torch.zeros(2, 3) for _ in range(world)] if rank == 0 else None
    dist.gather(value(rank), gathered, dst=0)
    if rank == 0:
        for r in range(world):
            same(gathered[r], value(r))
    out = torch.zeros(2, 3)
    dist.scatter(out, [value(10 + r) for r in range(world)] if rank == 1 else None, src=1)
    same(out, value(10 + rank))


def case_reduce_scatter(rank, world):
    out = torch.zeros(2, 3)
    dist.reduce_scatter(out, [value(rank + 4 * r) for r in range(world)])
    same(out, sum(value(r + 4 * rank) for r in range(world)))
    big = torch.cat([value(rank + 4 * r) for r in range(world)])
    out = torch.zeros(2, 3)
    dist.reduce_scatter_tensor(out, big, op=dist.ReduceOp.AVG)
    same(out, sum(value(r + 4 * rank) for r in range(world)) / world)


def case_all_to_all(rank, world):
    out = [torch.zeros(2, 3) for _ in range(world)]
    dist.all_to_all(out, [value(10 * rank + r) for r in range(world)])
    for r in range(world):
        same(out[r], value(10 * r + rank))
    single = torch.zeros(world * 2, 3)
    dist.all_to_all_single(single, torch.cat([value(10 * rank + r) for r in range(world)]))
    same(single, torch.cat([value(10 * r + rank) for r in range(world)]))


def case_p2p(rank, world):
    if rank == 0:
        dist.send(value(7), dst=1)
        work = dist.isend(value(8), dst=1, tag=3)
        work.wait()
        got = torch.zeros(2, 3)
        assert dist.recv(got) == 1  # from any source: the sender's rank comes back
        same(got, value(9))
    else:
        got = torch.zeros(2, 3)
        assert dist.recv(got, src=0) == 0
        same(got, value(7))
        second = torch.zeros(2, 3)
        dist.irecv(second, src=0, tag=3).wait()
        same(second, value(8))
        dist.send(value(9), dst=0)


def case_batch_p2p(rank, world):
    """A ring: each rank sends to the next and receives from the previous, in one batch."""
    got = torch.zeros(2, 3)
    ops = [
        dist.P2POp(dist.isend, value(rank), (rank + 1) % world),
        dist.P2POp(dist.irecv, got, (rank - 1) % world),
    ]
    works = dist.batch_isend_irecv(ops)
    assert len(works) == 2
    for work in works:
        work.wait()
    same(got, value((rank - 1) % world))


def case_groups(rank, world):
    solo = dist.new_group([1])
    pair = dist.new_group()
    assert dist.get_world_size(pair) == world and dist.get_rank(pair) == rank
    assert dist.get_rank(solo) == (0 if rank == 1 else -1)
    t = value(rank)
    dist.all_reduce(t, group=pair)
    same(t, sum(everyone(world)[1:], everyone(world)[0]))
    t = value(rank)
    dist.all_reduce(t, group=solo)  # rank 0 is outside: PyTorch warns and does nothing
    same(t, value(rank))
    objects = [rank * 10] if rank == 0 else [None]
    dist.broadcast_object_list(objects, src=0)
    assert objects == [0]


def case_mismatch(rank, world):
    t = torch.zeros(3 + rank)
    try:
        dist.all_reduce(t)
    except RuntimeError as exc:
        assert str(exc).startswith("Detected mismatch between collectives on ranks."), exc
        assert "TensorShape=[3]" in str(exc) and "TensorShape=[4]" in str(exc), exc
    else:
        raise AssertionError("no error for different shapes on the two ranks")
    t = torch.ones(2)
    dist.all_reduce(t)  # the group still works afterwards
    same(t, torch.full((2,), 2.0))


if __name__ == "__main__":
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2
    globals()["case_" + sys.argv[1]](rank, world)
    dist.barrier()
    print(f"OK rank {rank}", flush=True)
    dist.destroy_process_group()
