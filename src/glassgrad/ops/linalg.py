"""Matrix products: ``matmul`` (``@``) in every broadcasting form, ``mm``, ``mv``, ``dot``."""

from __future__ import annotations

import numpy as np

from glassgrad.ops import _dual as D
from glassgrad.ops.registry import Tensor, node_class, register, result
from glassgrad.tensor import _C_NAMES


def _matmul_backward(ctx, grad, a, b):
    """One rule for all forms: lift 1-D operands to matrices, multiply, drop the lifted dim."""
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    a2 = D.reshape(a, (1, a.shape[0])) if a_vec else a
    b2 = D.reshape(b, (b.shape[0], 1)) if b_vec else b
    g = grad
    if a_vec and b_vec:
        return grad * b, grad * a
    if a_vec:
        g = D.reshape(g, (*g.shape[:-1], 1, g.shape[-1]))
    if b_vec:
        g = D.reshape(g, (*g.shape, 1))
    grad_a = grad_b = None
    if ctx.next_functions[0][0] is not None:
        grad_a = g @ D.swapaxes(b2, -1, -2)
        if a_vec:
            grad_a = D.reshape(grad_a, (*grad_a.shape[:-2], grad_a.shape[-1]))
    if ctx.next_functions[1][0] is not None:
        grad_b = D.swapaxes(a2, -1, -2) @ g
        if b_vec:
            grad_b = D.reshape(grad_b, grad_b.shape[:-1])
    return grad_a, grad_b


DotBackward0 = node_class("DotBackward0", _matmul_backward)
MmBackward0 = node_class("MmBackward0", _matmul_backward)
MvBackward0 = node_class("MvBackward0", _matmul_backward)
SqueezeBackward4 = node_class("SqueezeBackward4", _matmul_backward)
UnsafeViewBackward0 = node_class("UnsafeViewBackward0", _matmul_backward)
_NODES = {(1, 1): DotBackward0, (2, 2): MmBackward0, (2, 1): MvBackward0,
          (1, 2): SqueezeBackward4}


def _check(a, b, name):
    ad, bd = a._data, b._data
    if ad.ndim == 0 or bd.ndim == 0:
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are "
                           f"{ad.ndim}D and {bd.ndim}D")
    if ad.dtype != bd.dtype:
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_C_NAMES[a.dtype.name]} != {_C_NAMES[b.dtype.name]}"
        )
    k_a = ad.shape[-1]
    k_b = bd.shape[0] if bd.ndim == 1 else bd.shape[-2]
    if k_a != k_b:
        if ad.ndim == 1 and bd.ndim == 1:
            raise RuntimeError("inconsistent tensor size, expected tensor [{}] and src [{}] to "
                               "have the same number of elements, but got {} and {} elements "
                               "respectively".format(k_a, k_b, k_a, k_b))
        if ad.ndim == 2 and bd.ndim == 1:
            raise RuntimeError(f"size mismatch, got input ({ad.shape[0]}), mat ({ad.shape[0]}x"
                               f"{k_a}), vec ({k_b})")
        left = "x".join(str(n) for n in (ad.shape if ad.ndim > 1 else (1, k_a))[-2:])
        right = "x".join(str(n) for n in (bd.shape if bd.ndim > 1 else (k_b, 1))[-2:])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right})")


def matmul(input, other, *, out=None):
    """Matrix product with NumPy/PyTorch broadcasting of batch dimensions."""
    if not isinstance(other, Tensor):
        return NotImplemented
    _check(input, other, "matmul")
    ad, bd = input._data, other._data
    cls = _NODES.get((ad.ndim, bd.ndim), UnsafeViewBackward0)
    return result(np.matmul(ad, bd), cls, (input, other), (input, other))


def mm(input, mat2):
    """Product of two matrices."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix")
    return matmul(input, mat2)


def mv(input, vec):
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError("vector + matrix @ vector expected, got "
                           f"{input.ndim}, {input.ndim}, {vec.ndim}")
    return matmul(input, vec)


def dot(input, tensor):
    """Dot product of two 1-D tensors."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                           "tensors")
    return matmul(input, tensor)


register("matmul", matmul, nin=2, shapes=((2, 3),))
register("mm", mm, nin=2)
register("mv", mv, nin=2)
register("dot", dot, nin=2)
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self) if isinstance(other, Tensor) \
    else NotImplemented
