"""``glassgrad.utils``: hooks, data loading."""

from glassgrad.utils import hooks  # noqa: F401
from glassgrad.utils import data  # noqa: F401, E402
