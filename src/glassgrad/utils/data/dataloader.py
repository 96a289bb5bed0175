"""``DataLoader`` and ``default_collate``: batches from a dataset, in the main process or in
worker processes (``num_workers > 0``, see ``_worker_iter``)."""

from __future__ import annotations

import collections.abc
import copy
import functools
import itertools
import multiprocessing
import multiprocessing.context
import re
import warnings

import numpy as np

from glassgrad.tensor import Tensor
from glassgrad.utils.data._worker_iter import (  # noqa: F401 - PyTorch's names, here
    _BaseDataLoaderIter,
    _MultiProcessingDataLoaderIter,
    _SingleProcessDataLoaderIter,
)
from glassgrad.utils.data.dataset import IterableDataset
from glassgrad.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert"]

_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)
_STRING_ARRAY = re.compile(r"[SaUO]")  # NumPy dtypes (strings, objects) that make no tensor


def _collate_tensors(batch):
    if any(t.requires_grad for t in batch):
        from glassgrad.ops.registry import OPS

        return OPS["stack"].fn(batch, 0)  # keep the graph, as torch.stack would
    return Tensor._from_array(np.stack([t._data for t in batch]))


def default_collate(batch):
    """Stack a list of samples into a batch, recursing through tuples, lists and dicts."""
    from glassgrad.creation import as_tensor, tensor
    from glassgrad.dtypes import float64

    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        if _STRING_ARRAY.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return _collate_tensors([as_tensor(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        return as_tensor(np.asarray(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _collate_mapping(elem, batch)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch, strict=False)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(elem, batch)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def _collate_mapping(elem, batch):
    collated = {key: default_collate([d[key] for d in batch]) for key in elem}
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        return type(elem)(collated)
    except TypeError:
        return collated


def _collate_sequence(elem, batch):
    size = len(elem)
    if not all(len(sample) == size for sample in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    columns = [default_collate(samples) for samples in zip(*batch, strict=False)]
    if isinstance(elem, tuple):
        return columns  # PyTorch returns tuples of fields as a list
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, column in enumerate(columns):
                clone[i] = column
            return clone
        return type(elem)(columns)
    except TypeError:
        return columns


def default_convert(data):
    """Turn NumPy arrays inside ``data`` into tensors (the no-batching collate)."""
    from glassgrad.creation import as_tensor

    if isinstance(data, np.ndarray) and _STRING_ARRAY.search(data.dtype.str) is None:
        return as_tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


class DataLoader:
    """Iterate over a dataset in (optionally shuffled) batches."""

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        pin_memory_device="",
        in_order=True,
    ) -> None:
        prefetch_factor = _check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.multiprocessing_context = _context(multiprocessing_context, num_workers)
        self._iterator = None  # the persistent workers' iterator, once made
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.drop_last = drop_last
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (
            shuffle not in {False, None} or sampler is not None or batch_sampler is not None
        ):
            raise ValueError(_iterable_error(shuffle, sampler, batch_sampler))
        sampler, batch_sampler = self._samplers(batch_size, shuffle, sampler, batch_sampler)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        # A user batch_sampler owns batching: PyTorch then reports batch_size None.
        self.batch_size = batch_size if self._user_batch_sampler is None else None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def _samplers(self, batch_size, shuffle, sampler, batch_sampler):
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        self._user_batch_sampler = batch_sampler
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or self.drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size = None
        elif batch_size is None and self.drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )
        if sampler is None:
            if self._iterable:
                sampler = None
            elif shuffle:
                sampler = RandomSampler(self.dataset, generator=self.generator)
            else:
                sampler = SequentialSampler(self.dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, self.drop_last)
        return sampler, batch_sampler

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __iter__(self):
        if self.pin_memory:  # PyTorch's CPU build says so each time it starts iterating
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                UserWarning,
                stacklevel=2,
            )
        index_sampler = self._index_sampler()
        # PyTorch draws the workers' base seed for every epoch, workers or not: so the default
        # stream moves alike (and a shuffle is the same) whatever num_workers is
        base_seed = int(_int64_seed(self.generator))
        if self.num_workers == 0:
            if self.timeout != 0:
                raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
            return _SingleProcessDataLoaderIter(self, self._single_process())
        if not self.persistent_workers:
            return _MultiProcessingDataLoaderIter(self, base_seed, index_sampler)
        if self._iterator is None:
            self._iterator = _MultiProcessingDataLoaderIter(self, base_seed, index_sampler)
        else:
            self._iterator._reset(index_sampler)
        return self._iterator

    def _index_sampler(self):
        """What each task asks a worker for: a batch of indices, an index, or (for an
        IterableDataset) how many samples to take next."""
        if not self._iterable:
            return self.batch_sampler if self.batch_sampler is not None else self.sampler
        request = None if self.batch_size is None else [None] * self.batch_size
        return itertools.repeat(request)

    def _single_process(self):
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return (self.collate_fn(self._fetch(indices)) for indices in self.batch_sampler)

    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems(indices)
        return [self.dataset[i] for i in indices]

    def _iter_stream(self):
        if self.batch_size is None:
            yield from (self.collate_fn(sample) for sample in self.dataset)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        return self._length()()

    def _length(self):
        """``len(self)`` as a function that holds no reference to the loader (its iterators
        keep one: a persistent one must not make a reference cycle with its loader)."""
        if self._iterable:
            return functools.partial(_stream_length, self.dataset, self.batch_size, self.drop_last)
        sampler = self.batch_sampler if self.batch_sampler is not None else self.sampler
        return functools.partial(len, sampler)


def _stream_length(dataset, batch_size, drop_last) -> int:
    length = len(dataset)
    if batch_size is not None:
        whole, part = divmod(length, batch_size)
        length = whole if drop_last or part == 0 else whole + 1
    return length


def _int64_seed(generator):
    from glassgrad.creation import empty
    from glassgrad.dtypes import int64

    return empty((), dtype=int64).random_(generator=generator).item()


def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers):
    """PyTorch's checks of the worker options; the prefetch factor to use."""
    if num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to "
            "disable multiprocessing."
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing.let num_workers "
            "> 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _context(context, num_workers):
    """``multiprocessing_context`` checked as PyTorch checks it: a start method's name or a
    context, and only with workers."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError(
            "multiprocessing_context can only be used with multi-process loading "
            f"(num_workers > 0), but got num_workers={num_workers}"
        )
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(
                "multiprocessing_context option should specify a valid start method in "
                f"{methods!r}, but got multiprocessing_context={context!r}"
            )
        context = multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(
            "multiprocessing_context option should be a valid context object or a string "
            f"specifying the start method, but got multiprocessing_context={context}"
        )
    return context


def _iterable_error(shuffle, sampler, batch_sampler) -> str:
    if shuffle not in {False, None}:
        return (
            "DataLoader with IterableDataset: expected unspecified shuffle option, but got "
            f"shuffle={shuffle}"
        )
    if sampler is not None:
        return (
            "DataLoader with IterableDataset: expected unspecified sampler option, but got "
            f"sampler={sampler}"
        )
    return (
        "DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
        f"got batch_sampler={batch_sampler}"
    )
