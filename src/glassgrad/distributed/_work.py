"""What collectives share: the ``Work`` handle of ``async_op=True``, tensor <-> MPI buffers, the
reductions, and the cross-rank check that every rank runs the same collective on the same shape.
"""

from __future__ import annotations

import os
import time

import numpy as np

from glassgrad import futures
from glassgrad.distributed._group import ProcessGroup, RedOpType, _mpi, _resolve


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` finishes it and writes the results."""

    def __init__(self, requests=(), finish=None, result=None, keep=(), pg=None) -> None:
        self._pg = pg  # whose timeout a wait honours
        self._requests = list(requests)
        self._finish = finish
        self._result = result
        self._keep = keep  # buffers MPI still reads or writes
        self._done = False
        self._statuses = None  # filled by MPI for a receive, which reports its sender
        self._source = -1

    def _complete(self) -> None:
        self._done = True
        finish, self._finish, self._keep = self._finish, None, ()
        if finish is not None:
            finish()

    def wait(self, timeout=None) -> bool:
        """Block until the operation is done and its output tensors hold the results; raise
        RuntimeError after ``timeout`` (the group's timeout when None)."""
        if not self._done:
            if self._requests:
                wait_all(self._pg, self._requests, self._statuses, timeout)
            self._complete()
        return True

    def is_completed(self) -> bool:
        """Whether the operation has finished (never blocks)."""
        if not self._done:
            if self._requests and not _mpi().Request.Testall(self._requests, self._statuses):
                return False
            self._complete()
        return True

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self):
        return None

    def result(self) -> list:
        """The output tensors, once done."""
        self.wait()
        return list(self._result or [])

    def get_future(self) -> Future:
        """A future whose value is ``result()``."""
        return _work_future(self)

    def source_rank(self) -> int:
        self.wait()
        return self._source

    def __repr__(self) -> str:
        return f"<glassgrad.distributed.Work done={self._done}>"


class Future(futures.Future):
    """A ``torch.futures.Future`` that MPI completes: ``wait()`` and ``done()`` drive the
    collective, and callbacks chained with ``then`` run as it completes."""

    def __init__(self, drive) -> None:
        super().__init__()
        self._drive = drive  # drive(block): complete this future if (or once) MPI is done
        self._driving = False  # completing runs callbacks that ask done(): no driving then

    def _step(self, block: bool) -> None:
        if self._driving or futures.Future.done(self):
            return
        self._driving = True
        try:
            self._drive(block)
        finally:
            self._driving = False

    def done(self) -> bool:
        self._step(False)
        return futures.Future.done(self)

    def wait(self):
        self._step(True)
        return futures.Future.wait(self)

    def then(self, callback) -> Future:
        """A future of ``callback(self)``; waiting on it waits on this one."""
        chained = Future(lambda block: self.wait() if block else self.done())

        def run(done) -> None:
            try:
                result = callback(done)
            except Exception as error:
                chained.set_exception(futures._callback_error(error))
                return
            chained.set_result(result)

        self.add_done_callback(run)
        return chained


def _work_future(work: Work) -> Future:
    def drive(block: bool) -> None:
        if block:
            work.wait()
        elif not work.is_completed():
            return
        if not futures.Future.done(future):
            future.set_result(list(work._result or []))

    future = Future(drive)
    return future


class _mpi_errors:
    """MPI's errors surface as RuntimeError with MPI's own text."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, _mpi().Exception):
            raise RuntimeError(f"MPI error: {exc.Get_error_string()}") from exc
        return False


_TIMED_OUT = "Timed out waiting {ms}ms for recv operation to complete"
_CLOSED = "Application timeout caused pair closure"


def wait_all(pg, requests, statuses=None, timeout=None) -> None:
    """Wait for MPI ``requests``, at most the group's timeout (Gloo's error text after it).

    MPI's blocking waits cannot give up, so this polls; every few polls it yields the core, as
    MPI's own waits do, so that a rank sharing it with this one can reach the collective.
    """
    MPI = _mpi()
    with _mpi_errors():
        if MPI.Request.Testall(requests, statuses):
            return
        limit = timeout if timeout is not None else (pg.timeout if pg is not None else None)
        seconds = limit.total_seconds() if limit is not None else float("inf")
        deadline = time.monotonic() + seconds
        polls = 0
        while not MPI.Request.Testall(requests, statuses):
            polls += 1
            if polls % 64:
                continue
            if time.monotonic() > deadline:
                if pg is not None:
                    pg.timed_out = True  # MPI cannot cancel a collective: the group is spent
                error = RuntimeError(_TIMED_OUT.format(ms=round(seconds * 1000)))
                error.add_note(
                    "glassgrad: another rank did not reach the same collective within the "
                    "process group's timeout (init_process_group(timeout=...)); it may have "
                    "died, hung, or taken a different path through the program."
                )
                raise error
            os.sched_yield()


def check_usable(pg: ProcessGroup) -> None:
    """After a timeout the group is unusable, as a Gloo group is after its pairs closed."""
    if pg.timed_out:
        raise RuntimeError(_CLOSED)


def run(pg: ProcessGroup, async_op: bool, start, finish=None, result=None):
    """Start a collective (``start()`` returns its MPI requests) and finish or hand it back."""
    with _mpi_errors():
        requests = start()
    work = Work(requests, finish, result, pg=pg)
    if async_op:
        return work
    work.wait()
    return None


def check_tensor(tensor, name: str = "tensor") -> None:
    from glassgrad.tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor\n"
            f"             but got {type(tensor)} instead."
        )


def check_list(tensors, name: str) -> None:
    from glassgrad.tensor import Tensor

    if not isinstance(tensors, list) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type "
            f"List[torch.Tensor]\n             but got {type(tensors)} instead."
        )


def buffer(tensor) -> np.ndarray:
    """A contiguous array MPI may read: the tensor's own when it is one, a copy otherwise."""
    return np.ascontiguousarray(tensor._data)


def store(tensor, array) -> None:
    """Write ``array`` into ``tensor`` in place (an in-place write: the version counter moves)."""
    data = tensor._data
    if array is not data:
        np.copyto(data, np.asarray(array).reshape(data.shape), casting="unsafe")
    if tensor._vc is not None:
        tensor._vc[0] += 1


def raw(array: np.ndarray) -> np.ndarray:
    """The bytes of a contiguous array: any dtype travels as bytes when nothing is reduced."""
    return array.reshape(-1).view(np.uint8)


def mpi_op(op):
    """The MPI operation and the array dtype it reduces in, for ``op`` on ``dtype``."""
    MPI = _mpi()
    table = {
        RedOpType.SUM: MPI.SUM,
        RedOpType.AVG: MPI.SUM,
        RedOpType.PRODUCT: MPI.PROD,
        RedOpType.MIN: MPI.MIN,
        RedOpType.MAX: MPI.MAX,
        RedOpType.BAND: MPI.BAND,
        RedOpType.BOR: MPI.BOR,
        RedOpType.BXOR: MPI.BXOR,
    }
    if op not in table:
        raise ValueError(f"glassgrad.distributed does not support {op} on MPI")
    return table[op]


def reducible(array: np.ndarray, op) -> np.ndarray:
    """The array as MPI reduces it: bool as uint8 (sum = or), half precision as float32."""
    bitwise = (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR)
    if op in bitwise and array.dtype.kind not in "iub":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype == np.float16 or array.dtype.name == "bfloat16":
        return array.astype(np.float32)  # MPI has no half-precision sums
    if op is RedOpType.AVG and array.dtype.kind in "iub":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {_c10(array.dtype)}"
        )
    return array


def reduced(array: np.ndarray, op, size: int, dtype) -> np.ndarray:
    """Undo ``reducible``: average, and back to the tensor's dtype."""
    if op is RedOpType.AVG:
        array = array / size
    if dtype == np.bool_:
        return array != 0
    return array.astype(dtype, copy=False)


def _c10(dtype) -> str:
    names = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte"}
    return names.get(np.dtype(dtype).name, "Bool")


_OPS = [
    "allreduce", "broadcast", "reduce", "allgather", "gather", "scatter",
    "reduce_scatter", "alltoall", "barrier",
]  # fmt: skip
_DTYPES = [np.dtype(t) for t in ("f4", "f8", "f2", "i8", "i4", "i2", "i1", "u1", "?", "c8", "c16")]


def _fingerprint(op: str, tensor, root: int) -> np.ndarray:
    shape = tuple(tensor.shape) if tensor is not None else ()
    dtype = tensor._data.dtype if tensor is not None else np.dtype("f4")
    code = _DTYPES.index(dtype) if dtype in _DTYPES else len(_DTYPES)
    dims = list(shape[:8]) + [-1] * (8 - min(len(shape), 8))
    return np.array([_OPS.index(op), code, len(shape), root, *dims], dtype=np.int64)


def _describe(row: np.ndarray) -> str:
    shape = [int(n) for n in row[4 : 4 + min(int(row[2]), 8)]]
    dtype = _DTYPES[row[1]].name if row[1] < len(_DTYPES) else "other"
    op = _OPS[row[0]].upper()
    return f"CollectiveFingerPrint(OpType={op}, TensorShape={shape}, TensorDtypes={dtype})"


def agree(pg: ProcessGroup, op: str, tensor=None, root: int = -1) -> None:
    """Every rank of ``pg`` must run the same collective on the same shape and dtype.

    MPI given different counts on different ranks truncates, hangs or corrupts memory; one tiny
    allgather first turns that into PyTorch's DETAIL-mode mismatch error on every rank.
    """
    mine = _fingerprint(op, tensor, root)
    rows = np.empty((pg.size(), mine.size), dtype=np.int64)
    with _mpi_errors():
        request = pg.comm.Iallgather(mine, rows)
    wait_all(pg, [request])
    for other, row in enumerate(rows):
        if not np.array_equal(row, rows[0]):
            raise RuntimeError(
                "Detected mismatch between collectives on ranks. "
                f"Rank 0 is running collective: {_describe(rows[0])}, but Rank {other} is "
                f"running collective: {_describe(row)}."
            )


def member(group_arg, op: str):
    """The group, or None (with PyTorch's warning) for a process outside it."""
    pg = _resolve(group_arg)
    if pg.comm is None:
        import warnings

        warnings.warn(
            f"Running {op} on global rank {_mpi().COMM_WORLD.Get_rank()} which does not "
            "belong to the given group.",
            stacklevel=3,
        )
        return None
    check_usable(pg)
    return pg


def root_rank(
    pg: ProcessGroup, global_rank, group_rank, op: str, what: str = "root", check: bool = True
) -> int:
    """The group rank of a root given as a global rank or as ``group_src``/``group_dst``."""
    from glassgrad.distributed._group import _state, get_group_rank

    if global_rank is not None and group_rank is not None:
        raise ValueError(f"Can not specify both {what} and group_{what}")
    if group_rank is None:
        global_rank = 0 if global_rank is None else int(global_rank)
        group_rank = global_rank if pg is _state["default"] else get_group_rank(pg, global_rank)
    if check:
        check_root(pg, group_rank, op)
    return group_rank


def check_root(pg: ProcessGroup, group_rank: int, op: str) -> None:
    """PyTorch's error for a root outside the group."""
    if not 0 <= group_rank < pg.size():
        kind = "Gloo" if pg.backend == "gloo" else "MPI"
        raise RuntimeError(f"ProcessGroup{kind}::{op}: invalid root rank: {group_rank}")
