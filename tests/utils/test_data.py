"""utils.data against PyTorch 2.13: collate structure, batching, samplers, splits, seeding."""

from collections import Counter, namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import glassgrad
from glassgrad.utils import data as gdata

Point = namedtuple("Point", "x y")


def _plain(obj):
    """A library-neutral picture of a collated batch: types, dtypes, shapes and values."""
    if isinstance(obj, (torch.Tensor, glassgrad.Tensor)):
        return ("tensor", str(obj.dtype).split(".")[-1], tuple(obj.shape), obj.tolist())
    if isinstance(obj, dict):
        return ("dict", type(obj).__name__, {k: _plain(v) for k, v in obj.items()})
    if isinstance(obj, tuple):
        return (type(obj).__name__, [_plain(v) for v in obj])
    if isinstance(obj, list):
        return ("list", [_plain(v) for v in obj])
    return (type(obj).__name__, obj)


def _samples(lib):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(4)]
    return {
        "tensors": [lib.tensor(a) for a in arrays],
        "ints": [1, 2, 3, 4],
        "floats": [0.5, 1.5, 2.5, 3.5],
        "bools": [True, False, True, True],
        "numpy": arrays,
        "numpy_int_scalars": [np.int32(i) for i in range(4)],
        "numpy_float_scalars": [np.float64(i) / 3 for i in range(4)],
        "strings": ["a", "b", "c", "d"],
        "tuples": [(lib.tensor(a), i, "s") for i, a in enumerate(arrays)],
        "lists": [[lib.tensor(a), float(i)] for i, a in enumerate(arrays)],
        "dicts": [{"image": lib.tensor(a), "label": i} for i, a in enumerate(arrays)],
        "nested": [{"pair": (i, [lib.tensor(a)]), "name": str(i)} for i, a in enumerate(arrays)],
        "namedtuples": [Point(lib.tensor(a), i) for i, a in enumerate(arrays)],
        "int_tensors": [lib.tensor([i, i + 1]) for i in range(4)],
    }


@pytest.mark.parametrize("kind", sorted(_samples(glassgrad)))
def test_default_collate_matches_torch(kind):
    want = tdata.default_collate(_samples(torch)[kind])
    got = gdata.default_collate(_samples(glassgrad)[kind])
    assert _plain(got) == _plain(want)


def _collate_error(lib_collate, batch):
    with pytest.raises(Exception) as info:
        lib_collate(batch)
    return type(info.value).__name__, str(info.value).replace("torch.", "glassgrad.")


@pytest.mark.parametrize(
    "batch",
    [[object(), object()], [[1, 2], [3]], [np.array(["a"]), np.array(["b"])]],
    ids=["object", "ragged", "string_array"],
)
def test_collate_errors_match_torch(batch):
    got = _collate_error(gdata.default_collate, batch)
    want = _collate_error(tdata.default_collate, batch)
    assert got == want


def _dataset(lib, n=10):
    x = lib.tensor(np.arange(n * 2, dtype=np.float32).reshape(n, 2))
    y = lib.tensor(np.arange(n))
    return lib.utils.data.TensorDataset(x, y)


@pytest.mark.parametrize("batch_size", [1, 3, 4, 10, 12])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_batches_match_torch(batch_size, drop_last):
    loaders = [
        lib.utils.data.DataLoader(_dataset(lib), batch_size=batch_size, drop_last=drop_last)
        for lib in (torch, glassgrad)
    ]
    assert len(loaders[1]) == len(loaders[0])
    assert [_plain(b) for b in loaders[1]] == [_plain(b) for b in loaders[0]]


def test_batch_size_none_converts_samples_one_by_one():
    class Arrays(tdata.Dataset, gdata.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"a": np.full(2, i, dtype=np.int64), "b": (np.float32(i), "x")}

    want = [_plain(b) for b in tdata.DataLoader(Arrays(), batch_size=None)]
    got = [_plain(b) for b in gdata.DataLoader(Arrays(), batch_size=None)]
    assert got == want


def _order(loader):
    return [int(v) for batch in loader for v in batch[1].tolist()]


def test_shuffle_is_a_permutation_and_reproducible_under_a_seed():
    dataset = _dataset(glassgrad, 50)
    glassgrad.manual_seed(7)
    first = [_order(gdata.DataLoader(dataset, batch_size=8, shuffle=True)) for _ in range(2)]
    glassgrad.manual_seed(7)
    again = [_order(gdata.DataLoader(dataset, batch_size=8, shuffle=True)) for _ in range(2)]
    assert first == again
    assert first[0] != first[1]  # successive epochs reshuffle
    assert all(sorted(order) == list(range(50)) for order in first)
    assert first[0] != list(range(50))


def test_generator_argument_controls_the_order():
    dataset = _dataset(glassgrad, 30)

    def order(seed):
        generator = glassgrad.Generator().manual_seed(seed)
        return _order(gdata.DataLoader(dataset, batch_size=4, shuffle=True, generator=generator))

    glassgrad.manual_seed(1)
    a = order(3)
    glassgrad.manual_seed(2)  # the default stream does not matter when a generator is given
    assert order(3) == a
    assert order(4) != a


