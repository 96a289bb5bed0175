"""Public names for the graph's parts (what ``grad_fn`` objects are)."""

from glassgrad.autograd.node import AccumulateGrad, Node

__all__ = ["Node", "AccumulateGrad"]
