"""DistributedDataParallel's reducer: gradients averaged in buckets, each bucket reduced as soon
as all its gradients are ready (from the parameters' post-accumulate-grad hooks), as PyTorch's
C++ Reducer does.

How a bucket travels: when every rank runs on this machine, through an MPI shared-memory window
(``distributed._shared``: each rank writes its row, all sum the rows; about a third of the time
of MPICH's allreduce of the same megabyte on two ranks); otherwise through a nonblocking MPI
allreduce waited for at the end of backward; with a communication hook
(``register_comm_hook``), through whatever the hook does with a ``GradBucket``.
"""

from __future__ import annotations

import numpy as np

DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES
DEFAULT_BUCKET_CAP_MB = 25
USE_SHARED_MEMORY = True  # tests turn it off to run the MPI allreduce path on one machine


class Bucket:
    """Parameters whose gradients travel together in one flat array."""

    __slots__ = ("indices", "offsets", "flat", "row", "shared", "pending", "request", "future",
                 "result", "fresh")  # fmt: skip

    def __init__(self, indices: list[int], params: list, dtype) -> None:
        self.indices = sorted(indices)  # PyTorch lays a bucket out in the model's order
        self.offsets = {}
        offset = 0
        for index in self.indices:
            self.offsets[index] = offset
            offset += params[index].numel()
        self.flat = np.zeros(offset, dtype=dtype)  # what gradient_as_bucket_view's grads view
        self.row = self.flat  # where this rank's (scaled) gradients are written
        self.shared = None  # a SharedSum, where the bucket travels through shared memory
        self.pending = len(indices)
        self.request = self.future = self.result = None
        self.fresh = False  # ``result`` is a new array each iteration: grads may view it

    def view(self, array: np.ndarray, index: int, param) -> np.ndarray:
        """The slice of a flat array of this bucket that holds ``param``'s gradient."""
        start = self.offsets[index]
        return array[start : start + param.numel()].reshape(tuple(param.shape))


def build_buckets(params: list, first_cap: int, cap: int) -> list[Bucket]:
    """PyTorch's bucketing: parameters in reverse order (backward meets the last layers first),
    one dtype per bucket, the first bucket small so communication starts early."""
    buckets: list[Bucket] = []
    open_buckets: dict = {}  # dtype -> (indices, bytes)
    for index in reversed(range(len(params))):
        data = params[index]._data
        indices, size = open_buckets.get(data.dtype, ([], 0))
        indices.append(index)
        size += data.nbytes
        limit = first_cap if not buckets else cap
        if size >= limit:
            buckets.append(Bucket(indices, params, data.dtype))
            indices, size = [], 0
        open_buckets[data.dtype] = (indices, size)
    for dtype, (indices, _) in open_buckets.items():
        if indices:
            buckets.append(Bucket(indices, params, dtype))
    return buckets


