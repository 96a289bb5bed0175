"""Point to point (``send``, ``recv``, ``isend``, ``irecv``) and the object collectives
(``broadcast_object_list``, ``all_gather_object``, ``gather_object``, ``scatter_object_list``)."""

from __future__ import annotations

import numpy as np

from glassgrad.distributed import _work as w
from glassgrad.distributed._group import (
    DEFAULT_TIMEOUT,
    _mpi,
    _resolve,
    _state,
    get_group_rank,
)

__all__ = [
    "P2POp",
    "all_gather_object",
    "batch_isend_irecv",
    "broadcast_object_list",
    "gather_object",
    "irecv",
    "isend",
    "monitored_barrier",
    "recv",
    "scatter_object_list",
    "send",
]


def _peer(pg, global_rank, group_rank, what: str) -> int:
    """The group rank of a peer; talking to oneself is PyTorch's error."""
    if global_rank is not None and group_rank is not None:
        raise ValueError(f"Can not specify both {what} and group_{what}")
    if group_rank is None:
        if global_rank is None:
            raise ValueError(f"Must specify either {what} or group_{what}")
        global_rank = int(global_rank)
        group_rank = global_rank if pg is _state["default"] else get_group_rank(pg, global_rank)
    if group_rank == pg.rank():
        name = "destination" if what == "dst" else "source"
        raise ValueError(
            f"Invalid {name} rank: {name} rank should not be the same as the rank of the "
            "current process."
        )
    if not 0 <= group_rank < pg.size():
        raise ValueError(
            f"Invalid {'destination' if what == 'dst' else 'source'} rank: {group_rank} is not "
            f"a rank of a group of {pg.size()} processes"
        )
    return group_rank


def isend(tensor, dst=None, group=None, tag: int = 0, group_dst=None):
    """Start sending ``tensor`` to rank ``dst``; returns a ``Work``."""
    w.check_tensor(tensor)
    pg = w.member(group, "isend")
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "dst")
    data = w.buffer(tensor).copy()  # the sender may change the tensor before the send completes
    with w._mpi_errors():
        request = pg.comm.Isend(w.raw(data), peer, tag)
    return w.Work([request], keep=(data,), pg=pg)


def send(tensor, dst=None, group=None, tag: int = 0, group_dst=None) -> None:
    """Send ``tensor`` to rank ``dst`` (returns when the buffer may be reused)."""
    w.check_tensor(tensor)
    pg = w.member(group, "send")
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "dst")
    with w._mpi_errors():
        request = pg.comm.Isend(w.raw(w.buffer(tensor)), peer, tag)
    w.wait_all(pg, [request])
    return None


def _receive(tensor, src, group, tag, group_src, op):
    w.check_tensor(tensor)
    pg = w.member(group, op)
    if pg is None:
        return None, None
    MPI = _mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else None
    if peer is None:
        peer = _peer(pg, src, group_src, "src")
    data = np.empty_like(w.buffer(tensor))
    work = w.Work(keep=(data,), pg=pg)
    work._statuses = [MPI.Status()]

    def finish():
        w.store(tensor, data)
        work._source = pg.ranks[work._statuses[0].Get_source()]

    with w._mpi_errors():
        work._requests = [pg.comm.Irecv(w.raw(data), peer, tag)]
    work._finish = finish
    if op == "recv":
        work.wait()
        return work._source, None
    return None, work


