"""The examples in the docs and in docstrings run: ``docs/architecture.md``'s walk-through of
adding an op, and every ``>>>`` line in ``src/glassgrad``."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "glassgrad"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_architecture_walkthrough_runs():
    failed, attempted = doctest.testfile(
        str(ROOT / "docs" / "architecture.md"), module_relative=False, optionflags=FLAGS
    )
    assert attempted > 0 and failed == 0


def _modules_with_examples():
    for path in sorted(SRC.rglob("*.py")):
        if ">>>" in path.read_text():
            parts = path.relative_to(SRC.parent).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("name", list(_modules_with_examples()))
def test_docstring_examples_run(name):
    failed, attempted = doctest.testmod(importlib.import_module(name), optionflags=FLAGS)
    assert attempted > 0 and failed == 0