class Reducer:
    """Which gradients are ready this iteration, and the buckets in flight."""

    def __init__(self, params: list, pg, comm, first_cap: int, cap: int, as_view: bool) -> None:
        from glassgrad.distributed._shared import SharedSum, fits

        self.params = params
        self.pg = pg  # the process group: its size, and the timeout every wait honours
        self.comm = comm  # a communicator of its own: bucket traffic never meets user calls
        self.world = comm.Get_size()
        self.buckets = build_buckets(params, first_cap, cap)
        self.where = {i: b for b in self.buckets for i in b.indices}
        self.as_view = as_view
        self.comm_hook = None  # (state, hook) once register_comm_hook was called
        self.divide_by = self.world  # Join: the initial world size, whoever has joined
        windows = sum(2 * self.world * bucket.flat.nbytes for bucket in self.buckets)
        if USE_SHARED_MEMORY and self.world > 1 and fits(comm, windows):
            for bucket in self.buckets:
                bucket.shared = SharedSum(pg, comm, bucket.flat.size, bucket.flat.dtype)
        self.expect = False  # a forward that needs a synchronised backward has run
        self.require_finalize = False  # some gradient was marked ready and not yet reduced
        self.ready: set = set()
        self.unused: set | None = None  # None: unused parameters are not being looked for
        self.marked_unused = False
        self.next_bucket = 0

    def prepare_for_backward(self, unused: set | None) -> None:
        self.expect = True
        self.ready = set()
        self.unused = unused
        self.marked_unused = False
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.request = bucket.future = bucket.result = None
            travels_shared = bucket.shared is not None and self.comm_hook is None
            bucket.row = bucket.shared.next_row() if travels_shared else bucket.flat

    def hook(self, index: int) -> None:
        """A parameter's gradient has been accumulated: put it in its bucket."""
        if not self.expect:
            return  # no_sync(), or a backward the forward did not prepare for
        if not self.marked_unused:
            self.marked_unused = True
            for unused in sorted(self.unused or ()):
                self.mark_ready(unused)
        if index in self.ready:
            return  # a second backward through the same graph: PyTorch refuses it; we ignore it
        self.mark_ready(index)

    def mark_ready(self, index: int) -> None:
        self.ready.add(index)
        self.require_finalize = True
        param = self.params[index]
        bucket = self.where[index]
        target = bucket.view(bucket.row, index, param)
        grad = param.grad
        if grad is None:
            target[...] = 0
        elif self.comm_hook is not None:
            np.copyto(target, grad._data, casting="unsafe")  # the hook averages (or not)
        else:
            # PyTorch scales into the bucket (grad / world size), then sums across ranks
            np.multiply(grad._data, 1.0 / self.divide_by, out=target, casting="unsafe")
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready()

    def _launch_ready(self) -> None:
        """Start every ready bucket in index order: all ranks run the same collectives in the
        same order, whatever order their gradients arrived in."""
        while self.next_bucket < len(self.buckets):
            bucket = self.buckets[self.next_bucket]
            if bucket.pending:
                return
            self._launch(bucket, self.next_bucket)
            self.next_bucket += 1
        self.finalize()

    def _launch(self, bucket: Bucket, position: int) -> None:
        if self.comm_hook is not None:
            from glassgrad.distributed._grad_bucket import GradBucket

            state, hook = self.comm_hook
            last = position == len(self.buckets) - 1
            bucket.future = hook(state, GradBucket(position, bucket, self.params, last))
        elif bucket.shared is not None:
            out = bucket.flat if self.as_view else None
            bucket.result = bucket.shared.total(out)
            bucket.fresh = out is None
        else:
            from mpi4py import MPI

            bucket.request = self.comm.Iallreduce(MPI.IN_PLACE, bucket.flat, MPI.SUM)
            bucket.result, bucket.fresh = bucket.flat, False

    def finalize(self) -> None:
        """Wait for every bucket and write the averaged gradients back."""
        from glassgrad.distributed._work import wait_all

        requests = [b.request for b in self.buckets if b.request is not None]
        if requests:
            wait_all(self.pg, requests)
        for bucket in self.buckets:
            if bucket.future is not None:
                bucket.result, bucket.fresh = _hook_result(
                    bucket.future.wait(), bucket, self.params
                )
        unused = self._globally_unused()
        for index, param in enumerate(self.params):
            if index not in unused:
                self._write_back(index, param)
        self.expect = False
        self.require_finalize = False

    def _globally_unused(self) -> set:
        """Parameters no rank used: their gradients stay as they were (PyTorch's rule)."""
        if self.unused is None:
            return set()
        from mpi4py import MPI

        from glassgrad.distributed._work import wait_all

        used = np.ones(len(self.params), dtype=np.int32)
        used[sorted(self.unused)] = 0
        wait_all(self.pg, [self.comm.Iallreduce(MPI.IN_PLACE, used, MPI.MAX)])
        return {int(i) for i in np.flatnonzero(used == 0)}

    def _write_back(self, index: int, param) -> None:
        from glassgrad.tensor import Tensor

        bucket = self.where[index]
        averaged = bucket.view(bucket.result, index, param)
        grad = param.grad
        if self.as_view:
            if bucket.result is not bucket.flat:
                np.copyto(bucket.view(bucket.flat, index, param), averaged)
                averaged = bucket.view(bucket.flat, index, param)
            if grad is None or grad._data is not averaged:
                param.grad = Tensor._from_array(averaged)
            return
        # a new array: the engine may share one gradient array between several leaves
        param.grad = Tensor._from_array(averaged if bucket.fresh else averaged.copy())

    def shadow(self, track_unused: bool) -> None:
        """A joined rank's part in one iteration of the ranks still training: zeros into every
        bucket, through the same collectives in the same order."""
        everything = set(range(len(self.params)))  # this rank used nothing this iteration
        self.prepare_for_backward(everything if track_unused else None)
        for position, bucket in enumerate(self.buckets):
            bucket.row[...] = 0
            if self.comm_hook is not None:
                bucket.flat[...] = 0
            self._launch(bucket, position)
        self.next_bucket = len(self.buckets)
        from glassgrad.distributed._work import wait_all

        requests = [b.request for b in self.buckets if b.request is not None]
        if requests:
            wait_all(self.pg, requests)
        for bucket in self.buckets:
            if bucket.future is not None:
                bucket.future.wait()
        if track_unused:
            self._globally_unused()
        self.expect = False
        self.require_finalize = False

    def missing(self) -> list[int]:
        """The indices of parameters that got no gradient in the unfinished iteration."""
        return [i for i in range(len(self.params)) if i not in self.ready]

    def free(self) -> None:
        for bucket in self.buckets:
            if bucket.shared is not None:
                bucket.shared.free()
                bucket.shared = None


def _hook_result(value, bucket: Bucket, params: list) -> tuple[np.ndarray, bool]:
    """A communication hook's future holds the bucket's averaged gradients as one tensor: its
    data in the bucket's dtype, and whether that is a new array. PyTorch's errors otherwise."""
    from glassgrad.tensor import Tensor

    if not isinstance(value, Tensor):
        raise RuntimeError(f"Unable to cast {value!r} to Tensor")
    data = value._data.reshape(-1)
    for index in bucket.indices:
        param, start = params[index], bucket.offsets[index]
        if start + param.numel() > data.size:
            shape, item = list(param.shape), data.itemsize
            strides = [int(np.prod(shape[i + 1 :])) for i in range(len(shape))]
            raise RuntimeError(
                f"setStorage: sizes {shape}, strides {strides}, storage offset {start}, and "
                f"itemsize {item} requiring a storage size of {(start + param.numel()) * item} "
                f"are out of bounds for storage of size {data.size * item}"
            )
    if data is bucket.flat or np.shares_memory(data, bucket.flat):
        return data, False
    return data.astype(bucket.flat.dtype), True
