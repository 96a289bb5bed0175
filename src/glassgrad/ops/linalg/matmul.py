"""Matrix products: ``matmul`` (``@``) in every broadcasting form, ``mm``, ``mv``, ``bmm``,
``dot``, ``outer``, ``addmm`` and ``baddbmm`` (``einsum`` has its own file)."""

from __future__ import annotations

import numpy as np

from glassgrad._batched import BatchedArray
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, refuse_inference_saved, result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.ops.shape.view import UnsafeViewBackward0
from glassgrad.tensor import _C_NAMES, Tensor, tensor_method


def _fortran(t) -> bool:
    """Whether ``t`` is a 2-D F-ordered view (a weight used as ``w.t()``)."""
    data = t._data
    return data.ndim == 2 and data.flags.f_contiguous and not data.flags.c_contiguous


def _laid_out_like(left, right, fortran):
    """``left @ right``, F-ordered when the operand this is the gradient of was (``fortran``).

    A weight used as ``w.t()`` is an F-ordered view; giving its gradient the same order means
    the ``TBackward0`` behind it hands the leaf a C-contiguous array it can keep without a copy.
    """
    if fortran and left.__class__ is np.ndarray and left.ndim == 2 and right.ndim == 2:
        return (right.T @ left.T).T
    return left @ right


def _saved_pair(a, b):
    """As PyTorch: each operand is saved only if the other one's gradient needs it, so an
    in-place change of an operand nothing reads again is no error."""
    return (a if needs_grad(b) else None, b if needs_grad(a) else None)


def _matmul_backward(ctx, grad, a, b):
    """One rule for all forms: lift 1-D operands to matrices, multiply, drop the lifted dim.

    ``a`` (``b``) is None when only the other operand's gradient is wanted; the shapes are the
    node's record of its inputs."""
    (a_shape, _), (b_shape, _) = ctx._meta
    a_fortran, b_fortran = ctx._args
    a_vec, b_vec = len(a_shape) == 1, len(b_shape) == 1
    want_a, want_b = ctx.next_functions[0][0] is not None, ctx.next_functions[1][0] is not None
    if a_vec and b_vec:
        return (grad * b if want_a else None), (grad * a if want_b else None)
    g = grad
    if a_vec:
        g = D.reshape(g, (*g.shape[:-1], 1, g.shape[-1]))
    if b_vec:
        g = D.reshape(g, (*g.shape, 1))
    grad_a = grad_b = None
    if want_a:
        b2 = D.reshape(b, (b_shape[0], 1)) if b_vec else b
        grad_a = _laid_out_like(g, D.swapaxes(b2, -1, -2), a_fortran)
        if a_vec:
            grad_a = D.reshape(grad_a, (*grad_a.shape[:-2], grad_a.shape[-1]))
    if want_b:
        a2 = D.reshape(a, (1, a_shape[0])) if a_vec else a
        grad_b = _laid_out_like(D.swapaxes(a2, -1, -2), g, b_fortran)
        if b_vec:
            grad_b = D.reshape(grad_b, grad_b.shape[:-1])
    return grad_a, grad_b


def _matmul_jvp(ctx, ta, tb):
    """Bilinear: ``ta @ b + a @ tb``."""
    a, b = ctx.inputs
    part = None if ta is None else ta @ b
    if tb is None:
        return part
    return a @ tb if part is None else part + a @ tb


DotBackward0 = node_class("DotBackward0", _matmul_backward, jvp=_matmul_jvp)
MmBackward0 = node_class("MmBackward0", _matmul_backward, jvp=_matmul_jvp)
MvBackward0 = node_class("MvBackward0", _matmul_backward, jvp=_matmul_jvp)


