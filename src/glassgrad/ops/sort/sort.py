"""Sorting and selection along a dim: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
``median``/``nanmedian``, ``mode`` (``cummax``/``cummin`` and searches: ``sort.search``).

Every op orders with NumPy's stable argsort, where NaN sorts last (PyTorch sorts NaN as the
largest value too), and returns PyTorch's ``torch.return_types`` pairs. The gradient of the
values goes back to the selected positions .

Ties: here every order is stable. PyTorch's ``sort(stable=True)`` is too, and so is its default
sort on rows of up to 16 elements; on longer rows it leaves the order of ties unspecified.
``topk``, ``kthvalue``, ``median(dim)`` and ``mode`` pick among equal values with
``std::nth_element``/``std::sort``, whose choice is unspecified; here the first (``mode``: the
last) tied position in stable order is returned, which agrees with PyTorch on tie-free data
(and for ``mode`` on NaN-free rows of up to 16 elements). Values always agree.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, result, results, track_versions
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.index.gather import along_key
from glassgrad.ops.reduce.minmax import return_type
from glassgrad.ops.registry import register
from glassgrad.ops.sort._introsort import mode_of_row
from glassgrad.tensor import Tensor, _wrap_dim

sort_type, topk_type, kthvalue_type = (return_type(n) for n in ("sort", "topk", "kthvalue"))
median_type, nanmedian_type, mode_type = (return_type(n) for n in ("median", "nanmedian", "mode"))


def _scatter_backward(ctx, grad):
    # the values were read at ``key``: their gradient goes back there (repeats accumulate)
    shape, work_shape, key, kept = ctx._args
    return (D.reshape(D.scatter_into(work_shape, key, D.reshape(grad, kept)), shape),)


def _gathered_jvp(ctx, tangent):
    # the values are the input's elements at ``key``: so are their tangents
    _, work_shape, key, _ = ctx.args
    return tangent.reshape(work_shape)[key].reshape(tuple(ctx.outputs[0].shape))


SortBackward0 = node_class("SortBackward0", _scatter_backward, jvp=_gathered_jvp)
SortBackward1 = node_class("SortBackward1", _scatter_backward, jvp=_gathered_jvp)
TopkBackward0 = node_class("TopkBackward0", _scatter_backward, jvp=_gathered_jvp)
KthvalueBackward0 = node_class("KthvalueBackward0", _scatter_backward, jvp=_gathered_jvp)
MedianBackward1 = node_class("MedianBackward1", _scatter_backward, jvp=_gathered_jvp)
NanmedianBackward1 = node_class("NanmedianBackward1", _scatter_backward, jvp=_gathered_jvp)
ModeBackward0 = node_class("ModeBackward0", _scatter_backward, jvp=_gathered_jvp)


def _even_backward(ctx, grad):
    # a full median shares its gradient evenly among the elements equal to it, as PyTorch does
    return (grad * ctx._args,)


def _even_jvp(ctx, tangent):
    return (tangent * Tensor._from_array(ctx.args)).sum()


MedianBackward0 = node_class("MedianBackward0", _even_backward, jvp=_even_jvp)
NanmedianBackward0 = node_class("NanmedianBackward0", _even_backward, jvp=_even_jvp)


def _work(input, dim):
    """The data viewed with at least one dim (a 0-d tensor is a 1-element row) and the axis."""
    data = input._data
    axis = _wrap_dim(dim, data.ndim)
    return (data.reshape(1) if data.ndim == 0 else data), axis


def _no_complex(data):
    if data.dtype.kind == "c":
        raise RuntimeError(" Sort does not support complex dtypes on CPU")


def _no_bool(name, data):
    if data.dtype == np.bool_:
        raise NotImplementedError(f"\"{name}\" not implemented for 'Bool'")


def _nonempty(name, work, axis):
    if work.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


def order(work, axis, descending=False):
    """Stable argsort along ``axis`` with NaN largest; descending keeps ties in input order."""
    if not descending:
        return np.argsort(work, axis=axis, kind="stable")
    # a stable ascending sort of the reversed row, reversed back: descending, ties in order
    flipped = np.argsort(np.flip(work, axis), axis=axis, kind="stable")
    return work.shape[axis] - 1 - np.flip(flipped, axis)


def _pair(input, work, axis, index, cls, pair, reduced=False, keepdim=False):
    """``pair(values, indices)`` read at ``index`` (int64, in ``work``), with its node."""
    index = index.astype(np.int64, copy=False)
    values = np.take_along_axis(work, index, axis)
    shape = input._data.shape
    if not shape:
        out_shape = ()
    elif reduced and not keepdim:
        out_shape = shape[:axis] + shape[axis + 1 :]
    else:
        out_shape = values.shape
    args = None
    if needs_grad(input):
        args = (shape, work.shape, along_key(index, axis), values.shape)
    outs = (values.reshape(out_shape), index.reshape(out_shape))
    return pair(*results(outs, cls, (input,), args=args, differentiable=(True, False)))


def sort(input, dim=-1, descending=False, *, stable=None):
    """The values along ``dim`` in order (NaN largest) and where they came from; stable."""
    work, axis = _work(input, dim)
    _no_complex(work)
    cls = SortBackward0 if stable is None else SortBackward1
    return _pair(input, work, axis, order(work, axis, descending), cls, sort_type)


def argsort(input, dim=-1, descending=False, *, stable=False):
    """The indices that sort ``input`` along ``dim`` (stable; NaN largest)."""
    work, axis = _work(input, dim)
    _no_complex(work)
    index = order(work, axis, descending).reshape(input._data.shape)
    return result(index.astype(np.int64, copy=False), None, (input,))


def msort(input):
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim``, in order, and their indices."""
    if input._data.dtype.kind == "c":
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    work, axis = _work(input, dim)
    if work.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if not 0 <= k <= work.shape[axis]:
        raise RuntimeError("selected index k out of range")
    # ``sorted=False`` leaves the order unspecified in PyTorch; sorted order is one such order
    index = np.take(order(work, axis, largest), np.arange(k), axis=axis)
    return _pair(input, work, axis, index, TopkBackward0, topk_type)


