"""The seed experiments give the gradients the article shows, on both backends."""

from __future__ import annotations

import importlib

import pytest

from glassgrad import seed_experiments as seed
from seed_article import CELLS, Raises
from seed_expected import article_grads


def _backend(name: str):
    """glassgrad (the subject) or real PyTorch (the oracle; skipped where it is not installed)."""
    return pytest.importorskip(name) if name == "torch" else importlib.import_module(name)


@pytest.mark.parametrize("backend", ["glassgrad", "torch"])
def test_experiments_match_the_article(backend):
    """Each experiment's gradients (or its error) equal the article's, leaf by leaf."""
    outcomes = seed.run_all(_backend(backend))
    assert [o.experiment.title for o in outcomes] == [title for title, _, _ in CELLS[1:]]
    problems = []
    for outcome, want in zip(outcomes, article_grads(), strict=True):
        header = outcome.experiment.header
        if isinstance(want, Raises):
            got = (type(outcome.error), str(outcome.error))
            if got != (want.type, want.message):
                problems.append(f"{header}: got {got}, article shows {want}")
        elif outcome.error is not None:
            problems.append(f"{header}: raised {type(outcome.error).__name__}: {outcome.error}")
        else:
            problems += [
                f"{header}: {name}.grad = {outcome.grads[name]}, article shows {want[name]}"
                for name in seed.NAMES
                if outcome.grads[name] != want[name]
            ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("backend", ["glassgrad", "torch"])
def test_make_params_are_the_articles_leaves(backend):
    """The seven leaves have the article's values and all require grad."""
    params = seed.make_params(_backend(backend))
    assert list(params) == list(seed.NAMES)
    assert {name: leaf.item() for name, leaf in params.items()} == seed.VALUES
    assert all(leaf.requires_grad and leaf.is_leaf for leaf in params.values())
