"""DataLoader with ``num_workers > 0`` against PyTorch 2.13: batches, order, sharding, seeding,
errors and options, with workers that are real processes."""

import itertools
import os
import random

import numpy as np
import pytest
import torch
import torch.utils.data as tdata
import worker_datasets as wd
from torch.utils.data._utils.worker import _generate_state as torch_generate_state

import glassgrad
from glassgrad.utils import data as gdata
from glassgrad.utils.data._utils.worker import _generate_state

LIBS = {"glassgrad": (glassgrad, gdata), "torch": (torch, tdata)}


def _plain(batch):
    if isinstance(batch, (glassgrad.Tensor, torch.Tensor)):
        return batch.tolist()
    if isinstance(batch, dict):
        return {key: _plain(value) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [_plain(value) for value in batch]
    return batch


def _both(make, **options):
    out = []
    for name, (_, data) in LIBS.items():
        out.append([_plain(b) for b in data.DataLoader(make(name), **options)])
    return out


@pytest.mark.parametrize(
    "options",
    [
        {"batch_size": 3, "num_workers": 2},
        {"batch_size": 2, "num_workers": 3, "drop_last": True, "prefetch_factor": 1},
        {"batch_size": None, "num_workers": 2},
        {"batch_size": 4, "num_workers": 1, "prefetch_factor": 3},
    ],
)
def test_map_style_batches_match_pytorch(options):
    mine, theirs = _both(lambda name: wd.Squares(), **options)
    assert mine == theirs


@pytest.mark.parametrize(
    "options",
    [
        {"batch_size": 2, "num_workers": 2, "n": 7},
        {"batch_size": 2, "num_workers": 3, "n": 5},
        {"batch_size": 2, "num_workers": 2, "n": 7, "drop_last": True},
        {"batch_size": None, "num_workers": 2, "n": 5},
    ],
)
def test_iterable_sharding_and_order_match_pytorch(options):
    n = options.pop("n")
    mine, theirs = _both(lambda name: wd.iterable_range(name, n), **options)
    assert mine == theirs


def test_workers_are_other_processes_that_know_who_they_are():
    assert gdata.get_worker_info() is None
    loader = gdata.DataLoader(wd.WhoAmI("glassgrad"), batch_size=None, num_workers=2)
    samples = list(loader)
    assert [s["index"] for s in samples] == list(range(6))  # in order
    pids = {s["pid"] for s in samples}
    assert len(pids) == 2 and os.getpid() not in pids
    infos = [s["info"] for s in samples]
    assert [i[0] for i in infos] == [0, 1, 0, 1, 0, 1]  # tasks go round-robin
    assert {i[1] for i in infos} == {2} and {i[3] for i in infos} == {"WhoAmI"}
    base = {info[2] - info[0] for info in infos}
    assert len(base) == 1  # seed = base_seed + worker id
    assert gdata.get_worker_info() is None


def test_each_worker_seeds_random_numpy_and_the_library_as_pytorch():
    loader = gdata.DataLoader(wd.WhoAmI("glassgrad"), batch_size=None, num_workers=2)
    for sample in list(loader)[:2]:  # each worker's first sample
        worker_id, _, seed, _ = sample["info"]
        assert sample["random"] == random.Random(seed).random()
        state = np.random.RandomState(_generate_state(seed - worker_id, worker_id))
        assert sample["numpy"] == state.rand()
        glassgrad.manual_seed(seed)
        assert sample["lib"] == glassgrad.rand(1).item()


@pytest.mark.parametrize("base_seed", [0, 1, 2**32 + 5, 2**63 - 1, 123456789012345])
def test_numpys_worker_seed_is_pytorchs(base_seed):
    for worker_id in range(3):
        assert _generate_state(base_seed, worker_id) == torch_generate_state(base_seed, worker_id)


def test_the_base_seed_follows_manual_seed_and_shuffles_as_without_workers():
    def epoch(workers):
        glassgrad.manual_seed(3)
        loader = gdata.DataLoader(wd.Squares(), batch_size=4, shuffle=True, num_workers=workers)
        return [b.tolist() for b in loader]

    assert epoch(0) == epoch(2) == epoch(2)
    glassgrad.manual_seed(3)
    loader = gdata.DataLoader(wd.WhoAmI("glassgrad"), batch_size=None, num_workers=1)
    first = [s["info"][2] for s in loader]
    glassgrad.manual_seed(3)
    assert [s["info"][2] for s in loader] == first


def _message(lib, dataset, **options):
    _, data = LIBS[lib]
    try:  # (not pytest.raises: a kept traceback would keep the loader's workers until a gc)
        list(data.DataLoader(dataset, num_workers=2, **options))
    except Exception as error:
        return type(error), str(error)
    raise AssertionError("no error")


@pytest.mark.parametrize(
    "error", [ValueError("bad value"), KeyError("missing"), wd.TwoArgError(1, 2)]
)
def test_a_workers_error_is_raised_as_pytorch_raises_it(error):
    mine = _message("glassgrad", wd.Failing(error))
    theirs = _message("torch", wd.Failing(error))
    assert mine[0] is theirs[0]
    assert mine[1].splitlines()[:2] == theirs[1].splitlines()[:2]
    assert mine[1].splitlines()[-1] == theirs[1].splitlines()[-1]
    assert "in __getitem__" in mine[1]


def test_a_failing_worker_init_fn_is_raised_at_the_first_batch():
    def init(worker_id):
        raise RuntimeError(f"init {worker_id}")

    loader = gdata.DataLoader(wd.Squares(), num_workers=1, worker_init_fn=init)
    with pytest.raises(RuntimeError, match=r"Caught RuntimeError in DataLoader worker process 0"):
        next(iter(loader))


def test_worker_init_fn_runs_once_per_worker_and_persistent_workers_stay():
    loader = gdata.DataLoader(
        wd.WhoAmI("glassgrad"), batch_size=None, num_workers=2, persistent_workers=True
    )
    first = {s["pid"] for s in loader}
    second = {s["pid"] for s in loader}
    assert first == second and len(first) == 2
    stream = gdata.DataLoader(
        wd.iterable_range("glassgrad", 5), num_workers=2, persistent_workers=True
    )
    assert [b.tolist() for b in stream] == [b.tolist() for b in stream] == [[0], [1], [2], [3], [4]]


def test_out_of_order_results_are_all_there():
    loader = gdata.DataLoader(wd.Squares(), batch_size=2, num_workers=2, in_order=False)
    got = sorted(itertools.chain.from_iterable(b.tolist() for b in loader))
    assert got == [i * i for i in range(11)]


def test_timeout_and_a_dead_worker_are_pytorchs_errors():
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.5 seconds$"):
        list(gdata.DataLoader(wd.Slow(), num_workers=1, timeout=0.5))
    with pytest.raises(
        RuntimeError, match=r"^DataLoader worker \(pid\(s\) \d+\) exited unexpectedly$"
    ):
        list(gdata.DataLoader(wd.Dying(), num_workers=1, timeout=1))


def test_pin_memory_is_accepted_with_workers():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        batches = list(gdata.DataLoader(wd.Squares(), batch_size=6, num_workers=1, pin_memory=True))
    assert [b.tolist() for b in batches] == [[0, 1, 4, 9, 16, 25], [36, 49, 64, 81, 100]]


def test_a_spawned_worker_loads_too():
    loader = gdata.DataLoader(
        wd.Squares(), batch_size=6, num_workers=1, multiprocessing_context="spawn"
    )
    assert [b.tolist() for b in loader] == [[0, 1, 4, 9, 16, 25], [36, 49, 64, 81, 100]]


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"num_workers": 1, "prefetch_factor": -1},
        {"persistent_workers": True},
        {"multiprocessing_context": "fork"},
        {"num_workers": 1, "multiprocessing_context": "bad"},
        {"num_workers": 1, "multiprocessing_context": 3},
    ],
)
def test_option_errors_match_pytorch(options):
    errors = []
    for _, data in LIBS.values():
        with pytest.raises(Exception) as info:
            data.DataLoader(range(4), **options)
        errors.append((info.type, str(info.value)))
    assert errors[0] == errors[1]


