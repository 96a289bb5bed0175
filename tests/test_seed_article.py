"""The seed article runs unchanged and prints exactly what the article shows.

Parametrised over two backends: glassgrad (the subject) and real PyTorch (the oracle, which proves
that the harness and the expected data in ``seed_article.py`` are right).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io

import pytest

from seed_article import CELLS, Raises


def _namespace(module) -> dict:
    """A fresh namespace where ``import torch`` gives ``module`` (``import glassgrad as torch``)."""
    real_import = builtins.__import__

    def swapped_import(name, globals=None, locals=None, fromlist=(), level=0):
        # The article's first cell says ``import torch``; redirect only that name, so the cell's
        # text stays exactly the article's while the module under test answers it.
        if name == "torch" and level == 0:
            return module
        return real_import(name, globals, locals, fromlist, level)

    scope = dict(vars(builtins), __import__=swapped_import)
    return {"__builtins__": scope, "__name__": "__seed_article__"}


def _line_diff(title: str, got: str, want: str) -> list[str]:
    """One message per printed line that differs from the article's."""
    got_lines, want_lines = got.splitlines(), want.splitlines()
    problems = [
        f"[{title}] line {i + 1}: got {g!r}, article shows {w!r}"
        for i, (g, w) in enumerate(zip(got_lines, want_lines, strict=False))
        if g != w
    ]
    if len(got_lines) != len(want_lines):
        problems.append(
            f"[{title}] printed {len(got_lines)} lines, article shows {len(want_lines)}"
        )
    return problems


@pytest.mark.parametrize("backend", ["glassgrad", "torch"])
def test_seed_article_cells_print_what_the_article_shows(backend):
    """Run every cell in order in one namespace and compare each printed line."""
    module = (
        pytest.importorskip(backend) if backend == "torch" else importlib.import_module(backend)
    )
    namespace = _namespace(module)
    problems: list[str] = []
    for title, code, expected in CELLS:
        stdout = io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout):
                exec(compile(code, f"<seed cell {title}>", "exec"), namespace)
        except Exception as exc:  # any failure is reported with the cell it came from
            if not isinstance(expected, Raises):
                problems.append(f"[{title}] raised {type(exc).__name__}: {exc}")
                # Later cells depend on this one's state; their failures would only be noise.
                break
            if type(exc) is not expected.type or str(exc) != expected.message:
                problems.append(
                    f"[{title}] raised {type(exc).__name__}: {exc!s}\n"
                    f"  article shows {expected.type.__name__}: {expected.message}"
                )
            problems += _line_diff(title, stdout.getvalue(), "")
            continue
        if isinstance(expected, Raises):
            problems.append(f"[{title}] did not raise {expected.type.__name__}")
            continue
        problems += _line_diff(title, stdout.getvalue(), expected)
    assert not problems, "\n".join(problems)
