"""PyTorch's CPU random stream (a 32-bit Mersenne Twister seeded as c10's ``mt19937``) and the
``randperm`` it drives, for the places that must give PyTorch's indices for a seed, such as
``DistributedSampler``. glassgrad's own generator (``_random``) is a different stream.
"""

from __future__ import annotations

import numpy as np

_STATE_N = 624
_SMALL_N = 0xFFFFFFFF // 20  # below this, PyTorch's randperm swaps with random() % (n - i)


def mt19937(seed: int) -> np.random.MT19937:
    """A Mersenne Twister in the state ``torch.Generator().manual_seed(seed)`` leaves c10's."""
    key = np.empty(_STATE_N, dtype=np.uint32)
    word = int(seed) & 0xFFFFFFFF  # c10 seeds the twister with the seed's low 32 bits
    key[0] = word
    for index in range(1, _STATE_N):
        word = (1812433253 * (word ^ (word >> 30)) + index) & 0xFFFFFFFF
        key[index] = word
    engine = np.random.MT19937()
    engine.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _STATE_N}}
    return engine


def randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``."""
    engine = mt19937(seed)
    perm = list(range(n))
    if n < 2:
        return perm
    if n < _SMALL_N:
        # PyTorch's Fisher-Yates: swap r[i] with r[i + random() % (n - i)], i = 0 .. n - 2
        steps = engine.random_raw(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
        for index, step in enumerate(steps.tolist()):
            other = index + step
            perm[index], perm[other] = perm[other], perm[index]
        return perm
    # PyTorch's inside-out variant with 64-bit draws (hi word first) for huge n
    draws = engine.random_raw(2 * n).reshape(n, 2)
    for index, (high, low) in enumerate(draws.tolist()):
        other = ((high << 32) | low) % (index + 1)
        perm[index] = perm[other]
        perm[other] = index
    return perm