def _bmm_backward(ctx, grad, a, b):
    """bmm's rule; recorded (``create_graph``) as ``bmm``s, as PyTorch's formula is."""
    if grad.__class__ is np.ndarray:
        return _matmul_backward(ctx, grad, a, b)
    grad_a = grad_b = None
    if ctx.next_functions[0][0] is not None:
        grad_a = grad.bmm(b.transpose(1, 2))
    if ctx.next_functions[1][0] is not None:
        grad_b = a.transpose(1, 2).bmm(grad)
    return grad_a, grad_b


BmmBackward0 = node_class("BmmBackward0", _bmm_backward, jvp=_matmul_jvp)
SqueezeBackward4 = node_class("SqueezeBackward4", _matmul_backward, jvp=_matmul_jvp)
# Batched forms end in PyTorch's ``_unsafe_view`` node, shared with copying reshapes (shape.view).
_NODES = {(1, 1): DotBackward0, (2, 2): MmBackward0, (2, 1): MvBackward0, (1, 2): SqueezeBackward4}


def _same_dtype(a, b):
    """PyTorch's refusal of mixed dtypes, in the words of the kernel ``a @ b`` runs on."""
    if a._data.dtype == b._data.dtype:
        return
    if a.ndim == 1 and b.ndim == 1:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{_C_TYPES[a.dtype.name]} and {_C_TYPES[b.dtype.name]}"
        )
    if b.ndim == 1:  # addmv allocates its result with the vector's dtype
        vec, mat = _C_TYPES[b.dtype.name], _C_TYPES[a.dtype.name]
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {vec}, {mat}, and {vec}"
        )
    raise RuntimeError(
        "expected m1 and m2 to have the same dtype, but got: "
        f"{_C_NAMES[a.dtype.name]} != {_C_NAMES[b.dtype.name]}"
    )


def _check(a, b, name):
    ad, bd = a._data, b._data
    if ad.ndim == 0 or bd.ndim == 0:
        raise RuntimeError(
            f"both arguments to {name} need to be at least 1D, but they are "
            f"{ad.ndim}D and {bd.ndim}D"
        )
    k_a = ad.shape[-1]
    k_b = bd.shape[0] if bd.ndim == 1 else bd.shape[-2]
    if bd.ndim > 2 or (ad.ndim > 2 and name != "matmul"):
        _check_batched(ad, bd, k_a, k_b, (a, b))
        return
    refuse_inference_saved((a, b), _saved_pair(a, b))  # (mm, mv and dot save first)
    if ad.ndim > 2:  # PyTorch folds the batch into the rows of one mm (or mv)
        ad = ad.reshape(-1, k_a)
        if k_a != k_b:
            _mismatch(ad, bd, k_a, k_b)
    _same_dtype(a, b)
    if k_a != k_b:
        _mismatch(ad, bd, k_a, k_b)


def _mismatch(ad, bd, k_a, k_b):
    if ad.ndim == 1 and bd.ndim == 1:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{k_a}] and src [{k_b}] to "
            f"have the same number of elements, but got {k_a} and {k_b} elements "
            "respectively"
        )
    if ad.ndim == 2 and bd.ndim == 1:
        raise RuntimeError(
            f"size mismatch, got input ({ad.shape[0]}), mat ({ad.shape[0]}x{k_a}), vec ({k_b})"
        )
    left = "x".join(str(n) for n in (ad.shape if ad.ndim > 1 else (1, k_a))[-2:])
    right = "x".join(str(n) for n in (bd.shape if bd.ndim > 1 else (k_b, 1))[-2:])
    raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right})")


def _check_batched(ad, bd, k_a, k_b, operands):
    """PyTorch's checks where matmul runs as one bmm over the broadcast batch dimensions."""
    from glassgrad.ops.elementwise.binary import broadcast_shapes

    batch = broadcast_shapes(ad.shape[:-2], bd.shape[:-2])
    refuse_inference_saved(operands, _saved_pair(*operands))  # (bmm saves before it checks)
    count = 1
    for size in batch:
        count *= size
    if k_a != k_b:
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{count}, {k_a}] but got: [{count}, {k_b}]."
        )
    _scalar_type(ad, bd)


