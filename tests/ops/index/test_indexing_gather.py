"""Indexing, index assignment and the gather/scatter family against PyTorch."""

import numpy as np
import pytest
import torch

import glassgrad as gg
from op_compare import check, r, same_error

L = np.int64


def idx(*values):
    return np.array(values[0] if len(values) == 1 else values, dtype=L)


GET = {
    "int": "x[1]",
    "neg": "x[-1, 0]",
    "slice": "x[:, 1:]",
    "step": "x[..., ::2]",
    "none": "x[None, 0]",
    "none_last": "x[0, None]",
    "ellipsis": "x[...]",
    "ell_int": "x[..., 1]",
    "full": "x[:, :]",
    "list": "x[[0, 0, 1]]",
    "list2": "x[[0, 1], [2, 0]]",
    "mixed": "x[:, [0, 0, 2]]",
    "split_adv": "x[[0, 1], :, [1, 3]]",
    "adv_none": "x[[1], :, None]",
    "mask": "x[x > 0]",
    "mask_rows": "x[lib.tensor([True, False])]",
    "true": "x[True]",
    "tensor_idx": "x[lib.tensor([[1, 0], [0, 0]])]",
    "scalar_tensor": "x[lib.tensor(1)]",
    "byte_mask": "x[lib.tensor([1, 0], dtype=lib.uint8)]",
    "empty_list": "x[[]]",
    "int_tensor_dim1": "x[0, lib.tensor([2, 2, 1])]",
}


@pytest.mark.parametrize("name", sorted(GET))
def test_getitem(name):
    check(lambda lib, x: eval(GET[name]), r(2, 3, 4))


