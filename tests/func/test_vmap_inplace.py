"""In-place writes under vmap against PyTorch 2.13: a batch written into a tensor that is not
batched at its level is refused with PyTorch's text (which differs by op: "inplace
arithmetic", the op's name, ``aten::op_`` at a level, a broadcast-shape error, out='s
batching-rule error); writes into a batched tensor, batched or not, work."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tests.func.compare import close

import glassgrad

X = np.arange(1.0, 7.0).reshape(3, 2)


def _mask(L):
    return L.tensor([True, False])


def _index(L):
    return L.tensor([0])


WRITES = {  # y (unbatched, shape [2]), v (batched, per-sample shape [2])
    "add_": lambda L, y, v: y.add_(v),
    "iadd": lambda L, y, v: y.__iadd__(v),
    "sub_": lambda L, y, v: y.sub_(v),
    "mul_": lambda L, y, v: y.mul_(v),
    "imul": lambda L, y, v: y.__imul__(v),
    "div_": lambda L, y, v: y.div_(v, rounding_mode="floor"),
    "pow_": lambda L, y, v: y.pow_(v),
    "atan2_": lambda L, y, v: y.atan2_(v),
    "copysign_": lambda L, y, v: y.copysign_(v),
    "fmod_": lambda L, y, v: y.fmod_(v),
    "hypot_": lambda L, y, v: y.hypot_(v),
    "clamp_": lambda L, y, v: y.clamp_(min=v),
    "clamp_min_": lambda L, y, v: y.clamp_min_(v),
    "addcmul_": lambda L, y, v: y.addcmul_(v, v),
    "lerp_": lambda L, y, v: y.lerp_(v, 0.5),
    "eq_": lambda L, y, v: y.eq_(v),
    "logical_and_": lambda L, y, v: y.logical_and_(v),
    "masked_fill_": lambda L, y, v: y.masked_fill_(_mask(L), v[0]),
    "masked_scatter_": lambda L, y, v: y.masked_scatter_(_mask(L), v),
    "scatter_": lambda L, y, v: y.scatter_(0, _index(L), v),
    "scatter_add_": lambda L, y, v: y.scatter_add_(0, _index(L), v),
    "index_add_": lambda L, y, v: y.index_add_(0, _index(L), v[:1]),
    "index_fill_": lambda L, y, v: y.index_fill_(0, _index(L), v[0]),
    "index_copy_": lambda L, y, v: y.index_copy_(0, _index(L), v[:1]),
    "index_put_": lambda L, y, v: y.index_put_((_index(L),), v[:1]),
    "fill_": lambda L, y, v: y.fill_(v[0]),
    "copy_": lambda L, y, v: y.copy_(v),
    "setitem_int": lambda L, y, v: y.__setitem__(0, v[0]),
    "setitem_slice": lambda L, y, v: y.__setitem__(slice(None), v),
    "setitem_mask": lambda L, y, v: y.__setitem__(_mask(L), v[0]),
    "setitem_index": lambda L, y, v: y.__setitem__(_index(L), v[0]),
    "add_out": lambda L, y, v: L.add(y, v, out=y),
    "exp_out_batched": lambda L, y, v: L.exp(v, out=v),
}


def _into_unbatched(L, name, requires_grad=False):
    def f(v):
        y = L.ones(2, dtype=v.dtype)
        WRITES[name](L, y, v)
        return y

    x = L.tensor(X, requires_grad=requires_grad)
    return L.func.vmap(f)(x)


def _raised(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as caught:
            fn()
    return caught.value


@pytest.mark.parametrize("name", sorted(WRITES))
def test_batch_into_unbatched_is_refused_as_pytorch_does(name):
    want = _raised(lambda: _into_unbatched(torch, name))
    got = _raised(lambda: _into_unbatched(glassgrad, name))
    assert type(got) is type(want)
    assert str(got) == str(want)


@pytest.mark.parametrize("name", ["add_", "mul_", "setitem_int", "index_put_", "masked_fill_"])
def test_refused_in_the_graph_too(name):
    want = _raised(lambda: _into_unbatched(torch, name, requires_grad=True))
    got = _raised(lambda: _into_unbatched(glassgrad, name, requires_grad=True))
    assert str(got) == str(want)


def _nested(L, name):
    def f(v):
        y = L.ones(2, dtype=v.dtype)
        WRITES[name](L, y, v)
        return y

    return L.func.vmap(L.func.vmap(f))(L.tensor(np.stack([X, X + 1])))


@pytest.mark.parametrize("name", ["add_", "pow_", "fill_"])
def test_nested_levels(name):
    assert str(_raised(lambda: _nested(glassgrad, name))) == str(
        _raised(lambda: _nested(torch, name))
    )


BATCHED = {  # writes into a batched tensor: batched or unbatched values, basic or advanced keys
    "add_": lambda L, v, u: v.clone().add_(v),
    "add_unbatched": lambda L, v, u: v.clone().add_(u),
    "mul_": lambda L, v, u: v.clone().mul_(u),
    "clamp_": lambda L, v, u: (v * 2).clamp_(min=u, max=v + 1),
    "setitem": lambda L, v, u: _set(v.clone(), 0, v[1] * 3),
    "setitem_unbatched": lambda L, v, u: _set(v.clone(), slice(None), u),
    "setitem_index": lambda L, v, u: _set(v.clone(), _index(L), v[1]),
    "index_put_": lambda L, v, u: v.clone().index_put_((_index(L),), v[1:], accumulate=True),
    "masked_fill_": lambda L, v, u: v.clone().masked_fill_(_mask(L), v[1]),
    "fill_": lambda L, v, u: v.clone().fill_(v[1]),
    "copy_": lambda L, v, u: (v * 0).copy_(v + u),
    "zero_": lambda L, v, u: v.clone().zero_(),
}


def _set(t, key, value):
    t[key] = value
    return t


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_writes_into_a_batch_work(name):
    def run(L):
        u = L.tensor(X[0] * 0.5)
        return L.func.vmap(lambda v: BATCHED[name](L, v, u))(L.tensor(X))

    want = run(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # batched code, no per-sample fallback
        got = run(glassgrad)
    close(want, got, dtype=False)
