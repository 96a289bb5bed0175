"""Shape ops that make views: reshape/view/flatten, transpose/permute/movedim, squeeze.

The results are NumPy views of their input (sharing memory, as PyTorch's views share storage)
and remember their base, which PyTorch's in-place checks on views need. ``reshape`` copies only
where no view is possible, as in PyTorch.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from glassgrad import _memory_format as _mf
from glassgrad._sparse_data import SparseArray
from glassgrad.autograd.forward_rules import reshaped
from glassgrad.autograd.forward_state import ACTIVE as _FW
from glassgrad.autograd.grad_mode import state as _state
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, _wrap_dim, tensor_method


def as_view(res, base, key=None, multi=False):
    """Mark ``res`` as a view of ``base`` (``key``: the basic index that made it, if any).

    ``multi``: ``res`` is one of several views one op returns (split, chunk, unbind), which
    PyTorch refuses to modify in place.
    """
    if res._data is base._data:  # (NumPy returns the array itself for a squeeze of nothing)
        res._data = base._data.view()
    if res._data.base is None:
        return res
    root = base._extra.base if base._extra is not None and base._extra.base is not None else base
    extra = res._x()
    extra.base = root
    extra.view_key = key if root is base else None
    extra.view_meta = _creation_meta(base, multi)
    if root._vc is not None and not (root._extra is not None and root._extra.inference_alias):
        # a view shares its base's version counter (in-place changes to either show in both)
        res._vc = root._vc
        extra.view_version = root._vc[0]
    else:
        res._vc = None  # a view of an inference tensor is an inference tensor
        if root._vc is None:  # ... with no autograd meta: no CreationMeta to refuse with
            extra.view_meta = None
    if _FW[0]:  # a dual level is active: the view's tangent is the view of its base's
        from glassgrad.autograd.forward_state import share_view

        share_view(res, base)
    if res._grad_fn is None and root.requires_grad:
        # PyTorch quirk kept: a view taken under no_grad of a grad-requiring tensor reports
        # requires_grad=True, takes part in graphs, and passes its gradient nowhere.
        extra.view_no_grad = True
        res._requires_grad = True
        held = root._x()
        if held.no_grad_views is None:
            held.no_grad_views = weakref.WeakSet()
        held.no_grad_views.add(res)  # (PyTorch derives the flag from the base: it follows it)
    return res


def _creation_meta(base, multi):
    """PyTorch's CreationMeta of a new view of ``base``: the mode it was made in, else
    ``"multi"`` for split's outputs, else what ``base`` (itself a view) had; a view of a view
    made in inference mode stays marked as one."""
    made = (
        "inference"
        if _state.inference
        else "no_grad"
        if not _state.grad_enabled
        else "multi"
        if multi
        else None
    )
    before = base._extra.view_meta if base._extra is not None else None
    if made is None:
        return before
    return before if before == "inference" else made


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Tensor)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _infer(shape, numel):
    inferred = False
    for index, size in enumerate(shape):  # PyTorch's checks, in its order
        if size == -1:
            if inferred:
                raise RuntimeError("only one dimension can be inferred")
            inferred = True
        elif size < 0:
            raise RuntimeError(
                f"invalid shape dimension {size} at index {index} of shape {list(shape)}"
            )
    if list(shape).count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 and numel == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                "unspecified dimension size -1 can be any value and is ambiguous"
            )
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if int(np.prod(shape, dtype=np.int64)) != numel or any(s < 0 for s in shape):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _no_copy_reshape(data, shape):
    """The reshaped view of ``data``, or None where the strides forbid a view."""
    try:
        return np.reshape(data, shape, copy=False)
    except ValueError:
        return None


ViewBackward0 = node_class(
    "ViewBackward0", lambda ctx, grad: (D.reshape(grad, ctx._args),), jvp=reshaped
)
# PyTorch's reshape of a tensor that is not contiguous but can be viewed: ``_reshape_alias``
ReshapeAliasBackward0 = node_class(
    "ReshapeAliasBackward0", lambda ctx, grad: (D.reshape(grad, ctx._args),), jvp=reshaped
)


def _unsafe_view_backward(ctx, grad, *saved):
    """PyTorch ends two composites with ``_unsafe_view``: a copying reshape (no saved values;
    ``_args`` is the input shape) and batched matmul (saved operands, rule in ``linalg``)."""
    if saved:
        from glassgrad.ops.linalg.matmul import _matmul_backward

        return _matmul_backward(ctx, grad, *saved)
    return (D.reshape(grad, ctx._args),)


def _unsafe_view_jvp(ctx, *tangents):
    if ctx.saved:
        from glassgrad.ops.linalg.matmul import _matmul_jvp

        return _matmul_jvp(ctx, *tangents).reshape(tuple(ctx.output.shape))
    return reshaped(ctx, tangents[0])


UnsafeViewBackward0 = node_class("UnsafeViewBackward0", _unsafe_view_backward, jvp=_unsafe_view_jvp)


def reshape(input, *shape):
    """``input`` with a new shape (a view when the layout allows; ``-1`` is inferred)."""
    if not shape:
        raise TypeError('reshape() missing 1 required positional arguments: "shape"')
    data = input._data
    shape = _infer(_shape_arg(shape), data.size)
    out = _no_copy_reshape(data, shape)
    if out is None:  # PyTorch copies (``clone`` + ``_unsafe_view``): the result is no view
        return result(data.reshape(shape), UnsafeViewBackward0, (input,), args=data.shape)
    cls = ViewBackward0 if input.is_contiguous() else ReshapeAliasBackward0
    return as_view(result(out, cls, (input,), args=data.shape), input)


def _view_dtype(input, dtype):
    """``view(dtype)``: the same bytes read as ``dtype`` (the last dimension rescaled when the
    element sizes differ), sharing memory; PyTorch records no graph for it."""
    from glassgrad import dtypes as _dt
    from glassgrad._tensor_info import _c_type

    target = _dt.to_dtype(dtype)
    data = input._data
    old_size, new_size = data.dtype.itemsize, np.dtype(target.np).itemsize
    if old_size != new_size:
        names = f"{_c_type(input.dtype)} as {_c_type(target)} (different element sizes)"
        if data.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 to view {names}")
        if data.shape[-1] != 1 and data.strides[-1] != old_size:
            stride = data.strides[-1] // old_size
            raise RuntimeError(f"self.stride(-1) must be 1 to view {names}, but got {stride}")
        if new_size > old_size and (data.shape[-1] * old_size) % new_size:
            raise RuntimeError(
                f"self.size(-1) must be divisible by {new_size // old_size} to view {names}, "
                f"but got {data.shape[-1]}"
            )
        if data.shape[-1] == 1:
            data = np.lib.stride_tricks.as_strided(data, strides=data.strides[:-1] + (old_size,))
    return result(data.view(target.np), None, (input,))


def view(input, *shape):
    """``input`` with a new shape, sharing its data (``view(dtype)`` reinterprets the dtype)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer, Tensor)):
        return _view_dtype(input, shape[0])
    if not shape:
        raise TypeError(
            "view() received an invalid combination of arguments - got (), but expected one "
            "of:\n * (torch.dtype dtype)\n * (tuple of ints size)\n"
        )
    data = input._data
    shape = _infer(_shape_arg(shape), data.size)
    out = _no_copy_reshape(data, shape)
    if out is None:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return as_view(result(out, ViewBackward0, (input,), args=data.shape), input)