def _scalar_type(a, b):
    """The batched kernels' refusal of mixed dtypes (``a``, ``b``: tensors or arrays)."""
    a, b = getattr(a, "_data", a).dtype, getattr(b, "_data", b).dtype
    if a != b:
        raise RuntimeError(f"expected scalar type {_C_TYPES[a.name]} but found {_C_TYPES[b.name]}")


def matmul(input, other):
    """Matrix product with NumPy/PyTorch broadcasting of batch dimensions."""
    if not isinstance(other, Tensor):
        return NotImplemented
    _check(input, other, "matmul")
    ad, bd = input._data, other._data
    if ad.ndim > 2 or bd.ndim > 2:
        try:
            out = np.matmul(ad, bd)
        except ValueError:
            from glassgrad._errors import broadcast_error

            raise broadcast_error(ad.shape[:-2], bd.shape[: -2 if bd.ndim > 1 else 0]) from None
    else:
        out = np.matmul(ad, bd)
    if out.dtype != ad.dtype and ad.dtype == bd.dtype:  # (NumPy gives bfloat16 products in float32)
        out = out.astype(ad.dtype)
    cls = _NODES.get((ad.ndim, bd.ndim), UnsafeViewBackward0)
    fortran = (_fortran(input), _fortran(other))
    res = result(out, cls, (input, other), _saved_pair(input, other), args=fortran)
    if res._grad_fn is not None and (ad.ndim > 2 or bd.ndim > 2 or ad.ndim < bd.ndim):
        res._grad_fn._saved_shapes = _saved_shapes(ad, bd)
    return res


def _folds(data, shape):
    """Whether PyTorch's reshape of ``data`` to ``shape`` is a view (else it saves a copy)."""
    folded = data.reshape(shape)
    return folded.size == 0 or np.may_share_memory(folded, data)


def _saved_shapes(ad, bd):
    """The views of its operands PyTorch's matmul saves (what its version error names, as
    ``AsStrided`` once their base changed): a vector lifted to a row, a batch folded into the
    rows of one ``mm`` (transposed when only the second operand has one), or both expanded to
    the broadcast batch of one ``bmm``. An operand it saves as is, or as a copy, has no entry."""
    a, b = ad.shape, bd.shape
    if len(b) > 2 and len(a) > 2 and int(np.prod(b[:-2])) == 1:
        shapes = _saved_shapes(ad, bd.reshape(b[-2:]))
        return {**shapes, 1: b[-2:]}
    if len(b) <= 2:
        if len(a) == 1:
            return {0: (1, a[0])} if len(b) == 2 else {}
        rows = (int(np.prod(a[:-1])), a[-1])
        return {0: rows} if len(a) > 2 and _folds(ad, rows) else {}
    if len(a) <= 2:  # PyTorch folds b^T's batch into rows and multiplies by a^T
        rows = (int(np.prod(b[:-2])) * b[-1], b[-2])
        shapes = {1: rows} if _folds(np.swapaxes(bd, -1, -2), rows) else {}
        return {**shapes, 0: a[::-1]} if len(a) == 2 else shapes
    from glassgrad.ops.elementwise.binary import broadcast_shapes

    batch = broadcast_shapes(a[:-2], b[:-2])
    count = int(np.prod(batch))
    return {
        index: (count, *shape[-2:])
        for index, shape in ((0, a), (1, b))
        if tuple(shape[:-2]) == tuple(batch)  # (a broadcast one is expanded and copied)
    }


def mm(input, mat2):
    """Product of two matrices."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix")
    return matmul(input, mat2)


def mv(input, vec):
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {input.ndim}, {input.ndim}, {vec.ndim}"
        )
    return matmul(input, vec)


def dot(input, tensor):
    """Dot product of two 1-D tensors."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    refuse_inference_saved((input, tensor), _saved_pair(input, tensor))
    _same_dtype(input, tensor)
    return matmul(input, tensor)


