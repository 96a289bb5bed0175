"""``glassgrad demo`` prints the seed article's gradients in one table, with the exact error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glassgrad import cli
from glassgrad import seed_experiments as seed
from seed_article import Raises
from seed_expected import article_grads

NON_LEAF_MESSAGE = next(want for want in article_grads() if isinstance(want, Raises)).message


def _table(text: str) -> dict[str, dict[str, str]]:
    """Read the demo's table back: {experiment header: {leaf: cell text}}."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("grad "))
    headers = [e.header for e in seed.EXPERIMENTS]
    # Headers contain spaces ("frozen c,d"), so the header row is checked whole, not split.
    assert lines[start].split(None, 1)[1].split() == " ".join(headers).split()
    table: dict[str, dict[str, str]] = {header: {} for header in headers}
    for line in lines[start + 1 : start + 1 + len(seed.NAMES)]:
        name, *cells = line.split()
        for header, cell in zip(headers, cells, strict=True):
            table[header][name] = cell
    return table


def _check(text: str) -> list[str]:
    """Every cell of the demo's table against the article; one message per wrong cell."""
    table = _table(text)
    problems = []
    for experiment, want in zip(seed.EXPERIMENTS, article_grads(), strict=True):
        column = table[experiment.header]
        for name in seed.NAMES:
            expected = "RuntimeError" if isinstance(want, Raises) else _text(want[name])
            if column.get(name) != expected:
                problems.append(f"{experiment.header}: {name} = {column[name]}, want {expected}")
    line = f"y.requires_grad=False: RuntimeError: {NON_LEAF_MESSAGE}"
    if line not in text.splitlines():
        problems.append(f"missing the error line: {line}")
    return problems


def _text(value: float | None) -> str:
    return "None" if value is None else f"{value:g}"


def test_demo_prints_the_articles_gradients(capsys):
    """main(['demo']) runs on glassgrad; its table and error line match the article."""
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert not _check(out), "\n".join(_check(out))
    assert "detach() and no_grad() both cut the graph" in " ".join(out.split())


def test_table_layout_against_torch():
    """The same table built from real PyTorch's gradients: proves the reader and the data."""
    torch = pytest.importorskip("torch")
    text = cli.render(seed.run_all(torch))
    assert not _check(text), "\n".join(_check(text))


def test_python_dash_m_glassgrad_demo():
    """``python -m glassgrad demo`` is the same command."""
    src = str(Path(cli.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-m", "glassgrad", "demo"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not _check(result.stdout), "\n".join(_check(result.stdout))


def test_no_command_is_a_usage_error(capsys):
    """A bare ``glassgrad`` says which commands exist and exits with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "demo" in capsys.readouterr().err
