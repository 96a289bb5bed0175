"""The layers of ``glassgrad.nn``."""

from glassgrad.nn.modules.activation import *  # noqa: F403
from glassgrad.nn.modules.cells import *  # noqa: F403
from glassgrad.nn.modules.container import *  # noqa: F403
from glassgrad.nn.modules.conv import *  # noqa: F403
from glassgrad.nn.modules.distance import *  # noqa: F403
from glassgrad.nn.modules.dropout import *  # noqa: F403
from glassgrad.nn.modules.fold import *  # noqa: F403
from glassgrad.nn.modules.instancenorm import *  # noqa: F403
from glassgrad.nn.modules.linear import *  # noqa: F403
from glassgrad.nn.modules.loss import *  # noqa: F403
from glassgrad.nn.modules.loss_more import *  # noqa: F403
from glassgrad.nn.modules.module import Module  # noqa: F401
from glassgrad.nn.modules.normalization import *  # noqa: F403
from glassgrad.nn.modules.padding import *  # noqa: F403
from glassgrad.nn.modules.parameter_containers import *  # noqa: F403
from glassgrad.nn.modules.pixelshuffle import *  # noqa: F403
from glassgrad.nn.modules.pooling import *  # noqa: F403
from glassgrad.nn.modules.pooling1d import *  # noqa: F403
from glassgrad.nn.modules.rmsnorm import *  # noqa: F403
from glassgrad.nn.modules.rnn import *  # noqa: F403
from glassgrad.nn.modules.sparse import *  # noqa: F403
from glassgrad.nn.modules.syncbatchnorm import *  # noqa: F403
from glassgrad.nn.modules.transformer import *  # noqa: F403
from glassgrad.nn.modules.transformer_decoder import *  # noqa: F403
from glassgrad.nn.modules.upsampling import *  # noqa: F403