SET = {
    "basic": ("y[0] = v", r(4)),
    "slice_broadcast": ("y[:, 1:] = v", r(1, 2, 4)),
    "advanced": ("y[[0, 1], [2, 0]] = v", r(4)),
    "mask": ("y[y > 0] = v * 2", r(1)),
    "scalar": ("y[0, 1] = 3.0", r(1)),
    "leading_ones": ("y[1] = v", r(1, 1, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(SET))
def test_setitem(name):
    code, value = SET[name]

    def fn(lib, x, v):
        y = x * 1.0
        exec(code, {"y": y, "v": v})
        return y

    check(fn, r(2, 3, 4), value)


def test_setitem_records_copyslices_and_version():
    for lib in (torch, gg):
        x = lib.zeros(3, requires_grad=True)
        y = x * 2
        before = y._version
        y[1] = 5.0
        assert type(y.grad_fn).__name__ == "CopySlices" and y._version == before + 1


def test_repeated_indices_accumulate():
    check(lambda lib, x: x[[0, 0, 0, 2]] * lib.tensor([1.0, 2.0, 3.0, 4.0])[:, None], r(3, 2))
    check(lambda lib, x, i: x.gather(0, i), r(3, 2), idx([[0, 0], [0, 2], [0, 0]]))


GATHER = {
    "gather": (lambda t, x, i: x.gather(1, i), r(3, 4), idx([[0, 0], [3, 1], [2, 2]])),
    "gather_small": (lambda t, x, i: t.gather(x, 0, i), r(3, 4), idx([[2, 0]])),
    "take_along": (lambda t, x, i: t.take_along_dim(x, i, 1), r(3, 4), idx([[0], [3], [1]])),
    "take_along_bc": (lambda t, x, i: t.take_along_dim(x, i, 0), r(3, 4), idx([[0, 1, 2, 0]])),
    "take_along_flat": (lambda t, x, i: t.take_along_dim(x, i), r(3, 4), idx(11, 0, 5)),
    "scatter": (lambda t, x, i, s: x.scatter(1, i, s), r(3, 4), idx([[0], [3], [1]]), r(3, 1)),
    "scatter_value": (lambda t, x, i: x.scatter(1, i, 2.5), r(3, 4), idx([[0, 2], [3, 1], [1, 0]])),
    "scatter_add": (
        lambda t, x, i, s: x.scatter_add(0, i, s),
        r(3, 4),
        idx([[0, 0, 2, 0]] * 2),
        r(2, 4),
    ),
    "index_select": (lambda t, x, i: x.index_select(1, i), r(3, 4), idx(0, 3, 3)),
    "index_select_0d": (lambda t, x: x.index_select(0, t.tensor(2)), r(3, 4)),
    "index_add": (
        lambda t, x, i, s: x.index_add(1, i, s, alpha=2.0),
        r(3, 4),
        idx(0, 0, 2),
        r(3, 3),
    ),
    "masked_select": (lambda t, x: x.masked_select(x > 0), r(3, 4)),
    "masked_select_bc": (lambda t, x, m: t.masked_select(x, m > 0), r(4), r(3, 4)),
    "index_put": (
        lambda t, x, v: t.index_put(x, (t.tensor([0, 2, 0]),), v, accumulate=True),
        r(3, 4),
        r(3, 4),
    ),
    "index_put_": (
        lambda t, x, v: (x * 1).index_put_((t.tensor([1, 2]), t.tensor([0, 3])), v),
        r(3, 4),
        r(2),
    ),
}


@pytest.mark.parametrize("name", sorted(GATHER))
def test_gather_family(name):
    fn, *arrays = GATHER[name]
    check(fn, *arrays)


def test_non_differentiable_index_ops():
    for lib in (torch, gg):
        x = lib.tensor([[0.0, 1.5], [2.0, 0.0]], requires_grad=True)
        assert x.nonzero().tolist() == [[0, 1], [1, 0]]
        assert [t.tolist() for t in lib.nonzero(x, as_tuple=True)] == [[0, 1], [1, 0]]
        hot = (torch.nn.functional if lib is torch else gg.ops).one_hot(lib.tensor([[0, 2]]), 4)
        assert hot.tolist() == [[[1, 0, 0, 0], [0, 0, 1, 0]]] and hot.dtype == lib.int64
        assert not hot.requires_grad


ERRORS = [
    (lambda t, x: x[5], r(2, 3)),
    (lambda t, x: x[:, 5], r(2, 3)),
    (lambda t, x: x[[5]], r(2, 3)),
    (lambda t, x: x[0, 0, 0], r(2, 3)),
    (lambda t, x: x[1.5], r(2, 3)),
    (lambda t, x: x[t.tensor([0.0])], r(2, 3)),
    (lambda t, x: x[t.tensor([True, False, True])], r(2, 3)),
    (lambda t, x: x[[0, 1], [0, 1, 2]], r(2, 3, 4)),
    (lambda t, x: x.detach().__setitem__(0, t.ones(2)), r(2, 3)),
    (lambda t, x: x.detach().__setitem__([0, 1], t.ones(2)), r(2, 3)),
    (lambda t, x: x.__setitem__(0, 1.0), r(2, 3)),
    (lambda t, x: x.gather(1, t.tensor([[0.0]])), r(2, 3)),
    (lambda t, x: x.gather(1, t.tensor([0])), r(2, 3)),
    (lambda t, x: x.gather(1, t.tensor([[5]])), r(2, 3)),
    (lambda t, x: x.gather(0, t.tensor([[0, 0, 0, 0]])), r(2, 3)),
    (lambda t, x: x.scatter(1, t.tensor([[3], [2]]), 1.0), r(2, 3)),
    (lambda t, x: x.scatter_add(1, t.tensor([[0], [2]]), t.ones(1, 1, dtype=t.float64)), r(2, 3)),
    (lambda t, x: x.scatter(1, t.tensor([[0], [2]]), t.ones(2, 1)), r(2, 3)),
    (lambda t, x: x.index_select(1, t.tensor([[0]])), r(2, 3)),
    (lambda t, x: x.index_select(1, t.tensor([0.0])), r(2, 3)),
    (lambda t, x: x.index_select(1, t.tensor([3])), r(2, 3)),
    (lambda t, x: x.index_add(1, t.tensor([0, 0]), t.ones(2, 3, dtype=t.float64)), r(2, 3)),
    (lambda t, x: x.index_add(1, t.tensor([0, 5]), t.ones(2, 2, dtype=t.float64)), r(2, 3)),
    (lambda t, x: x.masked_select(t.tensor([1, 0, 1])), r(2, 3)),
    (lambda t, x: x.masked_select(t.tensor([True, False])), r(2, 3)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    fn, *arrays = ERRORS[case]
    same_error(fn, *arrays)


@pytest.mark.parametrize(
    "call",
    [
        "one_hot(t.tensor([0, 3]), 3)",
        "one_hot(t.tensor([0, -1]))",
        "one_hot(t.tensor([0.0, 1.0]))",
        "one_hot(t.tensor([], dtype=t.long))",
    ],
)
def test_one_hot_errors(call):
    messages = []
    for lib, ns in ((torch, torch.nn.functional), (gg, gg.ops)):
        with pytest.raises(RuntimeError) as info:
            eval(call, {"t": lib, "one_hot": ns.one_hot})
        messages.append(str(info.value))
    assert messages[0] == messages[1]
