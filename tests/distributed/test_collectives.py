"""Every collective on 2 processes (through the launcher) against the one-process result."""

import pytest
from dist_helpers import assert_ok, launch

CASES = [
    "all_reduce",
    "async",
    "broadcast",
    "reduce",
    "all_gather",
    "gather_scatter",
    "reduce_scatter",
    "all_to_all",
    "p2p",
    "batch_p2p",
    "groups",
    "mismatch",
]


@pytest.mark.parametrize("case", CASES)
def test_collective_on_two_ranks(case):
    assert_ok(launch("collectives.py", case))
