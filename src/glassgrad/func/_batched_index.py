"""Indexing a ``BatchedArray`` (and indexing with one): the batch dimensions are kept in front.

An unbatched key gets a full slice per batch dimension in front of it. A batched key (an index
array that differs per sample) gets, in their place, one ``arange`` per batch dimension that
broadcasts with the key's index arrays, so that each sample reads its own rows.
"""

from __future__ import annotations

import sys

import numpy as np

from glassgrad._batched import INPLACE_ERROR, MASK_ERROR, BatchedArray, levels_of, physical
from glassgrad.func._batched_rules import fallback, no_rule

_B = BatchedArray
_SCALARS = (int, np.integer, bool, np.bool_)


def _advanced(part) -> bool:
    return (
        part.__class__ is _B
        or isinstance(part, (np.ndarray, list))
        or (isinstance(part, _SCALARS) and not isinstance(part, (bool, np.bool_)))
    )


def _normalize(key, ndim):
    """``key`` as a tuple with its Ellipsis spelled out, lists as arrays and unbatched boolean
    masks as their index arrays (NumPy's own reading of them)."""
    key = key if isinstance(key, tuple) else (key,)
    parts = []
    for part in key:
        if isinstance(part, list):
            part = np.asarray(part)
        if part.__class__ is _B and part.dtype == bool:
            raise no_rule("a boolean mask")  # (per sample; differing sizes raise vmap's error)
        if isinstance(part, np.ndarray) and part.dtype == bool:
            parts.extend(np.nonzero(part))
            continue
        parts.append(part)
    used = sum(
        1
        for p in parts
        if p is not None and p is not Ellipsis and not isinstance(p, (bool, np.bool_))
    )
    if Ellipsis in [p for p in parts if not isinstance(p, np.ndarray) and p.__class__ is not _B]:
        at = next(i for i, p in enumerate(parts) if p is Ellipsis and not hasattr(p, "shape"))
        parts[at : at + 1] = [slice(None)] * max(ndim - used, 0)
    return tuple(parts)


def _layout(key):
    """(positions of advanced parts, whether they are adjacent, result dims before them)."""
    positions = [i for i, p in enumerate(key) if _advanced(p)]
    adjacent = positions == list(range(positions[0], positions[-1] + 1)) if positions else True
    before = 0
    if positions:
        for part in key[: positions[0]]:
            if not isinstance(part, (bool, np.bool_)):
                before += 1  # (a slice or None: one result dimension each)
    return positions, adjacent, before


def getitem(self, key):
    mask = key[0] if isinstance(key, tuple) and len(key) == 1 else key
    if mask.__class__ is _B and mask.dtype == bool:
        if sys._getframe(2).f_globals.get("__name__") == "glassgrad.ops.index.indexing":
            raise RuntimeError(MASK_ERROR)  # a user's x[mask], as PyTorch's vmap refuses it
        return _masked(self, mask)
    if self.__class__ is not _B:  # an unbatched array indexed by a batched key
        return _gather(self, key)
    key = _normalize(key, self.ndim)
    if any(p.__class__ is _B for p in key):
        return _gather(self, key)
    nb = len(self.levels)
    out = self.value[(slice(None),) * nb + key]
    positions, adjacent, _ = _layout(key)
    if not adjacent:  # NumPy put the index arrays' dimensions in front of the batch
        width = np.broadcast(*(np.asarray(key[i]) for i in positions)).ndim
        out = np.moveaxis(out, range(width, width + nb), range(nb))
    return BatchedArray(out, self.levels)


def _masked(self, mask):
    """``self[mask]`` for a batched boolean mask: one batch when every sample selects as many
    elements (PyTorch's vmap cannot do this at all; glassgrad can when sizes agree)."""
    levels, sizes = levels_of((self, mask))
    flags = physical(mask, levels, sizes, mask.ndim, expand=True)
    counts = flags.reshape((*sizes, -1)).sum(-1)
    if counts.size and not (counts == counts.flat[0]).all():
        raise no_rule("a boolean mask")  # (per sample: differing sizes raise vmap's error)
    value = physical(self, levels, sizes, np.ndim(self), expand=True)
    rest = value.shape[len(sizes) + mask.ndim :]
    count = int(counts.flat[0]) if counts.size else 0
    return BatchedArray(value[flags].reshape((*sizes, count, *rest)), levels)


def _batched_key(self, key):
    """The physical key for ``self`` (expanded to the levels of ``key``) with batched parts."""
    levels, sizes = levels_of((self, *key))
    positions, adjacent, before = _layout(key)
    width = max(np.ndim(key[i]) if key[i].__class__ is not _B else key[i].ndim for i in positions)
    nb = len(levels)
    parts = []
    for index, size in enumerate(sizes):
        shape = [1] * (nb + width)
        shape[index] = size
        parts.append(np.arange(size).reshape(shape))
    for part in key:
        parts.append(physical(part, levels, sizes, width) if part.__class__ is _B else part)
    return levels, sizes, tuple(parts), adjacent, before, width


def _gather(self, key):
    key = _normalize(key, np.ndim(self))
    levels, sizes, parts, adjacent, before, width = _batched_key(self, key)
    if not adjacent and before:
        return fallback(getitem, (self, key), {}, "index")
    value = physical(self, levels, sizes, np.ndim(self), expand=True)
    out = value[parts]  # (*batch, *index dims, *the rest)
    if before:
        nb = len(levels)
        out = np.moveaxis(out, range(nb, nb + width), range(nb + before, nb + before + width))
    return BatchedArray(out, levels)


def setitem(self, key, value, casting=None):
    """``self[key] = value``; a batched value or key needs a batched ``self``, as in-place
    writes do under ``vmap``."""
    if self.__class__ is not _B:
        raise RuntimeError(INPLACE_ERROR.format(name="inplace arithmetic"))
    key = _normalize(key, self.ndim)
    own = self.levels
    if any(level not in own for level in levels_of((value, *key))[0]):
        raise RuntimeError(INPLACE_ERROR.format(name="inplace arithmetic"))
    sizes = self.value.shape[: len(own)]
    nb = len(own)
    if any(p.__class__ is _B for p in key):
        _, _, parts, adjacent, before, width = _batched_key(self, key)
        if before:
            return fallback(setitem, (self, key, value), {}, "index_put_")
        target_ndim = self.value[parts].ndim - nb
        self.value[parts] = physical(value, own, sizes, target_ndim)
        return None
    full = (slice(None),) * nb + key
    positions, adjacent, _ = _layout(key)
    if not adjacent and value.__class__ is _B:
        return fallback(setitem, (self, key, value), {}, "index_put_")
    target_ndim = self.value[full].ndim - nb
    array = physical(value, own, sizes, target_ndim) if value.__class__ is _B else value
    if casting is None:
        self.value[full] = array
    else:
        np.copyto(self.value[full], array, casting=casting)
    return None
