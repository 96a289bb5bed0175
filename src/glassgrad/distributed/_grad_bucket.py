"""``dist.GradBucket``: what DistributedDataParallel hands a communication hook, one bucket of
gradients as a flat tensor."""

from __future__ import annotations

__all__ = ["GradBucket"]


class GradBucket:
    """One bucket of gradients: a flat ``buffer()`` and the parameters it holds."""

    def __init__(self, index: int, bucket, params: list, last: bool) -> None:
        self._index = index
        self._bucket = bucket  # the reducer's Bucket
        self._params = [params[i] for i in bucket.indices]
        self._last = last
        self._buffer = None  # set_buffer's tensor, where a hook replaced the flat one

    def index(self) -> int:
        """The bucket's position in the order buckets are reduced."""
        return self._index

    def buffer(self):
        """The bucket's gradients as one flat tensor (sharing memory with the bucket)."""
        from glassgrad.creation import from_numpy

        if self._buffer is None:
            self._buffer = from_numpy(self._bucket.flat)
        return self._buffer

    def gradients(self) -> list:
        """One tensor per parameter: the slices of ``buffer()`` that hold its gradient."""
        from glassgrad.creation import from_numpy

        flat = self._bucket.flat
        return [
            from_numpy(self._bucket.view(flat, index, self._bucket_param(index)))
            for index in self._bucket.indices
        ]

    def parameters(self) -> list:
        """The parameters whose gradients the bucket holds, in the buffer's order."""
        return list(self._params)

    def is_last(self) -> bool:
        """Whether this is the last bucket reduced in the iteration (the first layers)."""
        return self._last

    def set_buffer(self, buffer) -> None:
        """Replace the tensor ``buffer()`` returns (a compressed copy, say)."""
        self._buffer = buffer

    def _bucket_param(self, index: int):
        return self._params[self._bucket.indices.index(index)]
