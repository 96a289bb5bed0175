"""A training loop in which one rank fails at step 3: killed, raising, or exiting non-zero."""

import os
import signal
import sys

import glassgrad as torch
import glassgrad.distributed as dist

how, victim = sys.argv[1], int(sys.argv[2])
dist.init_process_group("gloo")
rank = dist.get_rank()
model = torch.nn.Linear(4, 1)
for step in range(1000):
    loss = model(torch.ones(8, 4)).sum()
    loss.backward()
    if step == 3 and rank == victim:
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "raise":
            raise ValueError("rank failed on purpose")
        if how == "exit":
            sys.exit(3)
    for p in model.parameters():
        dist.all_reduce(p.grad)  # the survivors wait here for the rank that is gone
print(f"OK rank {rank}", flush=True)
