"""``glassgrad.nn.parallel``: ``DistributedDataParallel`` (on MPI), ``DataParallel``, ``scatter``
and ``gather``."""

from glassgrad.nn.parallel.data_parallel import DataParallel
from glassgrad.nn.parallel.distributed import DistributedDataParallel
from glassgrad.nn.parallel.scatter_gather import gather, scatter

__all__ = ["DataParallel", "DistributedDataParallel", "gather", "scatter"]
