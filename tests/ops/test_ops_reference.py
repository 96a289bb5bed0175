"""``docs/ops.md`` is the op table as it stands (regenerate: ``python tools/ops_reference.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location(
        "ops_reference", ROOT / "tools" / "ops_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ops_reference_is_current():
    written = (ROOT / "docs" / "ops.md").read_text()
    assert _generator().render() == written, (
        "docs/ops.md is stale: run `python tools/ops_reference.py` and commit the result"
    )


def test_every_op_has_a_row():
    from glassgrad.ops import OPS

    rows = [
        line
        for line in (ROOT / "docs" / "ops.md").read_text().splitlines()
        if line.startswith("| `")
    ]
    assert sorted(line.split("`")[1] for line in rows) == sorted(OPS)