def bmm(input, mat2):
    """Batched product of two 3-D tensors (no broadcasting)."""
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    refuse_inference_saved((input, mat2), _saved_pair(input, mat2))
    a, b = input._data.shape, mat2._data.shape
    if b[:2] != (a[0], a[2]):
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{a[0]}, {a[2]}] but got: [{b[0]}, {b[1]}]."
        )
    _scalar_type(input, mat2)
    out = np.matmul(input._data, mat2._data)
    if out.dtype != input._data.dtype:  # (NumPy gives bfloat16 products in float32)
        out = out.astype(input._data.dtype)
    return result(out, BmmBackward0, (input, mat2), _saved_pair(input, mat2), args=(False, False))


def outer(input, vec2):
    """Outer product of two vectors (PyTorch computes it as a broadcast multiply)."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    # a reshape to a column, as PyTorch's: input's create_graph gradient ends in ViewBackward0
    return input.reshape(input.shape[0], 1) * vec2


def _addmm_backward(ctx, grad, mat1, mat2):
    beta, alpha, fortran1, fortran2 = ctx._args
    nexts = ctx.next_functions
    grad_input = None if nexts[0][0] is None else (grad if beta == 1 else grad * beta)
    scaled = grad if alpha == 1 else grad * alpha
    grad1 = grad2 = None
    if nexts[1][0] is not None:
        grad1 = _laid_out_like(scaled, D.swapaxes(mat2, -1, -2), fortran1)
    if nexts[2][0] is not None:
        grad2 = _laid_out_like(D.swapaxes(mat1, -1, -2), scaled, fortran2)
    return grad_input, grad1, grad2


def _addmm_jvp(ctx, t_input, t1, t2):
    """``beta * t_input + alpha * (t1 @ mat2 + mat1 @ t2)``."""
    beta, alpha = ctx.args[:2]
    _, mat1, mat2 = ctx.inputs
    product = _matmul_jvp(type(ctx)(None, (mat1, mat2), ctx.outputs, None, None), t1, t2)
    if product is not None and alpha != 1:
        product = product * alpha
    if t_input is None or beta == 0:
        return product
    scaled = t_input if beta == 1 else t_input * beta
    return scaled if product is None else product + scaled


AddmmBackward0 = node_class("AddmmBackward0", _addmm_backward, jvp=_addmm_jvp)
BaddbmmBackward0 = node_class("BaddbmmBackward0", _addmm_backward, jvp=_addmm_jvp)


def _fused_add(input, product, cls, mat1, mat2, beta, alpha):
    """``beta * input + alpha * product``: the input broadcasts to the product (as expand)."""
    bias = input._data
    if bias.shape != product.shape[-bias.ndim :] or bias.ndim > product.ndim:
        from glassgrad.ops.shape.expand import expand

        with _no_record():
            expand(input, product.shape)  # PyTorch's shape check and message
    out = product * alpha if alpha != 1 else product  # ``product`` is ours: add in place
    if beta != 0:
        addend = bias * beta if beta != 1 else bias
        if addend.__class__ is BatchedArray:  # (vmap: a per-sample bias, a batched sum)
            out = out + addend
        else:
            out += addend
    return result(
        out.astype(mat2._data.dtype, copy=False),  # (NumPy gives bfloat16 products in float32)
        cls,
        (input, mat1, mat2),
        _saved_pair(mat1, mat2),
        args=(beta, alpha, _fortran(mat1), _fortran(mat2)),
    )


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` in one node (what ``nn.Linear`` records)."""
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    for name, t in (("self", input), ("mat1", mat1)):
        if t._data.dtype != mat2._data.dtype:
            raise RuntimeError(
                f"{name} and mat2 must have the same dtype, but got "
                f"{_C_TYPES[t.dtype.name]} and {_C_TYPES[mat2.dtype.name]}"
            )
    _check(mat1, mat2, "addmm")
    product = np.matmul(mat1._data, mat2._data)
    return _fused_add(input, product, AddmmBackward0, mat1, mat2, beta, alpha)


