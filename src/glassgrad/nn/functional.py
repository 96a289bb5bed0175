"""``glassgrad.nn.functional``: the functional forms of layers, activations and losses."""

from glassgrad.ops.activation import (  # noqa: F401
    celu,
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    silu,
    softplus,
    softsign,
    tanhshrink,
)
from glassgrad.ops.conv import bilinear, conv1d, conv2d, conv_transpose2d, linear  # noqa: F401
from glassgrad.ops.loss import (  # noqa: F401
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cosine_similarity,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    smooth_l1_loss,
)
from glassgrad.ops.norm import (  # noqa: F401
    batch_norm,
    dropout,
    embedding,
    group_norm,
    layer_norm,
    normalize,
    scaled_dot_product_attention,
)
from glassgrad.ops.pool import (  # noqa: F401
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    max_pool2d,
)
from glassgrad.ops.resize import interpolate, pad  # noqa: F401
from glassgrad.ops.softmax import cross_entropy, log_softmax, nll_loss, softmax, softmin  # noqa: F401
from glassgrad.ops.unary import relu, sigmoid, tanh  # noqa: F401

try:  # one_hot lives with the gather ops
    from glassgrad.ops.gather import one_hot  # noqa: F401
except ImportError:  # pragma: no cover - older trees
    pass


def threshold(input, threshold, value, inplace=False):
    """``input`` where it exceeds ``threshold``, else ``value``."""
    from glassgrad.ops.binary import where

    return where(input > threshold, input, value)
