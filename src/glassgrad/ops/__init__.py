"""The op library: importing this package fills the op table and the Tensor methods.

Each family folder (``elementwise``, ``special``, ``reduce``, ``sort``, ``shape``, ``index``,
``linalg``, ``random``, ``nn``) holds the ops of one kind; this top level keeps what they all
share: the op table (``registry``), the array-or-tensor helpers (``_dual``), the table's sample
inputs (``_sampling``) and the in-place machinery (``inplace``, ``inplace_core``, ``view_rebase``).
The families are imported in dependency order: the core ops first, then the ``nn`` ones.
"""

from glassgrad.ops.elementwise import arith
from glassgrad.ops.elementwise import binary
from glassgrad.ops.elementwise import power
from glassgrad.ops.elementwise import where
from glassgrad.ops.linalg import einsum
from glassgrad.ops.index import gather
from glassgrad.ops.index import indexing
from glassgrad.ops import inplace
from glassgrad.ops.linalg import matmul
from glassgrad.ops.linalg import inverse
from glassgrad.ops.linalg import factorize
from glassgrad.ops.elementwise import binary_math
from glassgrad.ops.special import gamma
from glassgrad.ops.special import airy
from glassgrad.ops.special import bessel_i
from glassgrad.ops.special import bessel_j
from glassgrad.ops.special import bessel_k
from glassgrad.ops.special import incomplete_gamma
from glassgrad.ops.special import erf
from glassgrad.ops.special import elementary
from glassgrad.ops.special import polynomials
from glassgrad.ops.special import zeta
from glassgrad.ops.linalg import products
from glassgrad.ops.shape import combine
from glassgrad.ops.elementwise import logic
from glassgrad.ops.elementwise import pointwise
from glassgrad.ops.elementwise import conversions
from glassgrad.ops.random import fill
from glassgrad.ops.random import sample
from glassgrad.ops.reduce import sum_prod
from glassgrad.ops.reduce import minmax
from glassgrad.ops.reduce import stats
from glassgrad.ops.reduce import nan
from glassgrad.ops.reduce import cumulative
from glassgrad.ops.reduce import quantile
from glassgrad.ops.reduce import histogram
from glassgrad.ops.reduce import norms
from glassgrad.ops.shape import view
from glassgrad.ops.shape import expand
from glassgrad.ops.shape import join
from glassgrad.ops.shape import diagonal
from glassgrad.ops.shape import sections
from glassgrad.ops.sort import sort
from glassgrad.ops.sort import search
from glassgrad.ops.sort import unique
from glassgrad.ops.index import take
from glassgrad.ops.index import index_write
from glassgrad.ops.elementwise import unary
from glassgrad.ops.index.gather import one_hot  # noqa: F401 - for nn.functional
from glassgrad.ops.nn import activation
from glassgrad.ops.nn import activation_inplace
from glassgrad.ops.nn import shrink
from glassgrad.ops.nn import linear
from glassgrad.ops.nn.conv import conv
from glassgrad.ops.nn.conv import transpose
from glassgrad.ops.nn.embedding import bag
from glassgrad.ops.nn.loss import loss
from glassgrad.ops.nn import norm
from glassgrad.ops.nn import dropout
from glassgrad.ops.nn.embedding import embedding
from glassgrad.ops.nn import attention
from glassgrad.ops.nn.pool import pool
from glassgrad.ops.nn.pool import pool3d
from glassgrad.ops.nn.pool import unpool
from glassgrad.ops.nn import fold
from glassgrad.ops.nn import grid_sample
from glassgrad.ops.nn import pad
from glassgrad.ops.nn import softmax
from glassgrad.ops.nn.loss import nll
from glassgrad.ops.nn import distance
from glassgrad.ops.nn.loss import margin
from glassgrad.ops.nn import fused_backward
from glassgrad.ops.elementwise import complex  # last: it marks the rules of all the others
from glassgrad.ops.registry import OPS

inplace._install_from_table()  # in-place forms of the ops above, now that all have registered
fused_backward.install()  # PyTorch's fused backward kernels' requires_grad under create_graph

__all__ = ["OPS"]
