"""``glassgrad.nn``: modules, parameters, layers, losses, initialisation and utilities."""

from glassgrad.nn import (
    functional,  # noqa: F401
    init,  # noqa: F401
    modules,  # noqa: F401
    parallel,  # noqa: F401, E402 - DistributedDataParallel, DataParallel
    utils,  # noqa: F401, E402
)
from glassgrad.nn.modules import *  # noqa: F403
from glassgrad.nn.modules import Module  # noqa: F401
from glassgrad.nn.modules import _paths as _paths
from glassgrad.nn.parallel import DataParallel  # noqa: F401, E402
from glassgrad.nn.parameter import (  # noqa: F401
    Buffer,
    Parameter,
    UninitializedBuffer,
    UninitializedParameter,
)

_paths.install(modules)  # every layer also at PyTorch's module path (torch.nn.modules.activation)
