"""The op table under ``vmap``: every op's batched result equals the loop over its samples.

Each sample of each op becomes a batch of three: the sample itself and two versions with each
array's values permuted (so they stay in the op's domain). ``vmap`` over all arrays, and over
the first array only (the others shared by every sample), must give what calling the op once
per sample and stacking gives: values, dtypes and shapes; and, where PyTorch's
``torch.func.vmap`` runs the op on that batch, what it gives.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import torch
from tests.ops.test_op_table import _callable, _convert_kwargs, _styles, samples_of, to_lib

import glassgrad
from glassgrad.func import vmap
from glassgrad.ops import OPS

# Ops whose batched run differs from the per-sample loop, with why (strict: delete on passing).
KNOWN: dict[str, str] = {}
# Ops whose batched call still runs per sample, with why. Strict both ways: an op that batches
# must leave this list; a new op must not fall back.
LOOPED_WHY = {
    # PyTorch's vmap runs these per sample too (its own performance warning): data-dependent
    # output sizes or ranges per sample
    "bincount": "output length is each sample's largest value",
    "histc": "bin edges come from each sample's min and max",
    "histogram": "bin edges come from each sample's min and max",
    "repeat_interleave": "output length is each sample's sum of repeats",
    "embedding_bag": "bags split at each sample's own offsets",
    "masked_scatter": "each sample takes as many source values as its mask holds",
    # PyTorch has batching rules; glassgrad's kernels still work on one sample's array
    "index_add": "a per-sample index into a batch: ufunc.at with a batched key after slices",
    "index_copy": "the kernel writes through np.asarray of the input (one sample's array)",
    "index_fill": "the kernel writes through np.asarray of the input (one sample's array)",
    "scatter_reduce": "the reduce kernel works on np.asarray of input and source",
    "median": "the whole-tensor median branches on the sample's NaN count",
    "nanmedian": "the whole-tensor median branches on the sample's NaN count",
    "mode": "PyTorch's std::sort replay branches per row on its data",
    # PyTorch's vmap refuses it (dynamic shape); glassgrad loops where the shapes agree
    "unique": "output length is each sample's count of distinct values",
}
LOOPED = set(LOOPED_WHY)
RANDOM = {"dropout", "rrelu"}  # random ops: vmap's randomness modes, tested in test_func_vmap
DYNAMIC = {"argwhere", "masked_select", "nonzero"}  # data-dependent shapes: PyTorch's error


def _variants(array, rng):
    if not isinstance(array, np.ndarray) or array.size < 2:
        return [array] * 3
    flat = array.reshape(-1)
    made = [flat[rng.permutation(flat.size)].reshape(array.shape) for _ in range(2)]
    if array.ndim and array.dtype.kind in "iuf" and (np.diff(array, axis=-1) >= 0).all():
        made = [np.sort(m, axis=-1) for m in made]  # (sorted rows stay sorted: searchsorted)
    return [array] + made


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray)


def _batch(args, rng):
    """(per-sample argument lists, batched arguments, which arguments are batched)."""
    per = [[], [], []]
    stacked = []
    mapped = []
    for arg in args:
        if _is_array(arg):
            variants = _variants(arg, rng)
            for i in range(3):
                per[i].append(variants[i])
            stacked.append(np.stack(variants))
            mapped.append(True)
        else:
            for i in range(3):
                per[i].append(arg)
            stacked.append(arg)
            mapped.append(False)
    return per, stacked, mapped


def _tensors(out):
    kinds = (glassgrad.Tensor, torch.Tensor)
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, kinds)]
    return [out] if isinstance(out, kinds) else []


# Ops whose values PyTorch computes differently even without vmap (tested against PyTorch in
# test_op_table with their own tolerances or tie rules): no comparison with torch.func.vmap.
TORCH_DIFFERS: dict[str, str] = {
    "all": "PyTorch's vmap reads dim=[] as every dimension; its unbatched all reads it as none",
    "any": "PyTorch's vmap reads dim=[] as every dimension; its unbatched any reads it as none",
    "bucketize": "the permuted samples' boundaries are unsorted: each library's answer is its own",
    "searchsorted": "the permuted samples' sequences are unsorted: each answer is its own",
}


def _check(info, args, kwargs, first_only, fell_back):
    rng = np.random.default_rng(7)
    per, stacked, mapped = _batch(args, rng)
    if first_only and sum(mapped) > 1:
        first = mapped.index(True)
        mapped = [i == first for i in range(len(mapped))]
        stacked = [
            s if m or not _is_array(a) else a for s, m, a in zip(stacked, mapped, args, strict=True)
        ]
        per = [
            [p if m or not _is_array(a) else a for p, m, a in zip(row, mapped, args, strict=True)]
            for row in per
        ]
    if not any(mapped):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wants = [
                _tensors(info.fn(*[to_lib(a, glassgrad) for a in row], **kwargs)) for row in per
            ]
        except Exception:  # noqa: BLE001 - a permuted sample outside the op's domain
            return False
        if any(
            len(w) != len(wants[0])
            or any(a.shape != b.shape for a, b in zip(w, wants[0], strict=False))
            for w in wants
        ):
            return False  # data-dependent output shapes (unique, nonzero): not vmappable
        in_dims = tuple(0 if m else None for m in mapped)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = vmap(lambda *a: info.fn(*a, **kwargs), in_dims=in_dims)(
                *[to_lib(s, glassgrad) for s in stacked]
            )
    slow = {str(w.message) for w in caught if "performance drop" in str(w.message)}
    got = _tensors(got)
    fell_back[0] = fell_back[0] or bool(slow)
    assert len(got) == len(wants[0])
    for index, tensor in enumerate(got):
        want = np.stack([w[index].numpy() for w in wants])
        assert tensor.dtype == wants[0][index].dtype, (info.name, kwargs)
        np.testing.assert_allclose(
            tensor.numpy(), want, rtol=1e-10, atol=1e-12, err_msg=f"{info.name} {kwargs}"
        )
    theirs = _torch_vmap(info, stacked, kwargs, in_dims)
    if theirs is None:
        return False
    assert len(theirs) == len(got), (info.name, kwargs)
    for ours, their in zip(got, theirs, strict=True):
        context = f"{info.name} {kwargs} in_dims={in_dims}: torch.func.vmap"
        assert str(ours.dtype) == str(their.dtype), context
        assert tuple(ours.shape) == tuple(their.shape), context
        np.testing.assert_allclose(
            ours.numpy(), their.detach().numpy(), rtol=1e-7, atol=1e-9, err_msg=context
        )
    return True


def _call(fn, kwargs, *args):
    return fn(*args, **kwargs)


def _torch_vmap(info, stacked, kwargs, in_dims):
    """PyTorch's ``torch.func.vmap`` of the op over the same batch, or None where PyTorch has
    no public form of it or its vmap refuses the call."""
    if info.name in TORCH_DIFFERS:
        return None
    candidates = [_callable(info, torch, style) for style in _styles(info)]
    if info.name.startswith("special_"):  # (torch.special.zeta is the table's special_zeta)
        candidates.append(getattr(torch.special, info.name[len("special_") :], None))
    for fn in candidates:
        if fn is None:
            continue
        theirs = _convert_kwargs(kwargs, torch)
        args = [to_lib(s, torch) for s in stacked]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call = functools.partial(_call, fn, theirs)
                return _tensors(torch.func.vmap(call, in_dims=in_dims)(*args))
            except Exception:  # noqa: BLE001, S112 - PyTorch's vmap does not run this call
                continue
    return None


def _marked(names):
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=True)) if n in KNOWN else n
        for n in names
    ]


@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_vmap_refuses_data_dependent_shapes(name):
    info = OPS[name]
    args, kwargs = samples_of(info, np.random.default_rng(3))[0]
    batched = [to_lib(np.stack([a, a]), glassgrad) if _is_array(a) else a for a in args]
    dims = tuple(0 if _is_array(a) else None for a in args)
    with pytest.raises(RuntimeError, match="vmap: We do not support batching operators"):
        vmap(lambda *a: info.fn(*a, **kwargs), in_dims=dims)(*batched)


@pytest.mark.parametrize(
    "name", _marked([n for n in sorted(OPS) if n not in RANDOM and n not in DYNAMIC])
)
def test_vmap_matches_loop(name):
    info = OPS[name]
    samples = samples_of(info, np.random.default_rng(3))
    fell_back = [False]
    for args, kwargs in samples:
        if any(isinstance(a, list) for a in args):
            continue  # (list arguments of tensors: cat/stack are checked in test_func_vmap)
        _check(info, args, kwargs, False, fell_back)
        _check(info, args, kwargs, True, fell_back)
    # batched array code, not a loop: only the listed ops may take the per-sample fallback
    assert fell_back[0] == (name in LOOPED), (name, "fell back" if fell_back[0] else "batched")
