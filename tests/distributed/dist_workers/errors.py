"""Run on one process by tests/distributed/test_distributed_errors.py twice: with ``torch``
(gloo) and with glassgrad (through its launcher); prints each case's exception type and message
as JSON."""

import json
import os
import sys

if sys.argv[1] == "torch":
    import torch
    import torch.distributed as dist
else:
    import glassgrad as torch
    import glassgrad.distributed as dist

results = {}


def case(name, thunk):
    try:
        value = thunk()
        results[name] = ["ok", repr(value) if isinstance(value, (bool, int, str)) else None]
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        results[name] = [type(exc).__name__, str(exc)]


t = torch.arange(6.0).reshape(2, 3)
case("is_initialized_before", dist.is_initialized)
case("get_rank_before", dist.get_rank)
case("get_world_size_before", dist.get_world_size)
case("all_reduce_before", lambda: dist.all_reduce(t))
case("barrier_before", dist.barrier)
case("destroy_before", dist.destroy_process_group)
if sys.argv[1] == "torch":
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[2])
case("nccl", lambda: dist.init_process_group("nccl", rank=0, world_size=1))
case("init_timeout_type", lambda: dist.init_process_group("gloo", timeout=5, rank=0, world_size=1))
case("init", lambda: dist.init_process_group("gloo", rank=0, world_size=1))
case("init_twice", lambda: dist.init_process_group("gloo", rank=0, world_size=1))
case("rank", dist.get_rank)
case("world_size", dist.get_world_size)
case("backend", lambda: str(dist.get_backend()))
case("broadcast_bad_src", lambda: dist.broadcast(t, src=3))
case("reduce_bad_dst", lambda: dist.reduce(t, dst=3))
case("all_reduce_list", lambda: dist.all_reduce([t]))
case("avg_int", lambda: dist.all_reduce(torch.ones(2, dtype=torch.int64), op=dist.ReduceOp.AVG))
case("all_gather_length", lambda: dist.all_gather([torch.zeros(2, 3)] * 2, t))
case("all_gather_size", lambda: dist.all_gather([torch.zeros(3, 2)], t))
case("all_gather_dtype", lambda: dist.all_gather([torch.zeros(2, 3, dtype=torch.int64)], t))
case("all_gather_into_size", lambda: dist.all_gather_into_tensor(torch.zeros(3, 3), t))
case("gather_no_list", lambda: dist.gather(t, None, dst=0))
case("gather_list_size", lambda: dist.gather(t, [torch.zeros(2, 3)] * 2, dst=0))
case("gather_tensor_size", lambda: dist.gather(t, [torch.zeros(3, 2)], dst=0))
case("gather_other_dst", lambda: dist.gather(t, [torch.zeros(2, 3)], dst=3))
case("scatter_no_list", lambda: dist.scatter(t, None, src=0))
case("scatter_list_size", lambda: dist.scatter(t, [torch.zeros(2, 3)] * 2, src=0))
case("scatter_tensor_size", lambda: dist.scatter(t, [torch.zeros(3, 2)], src=0))
case("scatter_other_src", lambda: dist.scatter(t, [torch.zeros(2, 3)], src=3))
case("reduce_scatter_size", lambda: dist.reduce_scatter(t, [t, t]))
case("all_to_all_size", lambda: dist.all_to_all([torch.zeros(2)], [torch.zeros(2)] * 2))
case("send_self", lambda: dist.send(t, dst=0))
case("new_group_too_big", lambda: dist.new_group([0, 1]))
case("new_group", lambda: dist.get_world_size(dist.new_group([0])))
case("new_group_timeout_type", lambda: dist.new_group([0], timeout=5))
case("new_group_negative", lambda: dist.new_group([-1]))
case("new_group_duplicate", lambda: dist.new_group([0, 0]))
case("band_float", lambda: dist.all_reduce(t.clone(), op=dist.ReduceOp.BAND))
case("bxor_int", lambda: dist.all_reduce(torch.arange(4), op=dist.ReduceOp.BXOR))
case("all_gather_into_dtype", lambda: dist.all_gather_into_tensor(torch.zeros(2, 3).long(), t))
case("all_gather_into_half", lambda: dist.all_gather_into_tensor(torch.zeros(2, 3).half(), t))
case("unknown_group", lambda: dist.all_reduce(t, group=5))
case("get_rank_unknown_group", lambda: dist.get_rank(5))
case("process_group_ranks", lambda: str(dist.get_process_group_ranks(dist.group.WORLD)))
case("p2p_op_bad", lambda: dist.P2POp(dist.all_reduce, t, 0))
case("batch_not_ops", lambda: dist.batch_isend_irecv([1]))
case("batch_empty", lambda: dist.batch_isend_irecv([]))
case("all_reduce_leaf", lambda: dist.all_reduce(torch.ones(2, requires_grad=True)))
case("destroy", dist.destroy_process_group)
case("destroy_again", dist.destroy_process_group)
case("get_rank_after", dist.get_rank)
print("RESULTS " + json.dumps(results), flush=True)
print("OK rank 0", flush=True)
