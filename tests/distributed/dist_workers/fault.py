"""A training loop in which one rank fails at step 3: killed, raising, or exiting non-zero;
with "ddp", the model is a DistributedDataParallel (the survivor waits inside backward)."""

import os
import signal
import sys

import glassgrad as torch
import glassgrad.distributed as dist

how, victim = sys.argv[1], int(sys.argv[2])
ddp = sys.argv[3:] == ["ddp"]
dist.init_process_group("gloo")
rank = dist.get_rank()
model = torch.nn.Linear(4, 1)
if ddp:
    model = torch.nn.parallel.DistributedDataParallel(model)
for step in range(1000):
    loss = model(torch.ones(8, 4)).sum()
    if step == 3 and rank == victim:  # mid-step: after forward, before backward
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "raise":
            raise ValueError("rank failed on purpose")
        if how == "exit":
            sys.exit(3)
    loss.backward()  # with DDP, the survivors wait in here for the rank that is gone
    if not ddp:
        for p in model.parameters():
            dist.all_reduce(p.grad)  # the survivors wait here for the rank that is gone
print(f"OK rank {rank}", flush=True)