def _baddbmm_dtypes(input, batch1, batch2):
    """PyTorch compares the input's dtype with ``batch1``'s before any shape."""
    if input._data.dtype != batch1._data.dtype:
        i, b1, b2 = (_C_NAMES[t.dtype.name] for t in (input, batch1, batch2))
        raise RuntimeError(
            f"Input dtypes must be the same, got: input {i}, batch1: {b1}, batch2: {b2}"
        )


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)`` in one node."""
    from glassgrad.autograd.grad_mode import no_grad

    _baddbmm_dtypes(input, batch1, batch2)

    with no_grad():
        product = bmm(batch1, batch2)._data
    return _fused_add(input, product, BaddbmmBackward0, batch1, batch2, beta, alpha)


def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    """In place: PyTorch's result takes ``batch2``'s dtype, so ``self`` must have it."""
    from glassgrad.ops.inplace_core import inplace

    _baddbmm_dtypes(self, batch1, batch2)
    if self._data.dtype != batch2._data.dtype:
        raise RuntimeError(
            f"Bad in-place call: input tensor dtype {_C_NAMES[self.dtype.name]} and output tensor "
            f"dtype {_C_NAMES[batch2.dtype.name]} should match"
        )
    return inplace(self, baddbmm, batch1, batch2, beta=beta, alpha=alpha)


def _no_record():
    from glassgrad.autograd.grad_mode import no_grad

    return no_grad()


def _mats(*shapes):
    return lambda rng: [(tuple(rng.standard_normal(s) for s in shapes), {})]


register(
    "matmul",
    matmul,
    nin=2,
    reference=np.matmul,
    samples=lambda rng: [
        ((rng.standard_normal(a), rng.standard_normal(b)), {})
        for a, b in (
            ((3,), (3,)),
            ((2, 3), (3, 4)),
            ((2, 3), (3,)),
            ((3,), (3, 2)),
            ((2, 2, 3), (3, 4)),
            ((3,), (2, 3, 4)),
            ((2, 1, 2, 3), (3, 3, 2)),
        )
    ],
    out="result",
)
register("mm", mm, nin=2, reference=np.matmul, samples=_mats((2, 3), (3, 4)), out="expected")
register("mv", mv, nin=2, reference=np.matmul, samples=_mats((2, 3), (3,)), out="expected")
register("dot", dot, nin=2, reference=np.dot, samples=_mats((3,), (3,)), out="result")
register(
    "bmm", bmm, nin=2, reference=np.matmul, samples=_mats((2, 2, 3), (2, 3, 4)), out="expected"
)
register(
    "outer",
    outer,
    aliases=("ger",),
    nin=2,
    reference=np.outer,
    samples=_mats((3,), (2,)),
    out={"dtype": "cast", "grad_name": "mul"},
)
register(
    "addmm",
    addmm,
    nin=3,
    reference=lambda i, a, b, beta=1, alpha=1: beta * i + alpha * (a @ b),
    samples=lambda rng: [
        ((rng.standard_normal(4), rng.standard_normal((2, 3)), rng.standard_normal((3, 4))), {}),
        (
            (rng.standard_normal((2, 4)), rng.standard_normal((2, 3)), rng.standard_normal((3, 4))),
            {"beta": 0.5, "alpha": 2.0},
        ),
    ],
    out="expected",
)
register(
    "baddbmm",
    baddbmm,
    nin=3,
    reference=lambda i, a, b, beta=1, alpha=1: beta * i + alpha * (a @ b),
    samples=_mats((3, 4), (2, 3, 2), (2, 2, 4)),
    out="expected",
)
tensor_method(matmul, "__matmul__")
tensor_method(baddbmm_, "baddbmm_")
tensor_method(
    lambda self, other: matmul(other, self) if isinstance(other, Tensor) else NotImplemented,
    "__rmatmul__",
)