def view_as(input, other):
    """``input.view(other.shape)``."""
    return view(input, other.shape)


def reshape_as(input, other):
    """``input.reshape(other.shape)``."""
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` to ``end_dim`` into one."""
    shape = input._data.shape
    if not shape:
        _wrap_dim(start_dim, 0), _wrap_dim(end_dim, 0)
        return reshape(input, 1)
    start, end = _wrap_dim(start_dim, len(shape)), _wrap_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    merged = int(np.prod(shape[start : end + 1], dtype=np.int64))  # (no -1: 0 elements are fine)
    return reshape(input, shape[:start] + (merged,) + shape[end + 1 :])


def unflatten(input, dim, sizes):
    """Split dimension ``dim`` into ``sizes`` (one of them may be ``-1``)."""
    shape = input._data.shape
    dim = _wrap_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
    if (-1 in sizes and (known == 0 or shape[dim] % known)) or (
        -1 not in sizes and known != shape[dim]
    ):
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size "
            f"of dim {dim} ({shape[dim]}) in the input tensor"
        )
    return reshape(input, shape[:dim] + sizes + shape[dim + 1 :])


TransposeBackward0 = node_class(
    "TransposeBackward0",
    lambda ctx, grad: (D.swapaxes(grad, *ctx._args),),
    jvp=lambda ctx, t: t.transpose(*ctx.args),
)


def transpose(input, dim0, dim1):
    """Swap two dimensions."""
    ndim = input._data.ndim
    d0, d1 = _wrap_dim(dim0, ndim), _wrap_dim(dim1, ndim)
    out = input._data.swapaxes(d0, d1) if ndim else input._data.view()
    return as_view(result(out, TransposeBackward0, (input,), args=(d0, d1)), input)


TBackward0 = node_class(
    "TBackward0",
    lambda ctx, grad: (
        (D.swapaxes(grad, 0, 1) if D._is_array(grad) else grad.t()) if ctx._args == 2 else grad,
    ),
    jvp=lambda ctx, t: t.t(),
)


def t(input):
    """Transpose a tensor of at most 2 dimensions."""
    ndim = input._data.ndim
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    out = input._data.T if ndim == 2 else input._data.view()
    return as_view(result(out, TBackward0, (input,), args=ndim), input)


PermuteBackward0 = node_class(
    "PermuteBackward0",
    lambda ctx, grad: (D.permute(grad, tuple(np.argsort(ctx._args))),),
    jvp=lambda ctx, t: t.permute(ctx.args),
)


def permute(input, *dims):
    """Reorder the dimensions."""
    ndim = input._data.ndim
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _shape_arg(dims)
    if len(dims) != ndim:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            "length of the desired ordering of dimensions i.e. input.dim() = "
            f"{ndim} is not equal to len(dims) = {len(dims)}"
        )
    dims = tuple(_wrap_dim(d, ndim) for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return as_view(
        result(input._data.transpose(dims), PermuteBackward0, (input,), args=dims), input
    )


def _dims_list(dims):
    return [int(d) for d in dims] if isinstance(dims, (tuple, list)) else [int(dims)]


def movedim(input, source, destination):
    """Move the dimensions ``source`` to the positions ``destination`` (a permute)."""
    ndim = input._data.ndim
    src, dst = _dims_list(source), _dims_list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain the "
            f"same number of dims as destination ({dst} dims)"
        )
    src_w = [_wrap_dim(d, ndim) for d in src]
    dst_w = [_wrap_dim(d, ndim) for d in dst]
    for name, given, wrapped in (("source", src, src_w), ("destination", dst, dst_w)):
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({given})")
    rest = iter(d for d in range(ndim) if d not in src_w)
    placed = dict(zip(dst_w, src_w, strict=False))
    order = tuple(placed[i] if i in placed else next(rest) for i in range(ndim))
    return permute(input, order)


def _unsqueeze_back(ctx, grad):
    shape, dim = ctx._args
    # under create_graph PyTorch's rule is ``grad.squeeze(dim)`` (SqueezeBackward1 downstream)
    return (D.reshape(grad, shape) if D._is_array(grad) else grad.squeeze(dim),)


UnsqueezeBackward0 = node_class("UnsqueezeBackward0", _unsqueeze_back, jvp=reshaped)


def unsqueeze(input, dim):
    """Insert a dimension of size 1 at ``dim``."""
    data = input._data
    dim = _wrap_dim(dim, data.ndim + 1)
    out = np.expand_dims(data, dim)
    return as_view(result(out, UnsqueezeBackward0, (input,), args=(data.shape, dim)), input)


def _unsqueeze_rule(ctx, grad):
    return (D.reshape(grad, ctx._args),)


SqueezeBackward0 = node_class("SqueezeBackward0", _unsqueeze_rule, jvp=reshaped)
SqueezeBackward1 = node_class("SqueezeBackward1", _unsqueeze_rule, jvp=reshaped)
SqueezeBackward2 = node_class("SqueezeBackward2", _unsqueeze_rule, jvp=reshaped)


def squeeze(input, dim=None):
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    data = input._data
    if dim is None:
        return as_view(result(data.squeeze(), SqueezeBackward0, (input,), args=data.shape), input)
    cls = SqueezeBackward2 if isinstance(dim, (tuple, list)) else SqueezeBackward1
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(
        d for d in (_wrap_dim(d, data.ndim) for d in dims) if data.ndim and data.shape[d] == 1
    )
    out = data.squeeze(axes) if axes else data.view()
    return as_view(result(out, cls, (input,), args=data.shape), input)


def contiguous(input, memory_format=None):
    """``input`` itself if its elements are laid out row-major (or in ``memory_format``), else
    a copy that is."""
    if memory_format is None or memory_format is _mf.contiguous_format:
        if input._data.flags.c_contiguous:
            return input
        if input._data.__class__ is SparseArray:
            kind = input._data.layout._kind
            if kind == "Sparse":
                raise RuntimeError("unsupported memory format option Contiguous")
            raise RuntimeError(f"Sparse {kind[6:].upper()} tensors do not have is_contiguous")
        from glassgrad.ops.elementwise.unary import clone

        return clone(input)
    _mf.check(memory_format, "contiguous")
    if memory_format is _mf.preserve_format:
        if input._data.flags.c_contiguous:
            return input
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    if _mf.is_in(input._data, memory_format) and _mf._RANK[memory_format] == input._data.ndim:
        return input
    from glassgrad.ops.elementwise.unary import clone

    return clone(input, memory_format=memory_format)


# PyTorch warns about these once per process (TORCH_WARN_ONCE), each site on its own.
_WARNED: set = set()
_T_NOT_2D = (
    "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
    "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
    "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
    "tensor."
)


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def _t_property(self):
    ndim = self._data.ndim
    if ndim == 0:
        _warn_once("T0", _DEPRECATED_0D.format("T"))
    elif ndim != 2:
        _warn_once("T", _T_NOT_2D)
    return permute(self, tuple(range(ndim - 1, -1, -1)))


_DEPRECATED_0D = (
    "Tensor.{} is deprecated on 0-D tensors. This function is the identity in these cases."
)


def _mt_property(self):
    if self._data.ndim == 0:
        _warn_once("mT0", _DEPRECATED_0D.format("mT"))
        return self  # the tensor itself, not a view, as in PyTorch
    if self._data.ndim < 2:
        raise RuntimeError(
            f"tensor.mT is only supported on matrices or batches of matrices. "
            f"Got {self._data.ndim}-D tensor."
        )
    return transpose(self, -2, -1)


def _ref_reshape(x, *shape):
    return np.reshape(x, shape)


def _samples(*calls):
    """A ``samples`` function for the op table: fixed argument lists after random inputs."""

    def samples(rng):
        return [
            (
                tuple(
                    rng.standard_normal(a) if isinstance(a, tuple) and i < nin else a
                    for i, a in enumerate(args)
                ),
                kwargs,
            )
            for nin, args, kwargs in calls
        ]

    return samples


register(
    "reshape",
    reshape,
    reference=_ref_reshape,
    samples=_samples((1, ((2, 3), 3, 2), {}), (1, ((2, 3), -1), {})),
)
register(
    "view", view, function=False, reference=_ref_reshape, samples=_samples((1, ((2, 3), 6), {}))
)
register(
    "view_as",
    view_as,
    function=False,
    nin=2,
    reference=lambda x, y: x.reshape(y.shape),
    samples=_samples((1, ((2, 3), np.zeros((3, 2))), {})),
)
register(
    "reshape_as",
    reshape_as,
    function=False,
    nin=2,
    reference=lambda x, y: x.reshape(y.shape),
    samples=_samples((1, ((2, 3), np.zeros((6,))), {})),
)
register(
    "flatten",
    flatten,
    reference=lambda x, s=0, e=-1: x.reshape(x.shape[:s] + (-1,) + x.shape[e % x.ndim + 1 :]),
    samples=_samples((1, ((2, 3, 4),), {}), (1, ((2, 3, 4), 1), {})),
)
register(
    "unflatten",
    unflatten,
    reference=lambda x, d, s: x.reshape(x.shape[:d] + tuple(s) + x.shape[d + 1 :]),
    samples=_samples((1, ((2, 6), 1, (3, 2)), {})),
)
register(
    "transpose",
    transpose,
    aliases=("swapaxes", "swapdims"),
    reference=np.swapaxes,
    samples=_samples((1, ((2, 3, 4), 0, 2), {})),
)
register("t", t, shapes=((2, 3), (3,)), reference=np.transpose)
register(
    "permute",
    permute,
    reference=lambda x, *d: np.transpose(x, d),
    samples=_samples((1, ((2, 3, 4), 2, 0, 1), {})),
)
register(
    "movedim",
    movedim,
    aliases=("moveaxis",),
    reference=np.moveaxis,
    samples=_samples((1, ((2, 3, 4), 0, 2), {}), (1, ((2, 3, 4), (0, 1), (2, 0)), {})),
)
register(
    "unsqueeze",
    unsqueeze,
    reference=np.expand_dims,
    samples=_samples((1, ((2, 3), 1), {}), (1, ((3,), -1), {})),
)
register(
    "squeeze",
    squeeze,
    shapes=((1, 3, 1),),
    reference=lambda x, dim=None: np.squeeze(x, dim),
    samples=_samples((1, ((1, 3, 1),), {}), (1, ((1, 3, 1), 2), {})),
)
register("contiguous", contiguous, function=False, reference=np.ascontiguousarray)
tensor_method(property(_t_property), "T")
tensor_method(property(_mt_property), "mT")
