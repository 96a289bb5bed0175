"""DistributedSampler gives PyTorch's indices: the same split, padding and shuffle for the same
seed and epoch."""

import pytest
import torch
import torch.utils.data.distributed as torch_distributed

import glassgrad
from glassgrad.utils.data.distributed import DistributedSampler


@pytest.mark.parametrize("size", [0, 1, 7, 10, 64, 1001])
@pytest.mark.parametrize("replicas", [1, 2, 3, 8])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [False, True])
def test_same_indices_as_pytorch(size, replicas, shuffle, drop_last):
    data = list(range(size))
    for seed in (0, 1, 1234):
        for epoch in (0, 1, 5):
            for rank in range(replicas):
                if drop_last is False and size == 0:
                    continue  # PyTorch pads an empty list by repeating nothing
                kwargs = dict(num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed)
                ours = DistributedSampler(data, drop_last=drop_last, **kwargs)
                theirs = torch_distributed.DistributedSampler(data, drop_last=drop_last, **kwargs)
                ours.set_epoch(epoch)
                theirs.set_epoch(epoch)
                assert list(ours) == list(theirs)
                assert len(ours) == len(theirs)


def test_large_dataset_shuffle_matches_pytorch():
    data = range(50_000)
    ours = DistributedSampler(data, num_replicas=4, rank=3, seed=2**40 + 7)
    theirs = torch_distributed.DistributedSampler(data, num_replicas=4, rank=3, seed=2**40 + 7)
    ours.set_epoch(3)
    theirs.set_epoch(3)
    assert list(ours) == list(theirs)


def _error(make):
    try:
        make()
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize(
    "kwargs",
    [dict(num_replicas=2, rank=2), dict(num_replicas=2, rank=-1), dict(num_replicas=3)],
)
def test_errors_match_pytorch(kwargs):
    ours = _error(lambda: DistributedSampler(list(range(4)), **kwargs))
    theirs = _error(lambda: torch_distributed.DistributedSampler(list(range(4)), **kwargs))
    assert ours == theirs and ours is not None


def test_with_a_dataloader():
    data = glassgrad.utils.data.TensorDataset(glassgrad.arange(10.0))
    sampler = glassgrad.utils.data.distributed.DistributedSampler(data, num_replicas=2, rank=1)
    loader = glassgrad.utils.data.DataLoader(data, batch_size=2, sampler=sampler)
    got = [batch[0].tolist() for batch in loader]
    tdata = torch.utils.data.TensorDataset(torch.arange(10.0))
    tsampler = torch_distributed.DistributedSampler(tdata, num_replicas=2, rank=1)
    tloader = torch.utils.data.DataLoader(tdata, batch_size=2, sampler=tsampler)
    assert got == [batch[0].tolist() for batch in tloader]
