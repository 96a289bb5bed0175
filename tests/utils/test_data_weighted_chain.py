"""WeightedRandomSampler, ChainDataset and RandomSampler's draws with replacement, against
PyTorch 2.13."""

import itertools
from collections import Counter

import pytest
import torch
import torch.utils.data as tdata

import glassgrad
from glassgrad.utils import data as gdata

LIBS = [(glassgrad, gdata), (torch, tdata)]


@pytest.mark.parametrize(
    "args",
    [
        ([1.0, 2.0], 0),
        ([1.0, 2.0], True),
        ([1.0, 2.0], 2.5),
        ([[1.0, 2.0]], 3),
        ([1.0, 2.0], 3, "yes"),
    ],
)
def test_weighted_sampler_errors_match_pytorch(args):
    errors = []
    for _, data in LIBS:
        with pytest.raises(Exception) as info:
            data.WeightedRandomSampler(*args)
        errors.append((info.type, str(info.value)))
    assert errors[0] == errors[1]


def test_weighted_sampler_follows_the_weights():
    for lib, data in LIBS:
        sampler = data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=lib.Generator())
        assert len(sampler) == 4000 and sampler.weights.dtype == lib.float64
        counts = Counter(sampler)
        assert set(counts) == {1, 2}  # a weight of zero is never drawn
        assert 0.70 < counts[2] / 4000 < 0.80
        unique = list(data.WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False))
        assert sorted(unique) == [0, 1, 2, 3]


def test_weighted_sampler_is_reproducible_and_feeds_a_loader():
    def draw():
        sampler = gdata.WeightedRandomSampler(
            [0.1, 0.9, 0.5], 7, generator=glassgrad.Generator().manual_seed(4)
        )
        return list(sampler)

    assert draw() == draw()
    loader = gdata.DataLoader(list(range(3)), sampler=gdata.WeightedRandomSampler([0, 0, 1], 5))
    assert [b.tolist() for b in loader] == [[2]] * 5


def _streams(data):
    class Stream(data.IterableDataset):
        def __init__(self, items):
            self.items = items

        def __iter__(self):
            return iter(self.items)

        def __len__(self):
            return len(self.items)

    return Stream([1, 2]), Stream([3])


def test_chain_dataset_as_pytorch():
    results = []
    for _, data in LIBS:
        first, second = _streams(data)
        chained = data.ChainDataset([first, second])
        added = first + second
        results.append((list(chained), len(chained), type(added).__name__, list(added)))
        assert isinstance(chained, data.IterableDataset)
        batches = [b.tolist() for b in data.DataLoader(chained, batch_size=2)]
        results[-1] += (batches,)
        with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
            len(data.ChainDataset([first, [4]]))
    assert results[0] == results[1]


def test_random_sampler_with_replacement_draws_lazily():
    for _, data in LIBS:
        sampler = data.RandomSampler(range(5), replacement=True, num_samples=10**10)
        assert len(sampler) == 10**10
        head = list(itertools.islice(iter(sampler), 70))  # (all at once would need 74.5 GiB)
        assert len(head) == 70 and set(head) <= set(range(5))
    for n in (31, 32, 33, 65):
        drawn = list(gdata.RandomSampler(range(3), replacement=True, num_samples=n))
        assert len(drawn) == n
