"""``glassgrad.glass``: see where gradients flow, where they stop, and why.

``draw`` pictures the graph with its cuts, ``explain`` says per parameter why no gradient came,
``cost`` counts what the graph holds for backward, ``audit`` catches frozen state that changed.
They read the graph and the provenance records; they record nothing themselves.
"""

from __future__ import annotations

from glassgrad.autograd import flows as _flows
from glassgrad.autograd import provenance as _provenance
from glassgrad.glass._dot import Graph, GraphvizNotFound
from glassgrad.glass._scope import record_modules
from glassgrad.glass.audit import Audit, audit
from glassgrad.glass.cost import Cost, cost
from glassgrad.glass.draw import draw
from glassgrad.glass.explain import Explanation, Finding, ModuleFlow, Row, explain
from glassgrad.glass.flowplot import gradient_flow

__all__ = [
    "draw",
    "explain",
    "gradient_flow",
    "cost",
    "audit",
    "provenance",
    "record_flows",
    "record_modules",
    "Graph",
    "GraphvizNotFound",
    "Explanation",
    "Row",
    "ModuleFlow",
    "Finding",
    "Cost",
    "Audit",
]


class _Switch:
    """Set a flag now; as a context manager, restore the previous value on exit."""

    def __init__(self, flag: bool = True) -> None:
        self.previous = self._set(bool(flag))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        self._set(self.previous)


class provenance(_Switch):  # noqa: N801 - reads like the switch it is
    """Switch provenance records on or off (``glass.provenance(False)``; also a ``with``)."""

    @staticmethod
    def _set(flag: bool) -> bool:
        return _provenance.set_enabled(flag)


class record_flows(_Switch):  # noqa: N801
    """Make backward keep each node's incoming gradient (value, or shape and norm) for ``draw``.

    Off by default: it costs a norm per node per backward. Without it ``draw`` still labels the
    edges out of leaves from their ``.grad``.
    """

    @staticmethod
    def _set(flag: bool) -> bool:
        return _flows.record_flows(flag)
