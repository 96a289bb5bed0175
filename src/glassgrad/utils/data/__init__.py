"""``glassgrad.utils.data``: datasets, samplers and the ``DataLoader``."""

from glassgrad.utils.data import distributed  # noqa: F401 - torch.utils.data.distributed
from glassgrad.utils.data._utils.worker import get_worker_info
from glassgrad.utils.data.dataloader import DataLoader, default_collate, default_convert
from glassgrad.utils.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from glassgrad.utils.data.distributed import DistributedSampler
from glassgrad.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "WeightedRandomSampler",
    "default_convert",
    "get_worker_info",
    "random_split",
]
