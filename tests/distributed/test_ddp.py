"""DistributedDataParallel and SyncBatchNorm on 2 processes (through the launcher) against one
process on the whole batch; the unused-parameter error against PyTorch's; DataParallel on CPU."""

import os
import socket
import subprocess
import sys

import pytest
import torch
from dist_helpers import assert_ok, launch

import glassgrad

CASES = [
    "equivalence",
    "no_sync",
    "unused_error",
    "find_unused",
    "static_graph",
    "bucket_view",
    "buffers",
    "sync_batchnorm",
    "mpi_path",
    "find_unused_one_rank",
    "comm_hooks",
    "join",
    "join_throw",
]


@pytest.mark.parametrize("case", CASES)
def test_ddp_on_two_ranks(case):
    proc = launch("ddp.py", case)
    assert_ok(proc)
    if case == "unused_error":
        for rank in (0, 1):
            assert f"NOTE rank {rank}" in proc.stdout


UNUSED = """
import os
import {module} as torch
import {module}.distributed as dist
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="{port}")
dist.init_process_group("gloo", rank=0, world_size=1)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = (torch.nn.Linear(3, 3) for _ in range(3))
    def forward(self, x):
        return self.a(x) + self.c(x)
model = torch.nn.parallel.DistributedDataParallel(M())
model(torch.ones(2, 3)).sum().backward()
try:
    model(torch.ones(2, 3))
except RuntimeError as exc:
    print(repr(str(exc)))
try:
    torch.nn.parallel.DistributedDataParallel(torch.nn.ReLU())
except RuntimeError as exc:
    print(repr(str(exc)))
print("OK rank 0")
"""


def test_unused_parameter_error_text_is_pytorchs(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    theirs = subprocess.run(
        [sys.executable, "-c", UNUSED.format(module="torch", port=port)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert theirs.returncode == 0, theirs.stderr
    script = tmp_path / "unused.py"
    script.write_text(UNUSED.format(module="glassgrad", port=0))
    ours = launch(script, nproc=1)
    assert_ok(ours, nproc=1)
    assert "Parameter indices which did not receive grad for rank 0: 2 3" in theirs.stdout
    assert ours.stdout == theirs.stdout


def test_ddp_needs_a_process_group():
    with pytest.raises(ValueError) as ours:
        glassgrad.nn.parallel.DistributedDataParallel(glassgrad.nn.Linear(2, 2))
    with pytest.raises(ValueError) as theirs:
        torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2))
    assert str(ours.value) == str(theirs.value)


def test_data_parallel_on_cpu_runs_the_module():
    glassgrad.manual_seed(0)
    inner = glassgrad.nn.Linear(2, 3)
    ours = glassgrad.nn.DataParallel(inner, device_ids=[0])
    theirs = torch.nn.DataParallel(torch.nn.Linear(2, 3), device_ids=[0])
    assert repr(ours).replace("glassgrad", "torch") == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.device_ids == theirs.device_ids == []
    x = glassgrad.ones(4, 2)
    assert glassgrad.equal(ours(x), inner(x))


HOOKS = """
import os
import {module} as torch
import {module}.distributed as dist
from {module}.distributed.algorithms.ddp_comm_hooks import default_hooks
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="{port}")
dist.init_process_group("gloo", rank=0, world_size=1)

def model(hook=None):
    torch.manual_seed(0)
    ddp = torch.nn.parallel.DistributedDataParallel(
        torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 2))
    )
    if hook is not None:
        ddp.register_comm_hook(None, hook)
    return ddp

def attempt(thunk):
    try:
        thunk()
        print("ok")
    except Exception as exc:
        print(type(exc).__name__, repr(str(exc)))

def describe(state, bucket):
    print("bucket", bucket.index(), bucket.is_last(), tuple(bucket.buffer().shape),
          [tuple(p.shape) for p in bucket.parameters()],
          [tuple(g.shape) for g in bucket.gradients()])
    future = torch.futures.Future()
    future.set_result(bucket.buffer())
    return future

def returns(value):
    def hook(state, bucket):
        future = torch.futures.Future()
        future.set_result(value)
        return future
    return hook

def step(ddp):
    ddp(torch.ones(2, 3)).sum().backward()
    print([[round(float(v), 4) for v in p.grad.reshape(-1)] for p in ddp.parameters()])

step(model(describe))
step(model(default_hooks.allreduce_hook))
step(model(default_hooks.fp16_compress_hook))
step(model(default_hooks.fp16_compress_wrapper(default_hooks.allreduce_hook)))
print(default_hooks.fp16_compress_wrapper(default_hooks.allreduce_hook).__name__)
hooked = model(default_hooks.allreduce_hook)
attempt(lambda: hooked.register_comm_hook(None, default_hooks.allreduce_hook))
attempt(lambda: model().register_comm_hook(None, 5))
attempt(lambda: step(model(returns(3))))
attempt(lambda: step(model(returns(torch.ones(5)))))
print("OK rank 0")
"""


def test_comm_hooks_as_pytorchs(tmp_path):
    """The GradBucket a hook sees, the default hooks' results and the hook errors, against
    PyTorch on one process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    theirs = subprocess.run(
        [sys.executable, "-c", HOOKS.format(module="torch", port=port)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert theirs.returncode == 0, theirs.stderr
    script = tmp_path / "hooks.py"
    script.write_text(HOOKS.format(module="glassgrad", port=0))
    ours = launch(script, nproc=1)
    assert_ok(ours, nproc=1)
    assert "Unable to cast 3 to Tensor" in theirs.stdout
    assert ours.stdout == theirs.stdout
