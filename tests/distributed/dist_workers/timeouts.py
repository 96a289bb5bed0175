"""Run on 2 processes by tests/distributed/test_timeouts.py, with ``torch`` (gloo) or glassgrad:
rank 1 stays away longer than the process group's timeout; rank 0 prints, as JSON, what each
collective it tries raises and how long it waited. The last argument picks the calls: plain
collectives, or a monitored_barrier (which leaves Gloo's group in another state)."""

import datetime
import json
import os
import sys
import time

if sys.argv[1] == "torch":
    import torch
    import torch.distributed as dist

    rank = int(sys.argv[3])
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[2])
    options = {"rank": rank, "world_size": 2}
else:
    import glassgrad as torch
    import glassgrad.distributed as dist

    rank = int(os.environ["RANK"])
    options = {}

mode = sys.argv[-1]
TIMEOUT = 2.0
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=TIMEOUT), **options)
results = {}


def case(name, thunk):
    start = time.monotonic()
    try:
        thunk()
        results[name] = ["ok", None]
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        results[name] = [type(exc).__name__, str(exc)]
    results[name].append(round(time.monotonic() - start))


if rank == 1:
    if mode == "monitored":
        dist.monitored_barrier()  # the first one: every rank passes it
    time.sleep(4 * TIMEOUT)  # rank 0 gives up on it long before
elif mode == "monitored":
    dist.monitored_barrier()
    limit = datetime.timedelta(seconds=TIMEOUT)
    case("monitored_barrier", lambda: dist.monitored_barrier(timeout=limit))
else:
    t = torch.ones(3)
    case("all_reduce", lambda: dist.all_reduce(t))
    case("broadcast_after", lambda: dist.broadcast(t, 0))
    case("barrier_after", dist.barrier)
if rank == 0:
    print("RESULTS " + json.dumps(results), flush=True)
print(f"OK rank {rank}", flush=True)
