"""``glassgrad.utils``: hooks, data loading."""

from glassgrad.utils import hooks  # noqa: F401
