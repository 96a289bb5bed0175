"""DOT text and rendering: the ``Graph`` object ``draw`` returns.

Rendering prefers the ``graphviz`` Python package and falls back to running ``dot`` directly;
either way the system's Graphviz ``dot`` program does the layout. Without it ``.source`` still
works and ``render`` says how to install Graphviz.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["Graph", "GraphvizNotFound", "quote"]

INSTALL_HINT = (
    "glassgrad.glass.draw needs the Graphviz program `dot` to render pictures, and it was not "
    "found on PATH. Install Graphviz (Debian/Ubuntu: `apt-get install graphviz`; macOS: "
    "`brew install graphviz`; conda: `conda install -c conda-forge graphviz`; Windows: "
    "https://graphviz.org/download/). The DOT text is available meanwhile as `graph.source`."
)


class GraphvizNotFound(RuntimeError):
    """Raised by ``Graph.render``/``pipe`` when the Graphviz ``dot`` program is missing."""


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def attrs(**values) -> str:
    """``[key="value", ...]`` for the attributes that are not None."""
    items = [
        f"{key.rstrip('_')}={_value(value)}" for key, value in values.items() if value is not None
    ]
    return f" [{', '.join(items)}]" if items else ""


def _value(value) -> str:
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return value  # an HTML-like label
    return quote(value)


class Graph:
    """A drawn graph: ``.source`` (DOT text), ``.render(path, format)``, ``_repr_svg_``."""

    def __init__(self, source: str, summary: dict | None = None) -> None:
        self.source = source
        self.summary = summary or {}

    def __str__(self) -> str:
        return self.source

    def pipe(self, format: str = "svg") -> bytes:  # noqa: A002 - graphviz's name
        """The rendered picture as bytes (``svg``, ``png``, ``pdf``, ...)."""
        if shutil.which("dot") is None:
            raise GraphvizNotFound(INSTALL_HINT)
        try:
            import graphviz
        except ImportError:
            graphviz = None
        if graphviz is not None:
            try:
                return graphviz.Source(self.source).pipe(format=format)
            except graphviz.ExecutableNotFound as exc:
                raise GraphvizNotFound(INSTALL_HINT) from exc
        done = subprocess.run(
            ["dot", f"-T{format}"], input=self.source.encode(), capture_output=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def render(self, path, format: str | None = None) -> Path:  # noqa: A002
        """Write the picture to ``path`` (format from ``format`` or the suffix, default svg)."""
        path = Path(path)
        if format is None:
            format = path.suffix.lstrip(".") or "svg"  # noqa: A001
        if path.suffix.lstrip(".") != format:
            path = path.with_name(f"{path.name}.{format}")
        data = self.pipe(format)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def __repr__(self) -> str:
        nodes = len(re.findall(r"^\s*(?:n\d+|\"module:[^\"]*\") \[", self.source, re.M))
        return f"<glassgrad Graph: {nodes} nodes; .source is its DOT text, .render(path) draws it>"

    def _repr_svg_(self) -> str | None:
        """The picture, inline in Jupyter; None without Graphviz's ``dot`` (Jupyter then shows
        the text form instead of a traceback)."""
        if shutil.which("dot") is None:
            return None
        return self.pipe("svg").decode()
