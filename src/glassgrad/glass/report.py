"""What ``glassgrad explain`` prints and writes: the text report and one self-contained HTML page.

The page holds, per model, the explain table, the graph drawn by module (inline SVG) and the
gradient-flow figure (inline SVG); it needs no file beside it and no network. The table is
rendered from ``Explanation``'s public rows only, which is also what Jupyter shows
(``Explanation._repr_html_``).
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Report", "ModelReport", "explanation_html", "write_html"]

RULE = "=" * 72


@dataclass
class ModelReport:
    """One outermost ``nn.Module``: its variable name, class, explanation, drawing, optimizer."""

    name: str
    kind: str
    explanation: object
    graph: object
    optimizer: str | None = None
    layers: list = field(default_factory=list)  # flowplot.Layer, measured at the backward

    @property
    def title(self) -> str:
        held = "" if self.optimizer is None else f", optimizer {self.optimizer}"
        return f"{self.name} ({self.kind}{held})"


@dataclass
class Report:
    """Everything explained at one ``backward()`` of a script."""

    step: int
    where: str
    loss: float | None
    models: list = field(default_factory=list)
    optimizers: list = field(default_factory=list)  # (name, class)
    notes: list = field(default_factory=list)  # about the whole program, not one model

    @property
    def heading(self) -> str:
        loss = "" if self.loss is None else f", loss = {self.loss:.6g}"
        return f"gradient flow at backward() #{self.step} ({self.where}{loss})"

    @staticmethod
    def text_of(report: Report | None, calls: int, step: int) -> str:
        """The printed report; says so plainly when the chosen backward never ran."""
        lines = ["", RULE, "glassgrad explain", RULE]
        if report is None:
            lines.append(_missing(calls, step))
            return "\n".join(lines)
        lines.append(report.heading)
        if report.optimizers:
            names = ", ".join(f"{name} ({kind})" for name, kind in report.optimizers)
            lines.append(f"optimizers: {names}")
        for model in report.models:
            lines += ["", f"{model.title}:", str(model.explanation)]
        if report.notes:
            lines += ["", *[f"note: {note}" for note in report.notes]]
        return "\n".join(lines)


def _missing(calls: int, step: int) -> str:
    if calls == 0:
        return "the script never called backward(): nothing to explain"
    return f"the script called backward() {calls} times, so there is no backward() #{step}"


def _cell(text, css: str = "") -> str:
    css = f' class="{css}"' if css else ""
    return f"<td{css}>{html.escape(str(text))}</td>"


def _grad_text(row) -> str:
    if getattr(row, "grad_norm", None) is None:
        return "yes (backward not run)" if row.receives else "none"
    return f"{row.grad_norm:.4g}"


def _stat(value) -> str:
    return "" if value is None else f"{value:.3g}"


def explanation_html(explanation) -> str:
    """An ``Explanation`` as an HTML table (rows, then its findings), for Jupyter and pages."""
    head = ("parameter", "shape", "status", "‖grad‖", "mean |g|", "max |g|", "why not")
    parts = [
        '<table class="glass-explain">',
        f"<caption>gradient flow to {html.escape(explanation.output)}</caption>",
        "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>",
    ]
    for row in explanation.rows:
        status = getattr(row, "status", "ok" if row.receives else "none")
        names = getattr(row, "names", None) or (row.name,)
        shape = "x".join(map(str, row.shape)) or "scalar"
        parts.append(
            f'<tr class="status-{html.escape(status)}">'
            + _cell(" = ".join(names))
            + _cell(shape)
            + _cell(status, "status")
            + _cell(_grad_text(row))
            + _cell(_stat(getattr(row, "grad_mean_abs", None)))
            + _cell(_stat(getattr(row, "grad_max_abs", None)))
            + _cell(row.reason)
            + "</tr>"
        )
    parts.append("</table>")
    notes = list(getattr(explanation, "notes", []) or [])
    if notes:
        parts.append(
            '<ul class="glass-notes">'
            + "".join(f"<li>{html.escape(str(note))}</li>" for note in notes)
            + "</ul>"
        )
    return "\n".join(parts)


STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table.glass-explain { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
table.glass-explain caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
table.glass-explain th, table.glass-explain td { border: 1px solid #bbb; padding: 3px 8px; }
table.glass-explain th { background: #eee; }
tr.status-ok td.status { color: #176317; }
tr:not(.status-ok) td.status { color: #b00020; font-weight: bold; }
figure { margin: 1em 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def _inline_svg(svg: str) -> str:
    """SVG text fit for inlining in HTML: without its XML declaration and DOCTYPE."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _drawing(model: ModelReport) -> str:
    if shutil.which("dot") is None:
        return (
            "<p>Graphviz's <code>dot</code> is not installed: the drawing's DOT text follows."
            f"</p><pre>{html.escape(model.graph.source)}</pre>"
        )
    return _inline_svg(model.graph.pipe("svg").decode())


def _figure(model: ModelReport) -> str:
    from glassgrad.glass.flowplot import gradient_flow_svg

    if not model.layers:
        return "<p>no layers: the graph's leaves belong to no nn.Module</p>"
    try:
        return _inline_svg(gradient_flow_svg(model.layers, title=model.title))
    except ImportError:  # matplotlib is an optional extra
        return "<p>no gradient-flow figure: matplotlib is not installed</p>"


def page(report: Report | None, calls: int, step: int) -> str:
    """The whole report as one HTML document."""
    body = [f"<h1>glassgrad explain</h1><p>{html.escape(_summary(report, calls, step))}</p>"]
    notes = report.notes if report is not None else []
    if notes:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
        body.append(f'<ul class="glass-notes">{items}</ul>')
    for model in report.models if report is not None else []:
        body += [
            f"<section><h2>{html.escape(model.title)}</h2>",
            explanation_html(model.explanation),
            f'<figure class="glass-flow">{_figure(model)}'
            "<figcaption>mean and max |grad| per layer</figcaption></figure>",
            f'<figure class="glass-graph">{_drawing(model)}'
            "<figcaption>the graph by module (depth 1)</figcaption></figure></section>",
        ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>glassgrad explain</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _summary(report: Report | None, calls: int, step: int) -> str:
    if report is None:
        return _missing(calls, step)
    optimizers = ", ".join(f"{name} ({kind})" for name, kind in report.optimizers)
    return report.heading + (f"; optimizers: {optimizers}" if optimizers else "")


def write_html(report: Report | None, path, calls: int, step: int) -> Path:
    """Write the page to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(report, calls, step), encoding="utf-8")
    return path
