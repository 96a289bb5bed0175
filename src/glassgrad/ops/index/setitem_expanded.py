"""``self[key] = value`` on an ``expand``ed tensor: which part is written, as PyTorch decides it.

PyTorch refuses a write only where the written-to part has two elements on one memory location;
advanced keys write anyway, with its deprecation warnings.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad.ops.index.indexing import convert_key
from glassgrad.ops.inplace_core import _EXPANDED_WRITE, overlaps
from glassgrad.tensor import Tensor


def written_region(self, key, value):
    """The part of an ``expand``ed ``self`` that ``self[key] = value`` writes, as PyTorch checks
    it for shared memory; None for a key to leave to the write's own errors. Advanced keys write
    anyway, with PyTorch's deprecation warning."""
    try:
        converted, basic = convert_key(key)
        if basic:
            return self._data[converted]
        # PyTorch takes the basic parts of the key first: only if what they select still shares
        # memory is the advanced write into an expanded tensor (deprecated) warned about
        parts = converted if isinstance(converted, tuple) else (converted,)
        basic_parts = []
        for part in parts:
            if isinstance(part, np.ndarray):
                basic_parts += [slice(None)] * (part.ndim if part.dtype == np.bool_ else 1)
            else:
                basic_parts.append(part)
        if not overlaps(self._data[tuple(basic_parts)]):
            return None
    except (IndexError, TypeError, ValueError):
        return None
    warnings.warn(_EXPANDED_WRITE.format("index_put_", "indices", "tensor"), stacklevel=3)
    mask = len(parts) == 1 and parts[0].dtype == np.bool_
    if mask and (not isinstance(value, Tensor) or not value._data.ndim):
        warnings.warn(_EXPANDED_WRITE.format("masked_fill_", "mask", "scalar"), stacklevel=3)
    return None
