"""``glassgrad.utils``: hooks, data loading."""

from glassgrad.utils import (
    checkpoint,  # noqa: F401
    data,  # noqa: F401, E402
    hooks,  # noqa: F401
)
