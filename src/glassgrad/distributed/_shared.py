"""A sum across the ranks of one machine through an MPI shared-memory window.

DistributedDataParallel averages about a megabyte of gradients per step for W2's MLP; MPICH's
allreduce moves it through its own queues (copy in, copy out, reduce) and took about three
times as long as this on two ranks: each rank writes its gradients into its own row of a
window that every rank maps (``MPI_Win_allocate_shared``), all meet at a barrier, and each sums
the rows itself in rank order, so every rank gets the same bits. Two sets of rows alternate
between iterations, so a rank may write the next iteration's row while another still reads this
one: the barrier of the next iteration is what separates a read from the write after it.
"""

from __future__ import annotations

import os

import numpy as np

from glassgrad.distributed._group import _mpi


def fits(comm, nbytes: int) -> bool:
    """Whether every rank of ``comm`` runs on this machine and its shared memory has room for
    ``nbytes`` twice over (containers often mount a small /dev/shm, and a window larger than
    it ends in SIGBUS, not an error); the same answer on every rank."""
    MPI = _mpi()
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        together = local.Get_size() == comm.Get_size()
    finally:
        local.Free()
    try:
        stat = os.statvfs("/dev/shm")
        room = stat.f_bavail * stat.f_frsize >= 2 * nbytes
    except OSError:
        room = False
    answer = np.array([int(together and room)], dtype=np.int32)
    comm.Allreduce(MPI.IN_PLACE, answer, MPI.MIN)
    return bool(answer[0])


class SharedSum:
    """Rows of ``count`` elements, one per rank and two per iteration, that every rank reads."""

    def __init__(self, pg, comm, count: int, dtype) -> None:
        MPI = _mpi()
        self.pg = pg  # whose timeout the barrier honours
        self.comm = comm
        self.rank, self.world = comm.Get_rank(), comm.Get_size()
        itemsize = np.dtype(dtype).itemsize
        size = 2 * self.world * count * itemsize if self.rank == 0 else 0
        self.window = MPI.Win.Allocate_shared(size, itemsize, comm=comm)
        memory, _ = self.window.Shared_query(0)
        rows = np.frombuffer(memory, dtype=dtype, count=2 * self.world * count)
        self.rows = rows.reshape(2, self.world, count)
        self.window.Lock_all()  # one passive epoch for good: Sync orders stores around barriers
        self.parity = 0
        pg.on_destroy.append(self.free)

    def next_row(self) -> np.ndarray:
        """This rank's row for the coming iteration (the other set of rows than the last)."""
        self.parity ^= 1
        return self.rows[self.parity, self.rank]

    def total(self, out: np.ndarray | None = None) -> np.ndarray:
        """Once every rank has written its row: their sum, in rank order."""
        from glassgrad.distributed._work import wait_all

        self.window.Sync()
        wait_all(self.pg, [self.comm.Ibarrier()])
        self.window.Sync()
        rows = self.rows[self.parity]
        result = np.add(rows[0], rows[1], out=out)
        for row in rows[2:]:
            np.add(result, row, out=result)
        return result

    def free(self) -> None:
        """Give the window back (collective: every rank of the group at once)."""
        if self.rows is not None:
            self.rows = None
            self.window.Unlock_all()
            self.window.Free()