def _select(input, work, axis, position, cls, pair, keepdim):
    """The element at sorted ``position`` (an int or an array broadcast along the row)."""
    index = np.take_along_axis(
        order(work, axis), np.broadcast_to(position, _kept(work, axis)), axis
    )
    return _pair(input, work, axis, index, cls, pair, True, keepdim)


def _kept(work, axis):
    return work.shape[:axis] + (1,) + work.shape[axis + 1 :]


def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest value along ``dim`` (1-based) and its index."""
    work, axis = _work(input, dim)
    _no_bool("kthvalue_cpu", work)
    _nonempty("kthvalue", work, axis)
    if not 1 <= k <= work.shape[axis]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    return _select(input, work, axis, k - 1, KthvalueBackward0, kthvalue_type, keepdim)


def _full_median(input, ignore_nan):
    """The lower median of all elements; the gradient is shared among the equal elements."""
    data = input._data
    _no_bool("median_cpu" if not ignore_nan else "nanmedian_cpu", data)
    flat = np.sort(data.reshape(-1))  # NaN last
    nans = np.isnan(flat) if _floating(flat) else np.zeros(flat.shape, bool)
    count = flat.size - int(nans.sum()) if ignore_nan else flat.size
    if count == 0 or (not ignore_nan and nans.any()):
        value = np.asarray(np.nan if _floating(flat) else 0, dtype=data.dtype)
    else:
        value = flat[(count - 1) // 2]
    share = None
    if needs_grad(input):
        hit = (data == value) | (np.isnan(data) & np.isnan(value))
        share = hit / max(int(hit.sum()), 1)
        share = share.astype(data.dtype)
    cls = NanmedianBackward0 if ignore_nan else MedianBackward0
    res = result(np.asarray(value, dtype=data.dtype), cls, (input,), args=share)
    return track_versions(res, input, output=True)  # (PyTorch saves input and result)


def _median_position(work, axis, ignore_nan):
    nans = np.isnan(work) if _floating(work) else np.zeros(work.shape, bool)
    valid = work.shape[axis] - nans.sum(axis=axis, keepdims=True)
    if ignore_nan:
        return np.maximum(valid - 1, 0) // 2, None
    first_nan = np.argmax(nans, axis=axis, keepdims=True)
    return (work.shape[axis] - 1) // 2, (valid < work.shape[axis], first_nan)


def _median(name, input, dim, keepdim, ignore_nan, classes, pair):
    if dim is None:
        if keepdim:
            raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
        return _full_median(input, ignore_nan)
    work, axis = _work(input, dim)
    _no_bool(f"{name}_cpu", work)
    _nonempty("median", work, axis)  # (PyTorch's nanmedian says median() here too)
    position, nan_rows = _median_position(work, axis, ignore_nan)
    index = np.take_along_axis(
        order(work, axis), np.broadcast_to(position, _kept(work, axis)), axis
    )
    if nan_rows is not None:  # a row holding NaN has median NaN, at its first NaN
        index = np.where(nan_rows[0], nan_rows[1], index)
    return _pair(input, work, axis, index, classes, pair, True, keepdim)


def median(input, dim=None, keepdim=False):
    """No dim: the lower median of all elements. With dim: values and indices along it."""
    _dt.refuse_complex(input._data, "median_cpu")
    return _median("median", input, dim, keepdim, False, MedianBackward1, median_type)


def nanmedian(input, dim=None, keepdim=False):
    """``median`` ignoring NaN (NaN only where every element is NaN)."""
    return _median("nanmedian", input, dim, keepdim, True, NanmedianBackward1, nanmedian_type)


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (smallest on ties) and its last index.

    Rows of up to 16 elements without NaN are done at once with a stable sort, which is the
    order PyTorch's ``std::sort`` gives them. A row holding NaN, or a longer row whose most
    frequent value occurs more than once (its reported index depends on the unstable order),
    follows ``std::sort``'s steps (``_introsort``), so the index, and the element the gradient
    goes to, are PyTorch's."""
    work, axis = _work(input, dim)
    _nonempty("mode", work, axis)
    rows = np.moveaxis(work, axis, -1)
    ranks = order(rows, -1)
    ordered = np.take_along_axis(rows, ranks, -1)
    size = ordered.shape[-1]
    positions = np.arange(size)
    ends = np.ones(ordered.shape, bool)
    ends[..., :-1] = ordered[..., 1:] != ordered[..., :-1]
    starts = np.ones(ordered.shape, bool)
    starts[..., 1:] = ends[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=-1)
    counts = np.where(ends, positions - run_start + 1, 0)
    # the first largest count is the smallest most frequent value; its run ends at the
    # value's last position (stable order)
    best = np.argmax(counts, axis=-1)[..., None]
    found = np.take_along_axis(ranks, best, -1)
    if _differentiable(rows):
        exact = np.isnan(rows).any(-1)
    else:
        exact = np.zeros(rows.shape[:-1], bool)
    if size > 16:
        exact |= np.take_along_axis(counts, best, -1)[..., 0] > 1
    if exact.any():
        flat_rows, flat_found = rows.reshape(-1, size), found.reshape(-1)
        for row in np.flatnonzero(exact.reshape(-1)):
            flat_found[row] = mode_of_row(flat_rows[row].tolist())
        found = flat_found.reshape(found.shape)
    index = np.moveaxis(found, -1, axis)
    return _pair(input, work, axis, index, ModeBackward0, mode_type, True, keepdim)