def test_timeout_without_workers_fails_as_pytorch():
    for _, data in LIBS.values():
        with pytest.raises(AssertionError, match="requires timeout == 0"):
            iter(data.DataLoader(range(4), timeout=1))


def test_worker_options_are_kept_as_pytorch_keeps_them():
    for _, data in LIBS.values():
        loader = data.DataLoader(range(4), num_workers=1)
        assert (loader.prefetch_factor, loader.timeout, loader.persistent_workers) == (2, 0, False)
        assert (loader.multiprocessing_context, loader.worker_init_fn, loader.in_order) == (
            None,
            None,
            True,
        )
        assert data.DataLoader(range(4)).prefetch_factor is None


def test_iterators_are_pytorchs_classes():
    from torch.utils.data import dataloader as tloader

    from glassgrad.utils.data import dataloader as gloader

    for lib_loader, data in ((gloader, gdata), (tloader, tdata)):
        single = iter(data.DataLoader(range(5), batch_size=2))
        workers = iter(data.DataLoader(range(5), batch_size=2, num_workers=1))
        assert isinstance(single, lib_loader._SingleProcessDataLoaderIter)
        assert isinstance(workers, lib_loader._MultiProcessingDataLoaderIter)
        assert isinstance(workers, lib_loader._BaseDataLoaderIter)
        assert len(single) == len(workers) == 3 and iter(single) is single
        assert [b.tolist() for b in workers] == [[0, 1], [2, 3], [4]]
