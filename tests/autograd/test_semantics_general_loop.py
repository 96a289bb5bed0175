"""The gradient-control spec (``tests/test_semantics.py``) once more, with plain ``backward()``
routed through the engine's general loop (``engine._loop``) instead of its written-out plain
one (``engine_plain``): the spec is where most plain backward calls are, so the two loops
cannot drift apart unseen. ``test_semantics`` runs it through the plain loop."""

from __future__ import annotations

import pytest

from semantics_cases import CASES
from test_semantics import (
    GLASSGRAD_DIFFERENCES,
    LANDED_EARLY,
    MISSING_FEATURES,
    assert_same_output,
    resolve_modules,
    run_case,
)

# (the cases of features glassgrad does not have yet are left out: test_semantics xfails them)
RUNNABLE = [
    case for case in CASES if case.id in LANDED_EARLY or not set(case.needs) & set(MISSING_FEATURES)
]


@pytest.mark.parametrize("engine_loop", ["general"], indirect=True)
@pytest.mark.parametrize("case", RUNNABLE, ids=[case.id for case in RUNNABLE])
def test_spec_through_the_general_loop(case, engine_loop):
    actual = run_case(case, resolve_modules("glassgrad"))
    assert_same_output(case, actual, GLASSGRAD_DIFFERENCES.get(case.id, {}))
