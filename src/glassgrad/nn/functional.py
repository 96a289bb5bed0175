"""``glassgrad.nn.functional``: the functional forms of layers, activations and losses."""

from glassgrad.ops.elementwise.unary import relu as _relu
from glassgrad.ops.elementwise.unary import sigmoid, tanh  # noqa: F401
from glassgrad.ops.nn.activation import (  # noqa: F401
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
from glassgrad.ops.nn.activation_inplace import (  # noqa: F401
    hardtanh_,
    leaky_relu_,
    rrelu,
    rrelu_,
    threshold,
    threshold_,
)
from glassgrad.ops.nn.attention import scaled_dot_product_attention  # noqa: F401
from glassgrad.ops.nn.conv.conv import conv1d, conv2d, conv3d  # noqa: F401
from glassgrad.ops.nn.conv.transpose import (  # noqa: F401
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from glassgrad.ops.nn.dropout import alpha_dropout, dropout, feature_alpha_dropout  # noqa: F401
from glassgrad.ops.nn.embedding.embedding import embedding  # noqa: F401
from glassgrad.ops.nn.fold import fold, unfold  # noqa: F401
from glassgrad.ops.nn.grid_sample import affine_grid, grid_sample  # noqa: F401
from glassgrad.ops.nn.linear import bilinear, linear  # noqa: F401
from glassgrad.ops.nn.loss.loss import (  # noqa: F401
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    smooth_l1_loss,
)
from glassgrad.ops.nn.loss.nll import cross_entropy, nll_loss  # noqa: F401
from glassgrad.ops.nn.norm import (  # noqa: F401
    batch_norm,
    group_norm,
    layer_norm,
    normalize,
)
from glassgrad.ops.nn.pad import pad  # noqa: F401
from glassgrad.ops.nn.pool.pool import (  # noqa: F401
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    max_pool2d,
)
from glassgrad.ops.nn.pool.pool3d import (  # noqa: F401
    adaptive_avg_pool3d,
    adaptive_max_pool3d,
    avg_pool3d,
    lp_pool3d,
    max_pool3d,
)
from glassgrad.ops.nn.pool.unpool import max_unpool1d, max_unpool2d, max_unpool3d  # noqa: F401
from glassgrad.ops.nn.shrink import hardshrink, softshrink  # noqa: F401
from glassgrad.ops.nn.softmax import gumbel_softmax, log_softmax, softmax, softmin  # noqa: F401
from glassgrad.ops.nn.upsample import interpolate  # noqa: F401
from glassgrad.ops.registry import function_form as _function_form

normalize = _function_form(normalize)  # F.normalize takes out= (its op's function form)

try:  # one_hot lives with the gather ops
    from glassgrad.ops.index.gather import one_hot  # noqa: F401
except ImportError:  # pragma: no cover - older trees
    pass


def relu(input, inplace=False):
    """``max(input, 0)`` element by element (``inplace`` writes it into ``input``)."""
    return input.relu_() if inplace else _relu(input)


def relu_(input):
    """``relu`` written into ``input``."""
    return input.relu_()


def elu_(input, alpha=1.0):
    """``elu`` written into ``input``."""
    return elu(input, alpha, inplace=True)


def selu_(input):
    """``selu`` written into ``input``."""
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    """``celu`` written into ``input``."""
    return celu(input, alpha, inplace=True)


_CHANNEL_NOTE = (
    "{name}: Received a {dim}-D input to {name}, which is deprecated and will result in an "
    "error in a future release. To retain the behavior and silence this warning, please use "
    "dropout instead. Note that {name} exists to provide channel-wise dropout on inputs with "
    "{spatial} spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
    "{low}D or {high}D inputs)."
)


def _unbatched_channel_dropout(input, p, training, inplace):
    """Channel dropout of an input without a batch dim: seen as a batch of one, as PyTorch."""
    from glassgrad.ops.nn.dropout import feature_dropout

    input = input.unsqueeze_(0) if inplace else input.unsqueeze(0)
    out = feature_dropout(input, p, training, inplace)
    return out.squeeze_(0) if inplace else out.squeeze(0)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, L) or (C, L) input with probability ``p``."""
    from glassgrad.ops.nn.dropout import _check_p, feature_dropout

    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    if input.dim() == 2:
        return _unbatched_channel_dropout(input, p, training, inplace)
    return feature_dropout(input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, H, W) input with probability ``p`` (a 3-D input is
    read as (N, C, L), with PyTorch's warning)."""
    import warnings as _warnings

    from glassgrad.ops.nn.dropout import _check_p, feature_dropout

    _check_p(p)
    dim = input.dim()
    if dim not in (3, 4):
        note = _CHANNEL_NOTE.format(name="dropout2d", dim=dim, spatial=2, low=3, high=4)
        _warnings.warn(note, UserWarning, stacklevel=2)
    if dim == 3:
        _warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    return feature_dropout(input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input with probability ``p``."""
    import warnings as _warnings

    from glassgrad.ops.nn.dropout import _check_p, feature_dropout

    _check_p(p)
    dim = input.dim()
    if dim not in (4, 5):
        note = _CHANNEL_NOTE.format(name="dropout3d", dim=dim, spatial=3, low=4, high=5)
        _warnings.warn(note, UserWarning, stacklevel=2)
    if dim != 5:
        return _unbatched_channel_dropout(input, p, training, inplace)
    return feature_dropout(input, p, training, inplace)


# pooling, normalisation, distance and loss functions added with their layers
# cosine_similarity: the loss family's, behind PyTorch's error for shapes that do not broadcast
from glassgrad.nn.functional_attention import (  # noqa: E402, F401
    _canonical_mask,
    _in_projection,
    _in_projection_packed,
    _mha_shape_check,
    _none_or_dtype,
    multi_head_attention_forward,
)
from glassgrad.ops.nn.distance import cosine_similarity, pairwise_distance  # noqa: E402, F401
from glassgrad.ops.nn.embedding.bag import embedding_bag  # noqa: E402, F401
from glassgrad.ops.nn.loss.margin import (  # noqa: E402, F401
    hinge_embedding_loss,
    multi_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from glassgrad.ops.nn.loss.nll import gaussian_nll_loss, poisson_nll_loss  # noqa: E402, F401
from glassgrad.ops.nn.norm import (  # noqa: E402, F401
    instance_norm,
    local_response_norm,
    rms_norm,
)
from glassgrad.ops.nn.pool.pool1d import (  # noqa: E402, F401
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
)
from glassgrad.ops.nn.shuffle import (  # noqa: E402, F401
    channel_shuffle,
    pixel_shuffle,
    pixel_unshuffle,
)