def recv(tensor, src=None, group=None, tag: int = 0, group_src=None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender."""
    source, _ = _receive(tensor, src, group, tag, group_src, "recv")
    return source if source is not None else -1


def irecv(tensor, src=None, group=None, tag: int = 0, group_src=None):
    """Start receiving into ``tensor`` from rank ``src``; returns a ``Work``."""
    return _receive(tensor, src, group, tag, group_src, "irecv")[1]


def _arrived(pg) -> None:
    """Every rank has reached this call, within the group's timeout: mpi4py's pickled
    collectives block in MPI, where no timeout can reach them."""
    with w._mpi_errors():
        request = pg.comm.Ibarrier()
    w.wait_all(pg, [request])


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace ``object_list``'s items on every rank with rank ``src``'s (pickled)."""
    pg = w.member(group, "broadcast_object_list")
    if pg is None:
        return None
    _arrived(pg)
    root = w.root_rank(pg, src, group_src, "broadcast", "src")
    with w._mpi_errors():
        items = pg.comm.bcast(list(object_list) if pg.rank() == root else None, root)
    object_list[:] = items
    return None


def all_gather_object(object_list, obj, group=None) -> None:
    """Every rank's ``obj`` into ``object_list`` (one entry per rank)."""
    pg = w.member(group, "all_gather_object")
    if pg is None:
        return None
    _arrived(pg)
    with w._mpi_errors():
        items = pg.comm.allgather(obj)
    object_list[: len(items)] = items
    return None


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """Every rank's ``obj`` into ``object_gather_list`` on rank ``dst``."""
    pg = w.member(group, "gather_object")
    if pg is None:
        return None
    _arrived(pg)
    root = w.root_rank(pg, dst, group_dst, "gather", "dst")
    with w._mpi_errors():
        items = pg.comm.gather(obj, root)
    if pg.rank() == root:
        object_gather_list[: len(items)] = items
    return None


def scatter_object_list(
    scatter_object_output_list, scatter_object_input_list=None, src=None, group=None, group_src=None
):
    """Rank ``src``'s ``scatter_object_input_list[i]`` into rank i's output list's first item."""
    pg = w.member(group, "scatter_object_list")
    if pg is None:
        return None
    _arrived(pg)
    root = w.root_rank(pg, src, group_src, "scatter", "src")
    with w._mpi_errors():
        item = pg.comm.scatter(scatter_object_input_list if pg.rank() == root else None, root)
    scatter_object_output_list[0] = item
    return None


class P2POp:
    """One point-to-point operation (``isend`` or ``irecv``) for ``batch_isend_irecv``."""

    def __init__(self, op, tensor, peer=None, group=None, tag: int = 0, group_peer=None) -> None:
        if op not in (isend, irecv):
            raise ValueError(
                "Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                "``torch.distributed.irecv``."
            )
        self.op = op
        self.tensor = tensor
        self.group = _resolve(group)
        what = "dst" if op is isend else "src"
        self.group_peer = _peer(self.group, peer, group_peer, what)
        self.peer = self.group.ranks[self.group_peer]
        self.tag = tag

    def __repr__(self) -> str:
        return (
            f"P2POp({self.op.__name__} peer={self.peer}, {tuple(self.tensor.shape)}, "
            f"{self.tensor.dtype})"
        )


def batch_isend_irecv(p2p_op_list) -> list:
    """Start every send and receive of ``p2p_op_list`` (all on one group); their ``Work``s."""
    if not isinstance(p2p_op_list, list) or not all(isinstance(op, P2POp) for op in p2p_op_list):
        raise ValueError(
            "Invalid ``p2p_op_list``. Each op is expected to to be of type "
            "``torch.distributed.P2POp``."
        )  # (PyTorch's text, its doubled "to" included)
    group = p2p_op_list[0].group
    if not all(op.group is group for op in p2p_op_list):
        raise ValueError("All ops need to use the same group.")
    works = []
    for op in p2p_op_list:
        key = "group_dst" if op.op is isend else "group_src"
        work = op.op(op.tensor, group=op.group, tag=op.tag, **{key: op.group_peer})
        if work is not None:
            works.append(work)
    return works


_MONITOR_TAG = 32000  # reserved for monitored_barrier's tokens (MPI guarantees tags to 32767)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """A barrier that names the ranks that did not reach it within ``timeout``: rank 0 waits
    for a token from every other rank, then answers each."""
    pg = w.member(group, "monitored_barrier")
    if pg is None:
        return None
    # PyTorch waits 30 minutes (its default timeout) by default, whatever the group's timeout
    limit = DEFAULT_TIMEOUT if timeout is None else timeout
    rank, size = pg.rank(), pg.size()
    token = np.zeros(1, np.uint8)
    if rank != 0:
        with w._mpi_errors():
            requests = [pg.comm.Isend(token, 0, _MONITOR_TAG)]
            requests.append(pg.comm.Irecv(np.zeros(1, np.uint8), 0, _MONITOR_TAG))
        try:
            w.wait_all(pg, requests, timeout=limit)
        except RuntimeError as error:
            raise RuntimeError(
                f"Rank {rank} successfully reached monitoredBarrier, but received errors while "
                "waiting for send/recv from rank 0. Please check rank 0 logs for faulty rank.\n"
                f" Original exception: \n{error}"
            ) from None
        return None
    tokens = {peer: np.zeros(1, np.uint8) for peer in range(1, size)}
    with w._mpi_errors():
        waiting = {peer: pg.comm.Irecv(tokens[peer], peer, _MONITOR_TAG) for peer in tokens}
    try:
        w.wait_all(pg, list(waiting.values()), timeout=limit)
    except RuntimeError as error:
        missing = [peer for peer, request in waiting.items() if not request.Test()]
        for peer in missing:
            waiting[peer].Cancel()
        shown = missing if wait_all_ranks else missing[:1]
        ranks = ", ".join(str(peer) for peer in shown)
        who = f"Ranks {ranks}" if wait_all_ranks else f"Rank {ranks}"
        ms = round(limit.total_seconds() * 1000)
        raise RuntimeError(
            f"[Rank 0]: {who} failed to pass monitoredBarrier in {ms} ms\n"
            f" Original exception: \n{error}"
        ) from None
    with w._mpi_errors():
        answers = [pg.comm.Isend(token, peer, _MONITOR_TAG) for peer in tokens]
    w.wait_all(pg, answers, timeout=limit)
    return None
