"""The engine's tests run through both of its loops.

``loss.backward()`` with no ``inputs=`` and no ``create_graph`` takes the plain loop
(``engine_plain``, written out for speed); everything else takes the general one
(``engine._loop``). The two must behave alike, so the engine's test modules run twice: as they
are, and with the plain loop's entry routed into the general loop.
"""

from __future__ import annotations

import pytest

from glassgrad.autograd import engine, engine_plain, grad_mode

ENGINE_TESTS = {"test_engine_core", "test_engine_modes", "test_partial_backward"}
ENGINE_TESTS |= {"test_graph_hooks", "test_gradient_control_patterns", "test_saved_versions"}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rpartition(".")[2] in ENGINE_TESTS:
        metafunc.fixturenames.append("engine_loop")
        metafunc.parametrize("engine_loop", ["plain", "general"], indirect=True)


def _through_general_loop(roots, retain_graph, inference, root=None, seed=None):
    """``_propagate_plain``'s job done by the general loop (``create_graph=False``, no capture):
    grad mode off while it runs, as ``run_backward`` sets it for that loop; the leaves are
    stored by the general path, so none are left for the plain one."""
    if roots is None:
        roots = [(root, 0, seed)]
    state = grad_mode.state
    enabled = state.grad_enabled and not inference
    if enabled:
        grad_mode._set(False, False)
    try:
        engine._execute(roots, retain_graph, False, None, True)
    finally:
        if enabled:
            grad_mode._set(True, False)
    return {}


@pytest.fixture
def engine_loop(request, monkeypatch):
    """ "plain": the engine as it is; "general": plain backward() through ``engine._loop``."""
    if request.param == "general":
        monkeypatch.setattr(engine, "_propagate_plain", _through_general_loop)
        monkeypatch.setattr(engine_plain, "_propagate_plain", _through_general_loop)
    return request.param
