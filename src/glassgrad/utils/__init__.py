"""``glassgrad.utils``: hooks, data loading."""

from glassgrad.utils import (
    data,  # noqa: F401, E402
    hooks,  # noqa: F401
)
