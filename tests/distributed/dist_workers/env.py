"""Prints the variables torchrun gives each rank, and checks them against MPI's view."""

import os
import sys

import glassgrad.distributed as dist

dist.init_process_group(backend="mpi", init_method="env://")
names = ["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR"]
values = {name: os.environ[name] for name in names}
assert int(values["RANK"]) == dist.get_rank() == int(values["LOCAL_RANK"])
assert int(values["WORLD_SIZE"]) == dist.get_world_size() == int(values["LOCAL_WORLD_SIZE"])
assert int(os.environ["MASTER_PORT"]) > 0 and values["GROUP_RANK"] == "0"
assert sys.argv[1:] == ["--lr", "0.1"], sys.argv
assert __name__ == "__main__"
assert dist.get_node_local_rank() == int(values["LOCAL_RANK"])
assert dist.is_torchelastic_launched()  # as under torchrun, which sets TORCHELASTIC_RUN_ID
dist.destroy_process_group()
print(f"OK rank {values['RANK']}", flush=True)
