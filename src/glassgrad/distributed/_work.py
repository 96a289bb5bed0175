"""What collectives share: the ``Work`` handle of ``async_op=True``, tensor <-> MPI buffers, the
reductions, and the cross-rank check that every rank runs the same collective on the same shape.
"""

from __future__ import annotations

import numpy as np

from glassgrad.distributed._group import ProcessGroup, RedOpType, _mpi, _resolve


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` finishes it and writes the results."""

    def __init__(self, requests=(), finish=None, result=None, keep=()) -> None:
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
        """Block until the operation is done and its output tensors hold the results."""
        if not self._done:
            if self._requests:
                with _mpi_errors():
                    _mpi().Request.Waitall(self._requests, self._statuses)
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
        return Future(self)

    def source_rank(self) -> int:
        self.wait()
        return self._source

    def __repr__(self) -> str:
        return f"<glassgrad.distributed.Work done={self._done}>"


class Future:
    """The future of a ``Work``: ``wait()`` and ``value()`` return its output tensors."""

    def __init__(self, work: Work) -> None:
        self._work = work

    def wait(self):
        return self._work.result()

    def value(self):
        return self._work.result()

    def done(self) -> bool:
        return self._work.is_completed()

    def then(self, callback):
        return _Done(callback(self))


class _Done(Future):
    def __init__(self, value) -> None:
        self._value = value

    def wait(self):
        return self._value

    value = wait

    def done(self) -> bool:
        return True


class _mpi_errors:
    """MPI's errors surface as RuntimeError with MPI's own text."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, _mpi().Exception):
            raise RuntimeError(f"MPI error: {exc.Get_error_string()}") from exc
        return False


def run(pg: ProcessGroup, async_op: bool, start, finish=None, result=None):
    """Start a collective (``start(blocking)`` returns its requests) and finish or hand it back."""
    with _mpi_errors():
        requests = start(not async_op)
    work = Work(requests, finish, result)
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
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype == np.float16:
        return array.astype(np.float32)
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
        pg.comm.Allgather(mine, rows)
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
