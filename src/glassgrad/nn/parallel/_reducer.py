"""DistributedDataParallel's reducer: gradients averaged in buckets, each bucket's allreduce
launched from the parameters' post-accumulate-grad hooks as soon as all its gradients are ready,
so communication overlaps the rest of backward, as PyTorch's C++ Reducer does.
"""

from __future__ import annotations

import numpy as np

DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES
DEFAULT_BUCKET_CAP_MB = 25


class Bucket:
    """Parameters whose gradients travel together in one flat array."""

    __slots__ = ("indices", "offsets", "flat", "pending", "request")

    def __init__(self, indices: list[int], params: list, dtype) -> None:
        self.indices = indices
        self.offsets = {}
        offset = 0
        for index in indices:
            self.offsets[index] = offset
            offset += params[index].numel()
        self.flat = np.zeros(offset, dtype=dtype)
        self.pending = len(indices)
        self.request = None

    def view(self, index: int, param) -> np.ndarray:
        """The slice of the flat array that holds ``param``'s gradient, in its shape."""
        start = self.offsets[index]
        return self.flat[start : start + param.numel()].reshape(tuple(param.shape))


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

    def __init__(self, params: list, comm, first_cap: int, cap: int, as_view: bool) -> None:
        self.params = params
        self.comm = comm  # a communicator of its own: bucket traffic never meets user calls
        self.world = comm.Get_size()
        self.buckets = build_buckets(params, first_cap, cap)
        self.where = {i: b for b in self.buckets for i in b.indices}
        self.as_view = as_view
        self.expect = False  # a forward that needs a synchronised backward has run
        self.require_finalize = False  # some gradient was marked ready and not yet reduced
        self.ready: set = set()
        self.unused: set = set()
        self.marked_unused = False
        self.next_bucket = 0

    def prepare_for_backward(self, unused: set) -> None:
        self.expect = True
        self.ready = set()
        self.unused = unused
        self.marked_unused = False
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.request = None

    def hook(self, index: int) -> None:
        """A parameter's gradient has been accumulated: put it in its bucket."""
        if not self.expect:
            return  # no_sync(), or a backward the forward did not prepare for
        if not self.marked_unused:
            self.marked_unused = True
            for unused in sorted(self.unused):
                self.mark_ready(unused)
        if index in self.ready:
            return  # a second backward through the same graph: PyTorch refuses it; we ignore it
        self.mark_ready(index)
        self._progress()

    def mark_ready(self, index: int) -> None:
        self.ready.add(index)
        self.require_finalize = True
        param = self.params[index]
        bucket = self.where[index]
        target = bucket.view(index, param)
        grad = param.grad
        if grad is None:
            target[...] = 0
        else:
            # PyTorch scales into the bucket (grad / world size), then sums across ranks
            np.multiply(grad._data, 1.0 / self.world, out=target, casting="unsafe")
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready()

    def _launch_ready(self) -> None:
        """Start every ready bucket in index order: all ranks post the same collectives in the
        same order, whatever order their gradients arrived in."""
        from mpi4py import MPI

        while self.next_bucket < len(self.buckets):
            bucket = self.buckets[self.next_bucket]
            if bucket.pending:
                return
            bucket.request = self.comm.Iallreduce(MPI.IN_PLACE, bucket.flat, MPI.SUM)
            self.next_bucket += 1
        self.finalize()

    def _progress(self) -> None:
        """Let MPI move buckets in flight while backward computes (MPI has no progress thread)."""
        from mpi4py import MPI

        started = [b.request for b in self.buckets[: self.next_bucket] if b.request is not None]
        if started:
            MPI.Request.Testall(started)

    def finalize(self) -> None:
        """Wait for every bucket and write the averaged gradients back."""
        from mpi4py import MPI

        MPI.Request.Waitall([b.request for b in self.buckets if b.request is not None])
        unused = self._globally_unused()
        for index, param in enumerate(self.params):
            if index not in unused:
                self._write_back(index, param)
        self.expect = False
        self.require_finalize = False

    def _globally_unused(self) -> set:
        """Parameters no rank used: their gradients stay as they were (PyTorch's rule)."""
        if not self.unused:
            return set()
        from mpi4py import MPI

        used = np.ones(len(self.params), dtype=np.int32)
        used[sorted(self.unused)] = 0
        self.comm.Allreduce(MPI.IN_PLACE, used, MPI.MAX)
        return {int(i) for i in np.flatnonzero(used == 0)}

    def _write_back(self, index: int, param) -> None:
        from glassgrad.creation import from_numpy

        averaged = self.where[index].view(index, param)
        grad = param.grad
        if self.as_view:
            if grad is None or grad._data is not averaged:
                param.grad = from_numpy(averaged)
            return
        # a fresh tensor: the engine may share one gradient array between several leaves
        param.grad = from_numpy(averaged.copy())

    def missing(self) -> list[int]:
        """The indices of parameters that got no gradient in the unfinished iteration."""
        return [i for i in range(len(self.params)) if i not in self.ready]