# -- the op table ----------------------------------------------------------------------------
def _dims(shape):
    return list(range(-len(shape), len(shape))) if shape else [0, -1]


def _sort_samples(make, shape):
    x = make(shape)
    samples = [((x,), {})]
    for d in _dims(shape):
        samples += [
            ((x,), {"dim": d, "descending": d % 2 == 0}),
            ((x,), {"dim": d, "stable": True}),
        ]
    return samples


def _ties(make, shape):
    """Rounded values: ties, decided by the op's tie rule (never by central differences)."""
    x = np.asarray(np.round(make(shape, low=-1.5, high=1.5)))
    return [((x,), {"dim": d}) for d in _dims(shape)] + [((x,), {"descending": True})]


def _topk_samples(make, shape):
    x = make(shape)
    samples = []
    for d in _dims(shape):
        size = shape[d] if shape else 1
        samples += [((x, min(2, size), d), {}), ((x, size), {"dim": d, "largest": False})]
    return samples


def _kth_samples(make, shape):
    x = make(shape)
    samples = []
    for d in _dims(shape):
        size = max(shape[d] if shape else 1, 1)
        samples += [((x, size // 2 + 1, d), {}), ((x, 1), {"dim": d, "keepdim": True})]
    return samples


def _median_samples(make, shape):
    x = make(shape)
    return [((x,), {})] + [((x, d), {"keepdim": d < 0}) for d in _dims(shape)]


def _full_ties(make, shape):
    return [((np.asarray(np.round(make(shape, low=-1.5, high=1.5))),), {})]


def _with_nan(make, shape):
    x = make(shape)
    if x.size:
        x.reshape(-1)[:: max(x.size // 2, 2)] = np.nan
    return [((x,), {})] + [((x, d), {}) for d in _dims(shape)]


def _dim_samples(make, shape):
    x = make(shape)
    return [((x, d), {}) for d in _dims(shape)] + [((x,), {"dim": _dims(shape)[0]})]


def _tie_dims(make, shape):
    x = np.asarray(np.round(make(shape, low=-1.5, high=1.5)))
    return [((x, d), {}) for d in _dims(shape)]


def _sorted_ref(x, dim=-1, descending=False, stable=None):
    flat = np.atleast_1d(x)
    index = np.argsort(-flat if descending else flat, axis=dim, kind="stable")
    return np.take_along_axis(flat, index, dim).reshape(x.shape), index.reshape(x.shape)


def _picked(x, dim, position, keepdim):
    values, index = _sorted_ref(np.atleast_1d(x), dim)
    pick = [position] if keepdim else position
    shape = () if x.ndim == 0 else None
    values, index = np.take(values, pick, dim), np.take(index, pick, dim)
    return (values, index) if shape is None else (values.reshape(()), index.reshape(()))


def _topk_ref(x, k, dim=-1, largest=True):
    values, index = _sorted_ref(x, dim, largest)
    if x.ndim == 0:
        return values, index
    return np.take(values, np.arange(k), dim), np.take(index, np.arange(k), dim)


def _median_ref(x, dim=None, keepdim=False):
    if dim is None:
        return np.sort(x.reshape(-1))[(x.size - 1) // 2]
    return _picked(x, dim, ((x.shape[dim] if x.ndim else 1) - 1) // 2, keepdim)


_SORT_DTYPES = ("float64", "float32", "int64")
_FLOATS = ("float64", "float32")
register(
    "sort",
    sort,
    samples=shaped(_sort_samples),
    edge_samples=shaped(_ties),
    any_shape=True,
    dtypes=_SORT_DTYPES,
    reference=lambda x, dim=-1, descending=False, stable=None: _sorted_ref(x, dim, descending),
    out="expected",
)
register(
    "argsort",
    argsort,
    samples=shaped(_sort_samples),
    edge_samples=shaped(_ties),
    any_shape=True,
    differentiable=False,
    dtypes=_SORT_DTYPES,
    reference=lambda x, dim=-1, descending=False, stable=None: _sorted_ref(x, dim, descending)[1],
)
register(
    "msort",
    msort,
    samples=shaped(lambda make, shape: [((make(shape),), {})]),
    edge_samples=shaped(_full_ties),
    any_shape=True,
    dtypes=_SORT_DTYPES,
    reference=lambda x: _sorted_ref(x, 0)[0],
    out={"dtype": "expected", "grad_name": "sort"},
)
register(
    "topk",
    topk,
    samples=shaped(_topk_samples),
    any_shape=True,
    dtypes=_FLOATS,
    reference=_topk_ref,
    out="expected",
)
register(
    "kthvalue",
    kthvalue,
    samples=shaped(_kth_samples),
    any_shape=True,
    dtypes=_FLOATS,
    reference=lambda x, k, dim=-1, keepdim=False: _picked(x, dim, k - 1, keepdim),
    out="kthvalue",
)
for _fn in (median, nanmedian):
    register(
        _fn.__name__,
        _fn,
        samples=shaped(_median_samples),
        edge_samples=shaped(lambda make, shape: _full_ties(make, shape) + _with_nan(make, shape)),
        any_shape=True,
        dtypes=_FLOATS,
        reference=_median_ref,
        out={"dtype": "cast", "needs": "dim"},  # (the overload without dim takes no out=)
    )
register(
    "mode",
    mode,
    samples=shaped(_dim_samples),
    edge_samples=shaped(_tie_dims),
    any_shape=True,
    dtypes=_SORT_DTYPES,
    reference=lambda x, dim=-1: _picked(x, dim, 0, False),
    out="mode",
)
