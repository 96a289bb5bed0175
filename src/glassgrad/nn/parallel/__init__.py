"""``glassgrad.nn.parallel``: ``DistributedDataParallel`` (on MPI) and ``DataParallel``."""

from glassgrad.nn.parallel.data_parallel import DataParallel
from glassgrad.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
