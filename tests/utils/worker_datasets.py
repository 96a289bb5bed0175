"""Datasets the DataLoader worker tests load in worker processes (importable by a spawned one)."""

import os
import random
import time

import numpy as np


def library(name):
    import importlib

    return importlib.import_module(name)


class Squares:
    """Map-style: ``i -> i * i`` (a plain class, as many real datasets are)."""

    def __len__(self):
        return 11

    def __getitem__(self, index):
        return index * index


class WhoAmI:
    """Map-style: each sample says which process and worker read it, and what its seeded
    random streams give first."""

    def __init__(self, lib_name):
        self.lib_name = lib_name

    def __len__(self):
        return 6

    def __getitem__(self, index):
        lib = library(self.lib_name)
        info = lib.utils.data.get_worker_info()
        fields = None
        if info is not None:
            fields = (info.id, info.num_workers, info.seed, type(info.dataset).__name__)
        return {
            "index": index,
            "pid": os.getpid(),
            "info": fields,
            "random": random.random(),
            "numpy": float(np.random.rand()),
            "lib": lib.rand(1).item(),
        }


def iterable_range(lib_name, n):
    """An IterableDataset of ``range(n)``, shared among workers by ``get_worker_info`` (a class
    made here: workers started by fork need not import it)."""
    data = library(lib_name).utils.data

    class Range(data.IterableDataset):
        def __iter__(self):
            info = data.get_worker_info()
            if info is None:
                return iter(range(n))
            return iter(range(info.id, n, info.num_workers))

    return Range()


class Failing:
    """Raises ``error`` at index 2."""

    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index == 2:
            raise self.error
        return index


class Slow:
    def __len__(self):
        return 2

    def __getitem__(self, index):
        time.sleep(3)
        return index


class Dying:
    def __len__(self):
        return 2

    def __getitem__(self, index):
        os._exit(7)


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)
