"""``torch.amp``: CPU autocast with PyTorch's op lists, and loss scaling."""

from glassgrad.amp.autocast_mode import (  # noqa: F401
    autocast,
    custom_bwd,
    custom_fwd,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_enabled,
    set_autocast_dtype,
)
from glassgrad.amp.grad_scaler import GradScaler  # noqa: F401
