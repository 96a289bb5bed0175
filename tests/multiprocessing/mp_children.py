"""Functions the spawned processes of the multiprocessing tests run (importing glassgrad only,
so that each child starts quickly)."""

import os
import signal
import sys

import glassgrad


def write_shared(i, tensor, module, plain, queue):
    """Write into a shared tensor, a shared module and a plain tensor; report what arrived."""
    tensor.add_(i + 1)
    with glassgrad.no_grad():
        module.weight.fill_(7.0)
    plain.fill_(5.0)
    queue.put((tensor.is_shared(), module.weight.is_shared(), plain.is_shared()))
    queue.put(glassgrad.arange(3) * (i + 1))


def fail_in_one(i, value):
    if i == 1:
        raise ValueError(f"boom {value}")


def exit_with(i, code):
    sys.exit(code)


def kill_self(i):
    os.kill(os.getpid(), signal.SIGKILL)


def square(t):
    return t * t
