"""The gradients the seed article prints, read from its expected output in ``seed_article``."""

from __future__ import annotations

import re

from seed_article import CELLS, Raises

# "a.grad=xey=935.0: tensor(935.)" -> ("a", "935.")
_GRAD_LINE = re.compile(r"^(\w)\.grad=.*: tensor\(([-0-9.e]+)\)$")


def article_grads() -> list[dict[str, float | None] | Raises]:
    """Per experiment (the cells after the params cell): each leaf's gradient, or the error.

    The article zeroes ``.grad`` between experiments, so where no gradient arrived it prints
    ``tensor(0.)``; on this graph no gradient that arrives is zero, so 0 reads as None (never
    reached), which is what a fresh leaf shows.
    """
    experiments: list[dict[str, float | None] | Raises] = []
    for _title, _code, expected in CELLS[1:]:
        if isinstance(expected, Raises):
            experiments.append(expected)
            continue
        grads: dict[str, float | None] = {}
        for line in expected.splitlines():
            match = _GRAD_LINE.match(line)
            if match:
                value = float(match.group(2))
                grads[match.group(1)] = None if value == 0 else value
        experiments.append(grads)
    return experiments
