"""The DataLoader's iterators: in this process, or (``num_workers > 0``) with worker processes
that fetch batches in parallel.

As PyTorch's: each worker has its own index queue and all share one result queue; up to
``prefetch_factor * num_workers`` tasks are out at once, sent round-robin; results come back in
order (``in_order=True``) or as they arrive; a worker's error is raised here with its traceback;
an IterableDataset's workers each run their own copy of it and report when it is exhausted.
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue

from glassgrad.utils.data._utils import MP_STATUS_CHECK_INTERVAL, worker

_exiting = [False]
atexit.register(lambda: _exiting.__setitem__(0, True))


class _BaseDataLoaderIter:
    """What both DataLoader iterators are (PyTorch's names, which some libraries subclass or
    check for)."""

    def __iter__(self):
        return self

    def __next__(self):
        raise NotImplementedError("a DataLoader iterator defines __next__")

    def __getstate__(self):
        raise NotImplementedError("{} cannot be pickled", type(self).__name__)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    """Batches loaded in this process, one at a time as they are asked for."""

    def __init__(self, loader, batches) -> None:
        self._length = loader._length()
        self._batches = batches

    def __next__(self):
        return next(self._batches)

    def __len__(self) -> int:
        return self._length()


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader, base_seed, index_sampler) -> None:
        import glassgrad.multiprocessing as gmp

        context = loader.multiprocessing_context or gmp
        # (no reference to the loader: it holds a persistent iterator, and in a cycle the queues'
        # own finalizers would close them before this iterator could tell its workers to stop)
        self._length = loader._length()
        self._iterable = loader._iterable
        self._index_sampler = index_sampler
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        self._timeout = loader.timeout
        self._persistent_workers = loader.persistent_workers
        self._shutdown = False
        self._owner = os.getpid()  # (a forked worker holds a copy of this object: not its own)
        self._result_queue = context.Queue()
        self._done_event = context.Event()
        self._index_queues, self._workers = [], []
        for worker_id in range(self._num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()
            options = (
                loader._auto_collation,
                loader.collate_fn,
                loader.drop_last,
                base_seed,
                loader.worker_init_fn,
                worker_id,
                self._num_workers,
            )
            process = context.Process(
                target=worker._worker_loop,
                args=(self._iterable, loader.dataset, index_queue, self._result_queue)
                + (self._done_event, options),
                daemon=True,
            )
            process.start()
            self._index_queues.append(index_queue)
            self._workers.append(process)
        self._reset(first_iter=True)

    def __len__(self) -> int:
        return self._length()

    def _reset(self, index_sampler=None, first_iter=False) -> None:
        if index_sampler is not None:
            self._index_sampler = index_sampler
        self._sampler_iter = iter(self._index_sampler)
        self._send_idx = self._rcvd_idx = self._tasks_outstanding = 0
        self._task_info = {}
        self._workers_status = [True] * self._num_workers
        self._workers_num_tasks = [0] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:  # persistent workers: start their next epoch and wait for them
            for index_queue in self._index_queues:
                index_queue.put(worker._ResumeIteration(None))
            waiting = self._num_workers
            while waiting > 0:
                idx, _ = self._get_data()
                if isinstance(idx, worker._ResumeIteration):
                    waiting -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_get_data(self, timeout=MP_STATUS_CHECK_INTERVAL):
        try:
            return True, self._result_queue.get(timeout=timeout)
        except Exception as error:
            failed = []
            for worker_id, process in enumerate(self._workers):
                if self._workers_status[worker_id] and not process.is_alive():
                    failed.append(process)
                    self._mark_worker_as_unavailable(worker_id)
            if failed:
                pids = ", ".join(str(process.pid) for process in failed)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly") from (
                    error
                )
            if isinstance(error, queue.Empty):
                return False, None
            raise

    def _get_data(self):
        if self._timeout > 0:
            success, data = self._try_get_data(self._timeout)
            if success:
                return data
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        while True:
            success, data = self._try_get_data()
            if success:
                return data

    def __next__(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break  # data is here, or its worker is still active
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                worker_id, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, worker._IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                if not self._in_order:
                    return self._process_data(data, self._task_info.pop(idx)[0])
                self._task_info[idx] += (data,)
            else:
                worker_id = self._task_info.pop(idx)[0]
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

    def _try_put_index(self) -> None:
        max_tasks = self._prefetch_factor * self._num_workers
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next active worker, if any
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                if self._in_order:
                    break
                if self._workers_num_tasks[worker_id] < max_tasks // sum(self._workers_status):
                    break
        else:
            return
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._workers_num_tasks[worker_id] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _process_data(self, data, worker_id):
        self._workers_num_tasks[worker_id] -= 1
        self._try_put_index()
        if isinstance(data, worker.ExceptionWrapper):
            data.reraise()
        return data

    def _mark_worker_as_unavailable(self, worker_id, shutdown=False) -> None:
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    def _shutdown_workers(self) -> None:
        if self._shutdown or _exiting[0] or os.getpid() != self._owner:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for worker_id in range(len(self._workers)):
                if self._persistent_workers or self._workers_status[worker_id]:
                    self._mark_worker_as_unavailable(worker_id, shutdown=True)
            for process in self._workers:
                process.join(timeout=MP_STATUS_CHECK_INTERVAL)
            for index_queue in self._index_queues:
                index_queue.cancel_join_thread()
                index_queue.close()
        finally:
            for process in self._workers:
                if process.is_alive():
                    process.terminate()
                    process.join(timeout=MP_STATUS_CHECK_INTERVAL)

    def __del__(self) -> None:
        if hasattr(self, "_workers"):
            self._shutdown_workers()