def test_shuffle_statistics_are_uniform():
    n, epochs = 6, 3000
    dataset = _dataset(glassgrad, n)
    generator = glassgrad.Generator().manual_seed(0)
    loader = gdata.DataLoader(dataset, batch_size=n, shuffle=True, generator=generator)
    counts = np.zeros((n, n))
    firsts = Counter()
    for _ in range(epochs):
        order = _order(loader)
        counts[np.arange(n), order] += 1
        firsts[order[0]] += 1
    expected = epochs / n
    # Every (position, index) cell is Binomial(3000, 1/6): sd ~ 20.4, so 5 sd is a loose bound.
    assert np.abs(counts - expected).max() < 5 * np.sqrt(epochs * (1 / n) * (1 - 1 / n))
    chi2 = sum((firsts[i] - expected) ** 2 / expected for i in range(n))
    assert chi2 < 25  # chi-square with 5 degrees of freedom: p < 1e-4 beyond this


def test_samplers_and_batch_sampler():
    dataset = _dataset(glassgrad, 7)
    sampler = gdata.SequentialSampler(dataset)
    batches = gdata.BatchSampler(sampler, batch_size=3, drop_last=False)
    assert list(batches) == list(tdata.BatchSampler(range(7), 3, False))
    assert len(batches) == 3 and len(gdata.BatchSampler(sampler, 3, True)) == 2
    loader = gdata.DataLoader(dataset, batch_sampler=batches)
    assert loader.batch_size is None and len(loader) == 3
    assert _order(loader) == list(range(7))
    subset = gdata.SubsetRandomSampler([1, 3, 5])
    assert sorted(subset) == [1, 3, 5] and len(subset) == 3
    random = gdata.RandomSampler(dataset, replacement=True, num_samples=20)
    drawn = list(random)
    assert len(drawn) == 20 and all(0 <= i < 7 for i in drawn)
    long = gdata.RandomSampler(dataset, num_samples=10)
    assert len(list(long)) == 10


def test_custom_sampler_and_collate_fn():
    dataset = _dataset(glassgrad, 6)
    loader = gdata.DataLoader(
        dataset, batch_size=2, sampler=[5, 4, 3, 2, 1, 0], collate_fn=lambda b: len(b)
    )
    assert list(loader) == [2, 2, 2]
    loader = gdata.DataLoader(dataset, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert _order(loader) == [5, 4, 3, 2, 1, 0]


def test_iterable_dataset():
    class Stream(gdata.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    batches = list(gdata.DataLoader(Stream(), batch_size=3))
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(gdata.DataLoader(Stream(), batch_size=3, drop_last=True)) == 2


def _loader_error(lib, kwargs):
    with pytest.raises(Exception) as info:
        lib.utils.data.DataLoader(_dataset(lib), **kwargs)
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sampler": [0, 1], "shuffle": True},
        {"batch_sampler": [[0, 1]], "batch_size": 2},
        {"batch_sampler": [[0, 1]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
    ],
)
def test_loader_option_errors_match_torch(kwargs):
    assert _loader_error(glassgrad, kwargs) == _loader_error(torch, kwargs)


@pytest.mark.parametrize(
    "lengths",
    [[3, 7], [0.3, 0.7], [0.5, 0.5], [0.34, 0.33, 0.33], [0.1, 0.1, 0.8], [1.0, 0.0], [10, 0]],
)
def test_random_split_sizes_match_torch(lengths):
    # PyTorch warns about an empty split only when it computed the sizes from fractions.
    warns = any(isinstance(n, float) and n == 0 for n in lengths)
    with (
        pytest.warns(UserWarning, match="Length of split at index 1 is 0") if warns else _nothing()
    ):
        want = tdata.random_split(range(10), lengths)
    with (
        pytest.warns(UserWarning, match="Length of split at index 1 is 0") if warns else _nothing()
    ):
        got = gdata.random_split(range(10), lengths)
    assert [len(s) for s in got] == [len(s) for s in want]
    indices = sorted(i for subset in got for i in subset)
    assert indices == list(range(10))


class _nothing:  # noqa: N801 - reads as a context manager
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_random_split_is_seeded_and_errors():
    a = gdata.random_split(range(20), [5, 15], generator=glassgrad.Generator().manual_seed(3))
    b = gdata.random_split(range(20), [5, 15], generator=glassgrad.Generator().manual_seed(3))
    assert list(a[0]) == list(b[0]) and list(a[1]) == list(b[1])
    for module in (tdata, gdata):
        with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
            module.random_split(range(5), [2, 2])
        with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
            module.random_split(range(5), [1.5, -0.5])


def test_subset_and_concat_dataset():
    dataset = _dataset(glassgrad, 5)
    subset = gdata.Subset(dataset, [4, 0, 2])
    assert len(subset) == 3 and subset[0][1].item() == 4
    assert _order(gdata.DataLoader(subset, batch_size=2)) == [4, 0, 2]
    both = dataset + subset
    assert len(both) == 8 and both[5][1].item() == 4 and both[-1][1].item() == 2


def test_tensor_dataset_size_mismatch():
    for lib in (torch, glassgrad):
        with pytest.raises(AssertionError, match="Size mismatch between tensors"):
            lib.utils.data.TensorDataset(lib.zeros(3), lib.zeros(4))
