"""``glassgrad.utils``: hooks, data loading."""

from glassgrad.utils import (
    _pytree,  # noqa: F401 - torch.utils._pytree
    checkpoint,  # noqa: F401
    data,  # noqa: F401, E402
    dlpack,  # noqa: F401 - torch.utils.dlpack
    hooks,  # noqa: F401
)
