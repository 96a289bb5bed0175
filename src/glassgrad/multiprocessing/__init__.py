"""``torch.multiprocessing``: Python's ``multiprocessing`` with tensors that cross processes.

Everything of ``multiprocessing`` is here under its own name (``Process``, ``Queue``, ``Pool``,
``get_context``...). What this module adds: tensors sent through its queues, pipes and process
arguments arrive as tensors, and those in shared memory (``Tensor.share_memory_()``) arrive as
views of the same memory; ``spawn`` runs a function in several processes and raises the first
failure with the child's traceback, as PyTorch's does.
"""

import multiprocessing
import sys
from multiprocessing import *  # noqa: F403 - PyTorch re-exports the whole module

from glassgrad import _shared_memory
from glassgrad.multiprocessing.reductions import init_reductions
from glassgrad.multiprocessing.spawn import (
    ENV_VAR_PARALLEL_START,
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies"]
__all__ += multiprocessing.__all__
__all__ += ["ENV_VAR_PARALLEL_START", "ProcessContext", "ProcessException", "init_reductions"]
__all__ += ["ProcessExitedException", "ProcessRaisedException", "SpawnContext", "spawn"]
__all__ += ["start_processes"]

if sys.platform in ("darwin", "win32"):
    _all_sharing_strategies = {"file_system"}
else:
    _all_sharing_strategies = {"file_descriptor", "file_system"}
_shared_memory.strategy[0] = (
    "file_descriptor" if "file_descriptor" in _all_sharing_strategies else "file_system"
)


def set_sharing_strategy(new_strategy) -> None:
    """Share CPU tensors by ``"file_descriptor"`` (an open descriptor passed along) or
    ``"file_system"`` (a named file in ``/dev/shm``)."""
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(
            f"invalid sharing strategy {new_strategy!r}, expected one of {_all_sharing_strategies}"
        )
    _shared_memory.strategy[0] = new_strategy


def get_sharing_strategy() -> str:
    """The strategy new shared memory is made with."""
    return _shared_memory.strategy[0]


def get_all_sharing_strategies() -> set:
    """The strategies this system supports."""
    return _all_sharing_strategies


init_reductions()
