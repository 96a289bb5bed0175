"""The op library: importing this package fills the op table and the Tensor methods."""

from glassgrad.ops import (  # noqa: F401 - imported for their registrations
    arith,
    binary,
    einsum,
    gather,
    indexing,
    inplace,
    linalg,
    linalg_decomp,
    linalg_svd,
    binary_math,
    special,
    special_airy,
    special_bessel,
    special_bessel_j,
    special_bessel_k,
    special_gamma,
    special_more,
    special_poly,
    special_zeta,
    products,
    combine,
    logic,
    pointwise,
    pointwise_more,
    random_fill,
    random_sample,
    reduce,
    reduce_minmax,
    reduce_stats,
    shape,
    shape_join,
    shape_tri,
    sorting,
    sorting_search,
    take_trace,
    unary,
)
from glassgrad.ops.gather import one_hot  # noqa: F401 - for nn.functional
from glassgrad.ops import (  # noqa: F401, E402 - the neural-network families, after the core ops
    activation,
    activation_inplace,
    conv,
    conv_transpose,
    embedding_bag,
    loss,
    norm,
    pool,
    resize,
    softmax,
)
from glassgrad.ops.registry import OPS

inplace._install_from_table()  # in-place forms of the ops above, now that all have registered

__all__ = ["OPS"]
