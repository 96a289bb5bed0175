"""The op library: importing this package fills the op table and the Tensor methods."""

from glassgrad.ops import (  # noqa: F401 - imported for their registrations
    binary, indexing, inplace, linalg, reduce, shape, unary,
)
from glassgrad.ops.registry import OPS

__all__ = ["OPS"]
