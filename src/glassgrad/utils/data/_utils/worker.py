"""The DataLoader's worker processes: the loop each runs, what it knows of itself
(``get_worker_info``), how it is seeded, and how its errors reach the main process."""

from __future__ import annotations

import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from glassgrad.utils.data._utils import fetch

_worker_info = None
# Seconds between checks, while idle, that the main process is alive and still wants this
# worker. The main process ends a worker by setting ``done_event`` and sending None; where the
# iterator is freed in a garbage cycle, Python finalises the queues first and the None is lost,
# so the event alone must end the worker, soon.
_POLL = 1.0


@dataclass(frozen=True)
class WorkerInfo:
    """What a DataLoader worker process knows of itself (``get_worker_info()``)."""

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str | None = "multiprocessing"


def get_worker_info() -> WorkerInfo | None:
    """This worker's id, the number of workers, its seed and its copy of the dataset; None in
    the main process."""
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    seed: int | None = None


class KeyErrorMessage(str):
    """A KeyError's message shown as it is (KeyError calls repr on its argument)."""

    __slots__ = ()

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception and its traceback as text, to raise again in another process."""

    def __init__(self, exc_info=None, where="in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the exception again, its message PyTorch's ("Caught ValueError in DataLoader
        worker process 0.\\nOriginal Traceback ...")."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


def _generate_state(base_seed, worker_id):
    """NumPy's global seed for a worker: four 32-bit words hashed from the base seed and the
    worker id (PyTorch's adaptation of NumPy's SeedSequence, so the streams of ``random``,
    NumPy and the library do not collide)."""
    mask = 0xFFFFFFFF
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    const_a = [0x43B0D7E5]

    def hash_(value):
        value = (value ^ const_a[0]) & mask
        const_a[0] = (const_a[0] * 0x931E8875) & mask
        value = (value * const_a[0]) & mask
        return (value ^ (value >> 16)) & mask

    def mix(x, y):
        result = ((0xCA01F9DD * x) & mask) - ((0x4973F715 * y) & mask)
        result &= mask
        return (result ^ (result >> 16)) & mask

    pool = [hash_(value) for value in entropy]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hash_(pool[src]))
    const_b, state = 0x8B51F9DD, []
    for value in pool:
        value = (value ^ const_b) & mask
        const_b = (const_b * 0x58F38DED) & mask
        value = (value * const_b) & mask
        state.append((value ^ (value >> 16)) & mask)
    return state


def _seed_worker(base_seed, worker_id) -> int:
    import glassgrad

    glassgrad.set_num_threads(1)
    seed = base_seed + worker_id
    random.seed(seed)
    glassgrad.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    return seed


def _worker_loop(iterable, dataset, index_queue, data_queue, done_event, options) -> None:
    """A worker: seed, run ``worker_init_fn``, then fetch the batch of each ``(idx, index)``
    task until told to stop (None), the main process is gone, or ``done_event``."""
    global _worker_info
    auto_collation, collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers = options
    where = f"in DataLoader worker process {worker_id}"
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = fetch.create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=where)
        iteration_end = False
        parent = os.getppid()
        while os.getppid() == parent:
            try:
                task = index_queue.get(timeout=_POLL)
            except queue.Empty:
                if done_event.is_set():
                    break  # (the final None may never come: see _POLL)
                continue
            if isinstance(task, _ResumeIteration):  # persistent workers: a new epoch
                data_queue.put((task, None))
                iteration_end = False
                fetcher = fetch.create_fetcher(
                    iterable, dataset, auto_collation, collate_fn, drop_last
                )
                continue
            if task is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = task
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as error:
                    if iterable and isinstance(error, StopIteration):
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=where)
            data_queue.put((idx, data))
            del data, idx, index, task
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
