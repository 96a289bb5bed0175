"""Shape ops against PyTorch: values, views, grad_fn names, gradients (first and second order)
and the errors PyTorch raises."""

import pytest
import torch

import glassgrad as gg
from op_compare import check, r, same_error

CASES = {
    "reshape": (lambda t, x: x.reshape(3, -1), r(2, 3, 2)),
    "reshape_copy": (lambda t, x: x.transpose(0, 1).reshape(-1), r(2, 3)),
    "view": (lambda t, x: x.view(6, 2), r(2, 3, 2)),
    "view_as": (lambda t, x: x.view_as(t.zeros(4, 3)), r(2, 3, 2)),
    "flatten": (lambda t, x: x.flatten(1), r(2, 3, 2)),
    "flatten_all": (lambda t, x: t.flatten(x), r(2, 3, 2)),
    "flatten_0d": (lambda t, x: x.sum().flatten(), r(2)),
    "unflatten": (lambda t, x: x.unflatten(1, (-1, 2)), r(2, 4)),
    "squeeze": (lambda t, x: x.squeeze(), r(1, 3, 1)),
    "squeeze_dim": (lambda t, x: x.squeeze(0), r(1, 3, 1)),
    "squeeze_dims": (lambda t, x: x.squeeze((0, 2)), r(1, 3, 1)),
    "unsqueeze": (lambda t, x: x.unsqueeze(-1), r(2, 3)),
    "transpose": (lambda t, x: x.transpose(0, 2), r(2, 3, 4)),
    "swapaxes": (lambda t, x: t.swapaxes(x, 0, 1), r(2, 3)),
    "permute": (lambda t, x: x.permute(2, 0, 1), r(2, 3, 4)),
    "t": (lambda t, x: x.t(), r(2, 3)),
    "t_1d": (lambda t, x: x.t(), r(3)),
    "mT": (lambda t, x: x.mT, r(2, 3, 4)),
    "T": (lambda t, x: x.T, r(2, 3)),
    "expand": (lambda t, x: x.expand(2, -1, 4), r(3, 1)),
    "expand_as": (lambda t, x: x.expand_as(t.zeros(2, 3, 4)), r(3, 1)),
    "broadcast_to": (lambda t, x: t.broadcast_to(x, (2, 3, 4)), r(1, 4)),
    "repeat": (lambda t, x: x.repeat(2, 1, 3), r(2, 3)),
    "tile": (lambda t, x: x.tile((2,)), r(2, 3)),
    "tile_long": (lambda t, x: t.tile(x, (2, 1, 2)), r(2, 3)),
    "flip": (lambda t, x: x.flip(0, 2), r(2, 3, 4)),
    "flip_list": (lambda t, x: t.flip(x, [1]), r(2, 3)),
    "fliplr": (lambda t, x: t.fliplr(x), r(2, 3)),
    "roll": (lambda t, x: x.roll(1, 0), r(3, 4)),
    "roll_flat": (lambda t, x: x.roll(5), r(3, 4)),
    "roll_many": (lambda t, x: t.roll(x, (1, -2), (0, 1)), r(3, 4)),
    "narrow": (lambda t, x: x.narrow(1, 1, 2), r(2, 4)),
    "narrow_neg": (lambda t, x: t.narrow(x, -1, -2, 2), r(2, 4)),
    "select": (lambda t, x: x.select(1, -1), r(2, 4)),
    "contiguous": (lambda t, x: x.t().contiguous(), r(2, 3)),
    "cat": (lambda t, x, y: t.cat([x, y, x], 1), r(2, 3), r(2, 1)),
    "cat_neg": (lambda t, x, y: t.cat((x, y), -2), r(2, 3), r(1, 3)),
    "cat_empty": (lambda t, x, y: t.cat([x, y]), r(2, 3), r(0)),
    "concat": (lambda t, x, y: t.concat([x, y]), r(2, 3), r(1, 3)),
    "stack": (lambda t, x, y: t.stack([x, y], 1), r(2, 3), r(2, 3)),
    "stack_neg": (lambda t, x, y: t.stack([x, y], -1), r(2, 3), r(2, 3)),
    "hstack": (lambda t, x, y: t.hstack([x, y]), r(2, 3), r(2, 2)),
    "vstack": (lambda t, x, y: t.vstack([x, y]), r(3), r(2, 3)),
    "split": (lambda t, x: x.split(2, 1), r(2, 5)),
    "split_sizes": (lambda t, x: t.split(x, [1, 3, 1], 1), r(2, 5)),
    "split_partial": (lambda t, x: x.split(2)[1], r(5, 2)),
    "chunk": (lambda t, x: x.chunk(3, -1), r(2, 7)),
    "chunk_few": (lambda t, x: x.chunk(5, 1), r(2, 3)),
    "unbind": (lambda t, x: x.unbind(1), r(2, 3)),
    "unbind_partial": (lambda t, x: x.unbind()[0], r(2, 3)),
    "movedim": (lambda t, x: x.movedim(0, -1), r(2, 3, 4)),
    "moveaxis": (lambda t, x: t.moveaxis(x, (0, 1), (2, 0)), r(2, 3, 4)),
    "tril": (lambda t, x: x.tril(), r(3, 4)),
    "triu": (lambda t, x: t.triu(x, -1), r(2, 3, 3)),
    "diag_vec": (lambda t, x: t.diag(x, 1), r(3)),
    "diag_mat": (lambda t, x: x.diag(-1), r(3, 4)),
    "diagonal": (lambda t, x: x.diagonal(), r(3, 4)),
    "diagonal_dims": (lambda t, x: x.diagonal(1, 2, 0), r(3, 2, 4)),
    "diag_embed": (lambda t, x: t.diag_embed(x, 1), r(2, 3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays)


@pytest.mark.parametrize(
    "expr",
    [
        "x.reshape(6)",
        "x.view(3, 2)",
        "x.t()",
        "x.permute(1, 0)",
        "x.unsqueeze(0)",
        "x[1:]",
        "x.diagonal()",
        "x.split(1)[0]",
        "x.unbind()[1]",
        "x.narrow(0, 0, 1)",
        "x.expand(4, 2, 3)",
    ],
)
def test_views_share_storage(expr):
    for lib in (torch, gg):
        x = lib.zeros(2, 3)
        y = eval(expr)
        assert y._base is x
        with lib.no_grad():
            x.add_(1)
        assert float(y.sum()) == y.numel()


@pytest.mark.parametrize(
    "expr",
    [
        "x.transpose(0, 1).reshape(6)",
        "x.flip(0)",
        "x.repeat(1, 2)",
        "gg_or_torch.cat([x, x])",
        "x.roll(1)",
        "x.tril()",
    ],
)
def test_copies_do_not_share(expr):
    for lib in (torch, gg):
        y = eval(expr.replace("gg_or_torch", "lib"), {"x": lib.zeros(2, 3), "lib": lib})
        assert y._base is None


def test_contiguous_returns_self():
    x = gg.zeros(2, 3)
    assert x.contiguous() is x and x.flatten(1, 1) is x
    assert x.t().contiguous().is_contiguous()


ERRORS = [
    (lambda t, x: x.view(5, -1), r(2, 3)),
    (lambda t, x: x.view(-1, -1), r(2, 3)),
    (lambda t, x: x.t().view(-1), r(2, 3)),
    (lambda t, x: x.reshape(0, -1), r(2, 3)),
    (lambda t, x: x.flatten(1, 0), r(2, 3)),
    (lambda t, x: x.unflatten(1, (2, 2)), r(2, 3)),
    (lambda t, x: x.narrow(1, 2, 2), r(2, 3)),
    (lambda t, x: x.narrow(1, 4, 0), r(2, 3)),
    (lambda t, x: x.select(0, 5), r(2, 3)),
    (lambda t, x: x.movedim((0, 1), (1,)), r(2, 3)),
    (lambda t, x: x.movedim((0, 0), (1, 0)), r(2, 3)),
    (lambda t, x: x.squeeze(5), r(2, 3)),
    (lambda t, x: x.unsqueeze(3), r(2, 3)),
    (lambda t, x: x.permute(0), r(2, 3)),
    (lambda t, x: x.permute(0, 0), r(2, 3)),
    (lambda t, x: x.t(), r(2, 3, 4)),
    (lambda t, x: x.expand(3), r(2, 3)),
    (lambda t, x: x.expand(2, 4), r(2, 3)),
    (lambda t, x: x.repeat(2), r(2, 3)),
    (lambda t, x: x.split([1, 1], 1), r(2, 3)),
    (lambda t, x: x.chunk(0), r(2, 3)),
    (lambda t, x: x.unbind(2), r(2, 3)),
    (lambda t, x, y: t.cat([x, y]), r(2, 3), r(2, 2)),
    (lambda t, x, y: t.cat([x, y]), r(2, 3), r(3)),
    (lambda t, x: t.cat([x], 2), r(2, 3)),
    (lambda t: t.cat([]),),
    (lambda t, x, y: t.stack([x, y]), r(2, 3), r(3)),
    (lambda t: t.stack([]),),
    (lambda t, x: x.flip(0, 0), r(2, 3)),
    (lambda t, x: x.roll((1, 2), (0,)), r(2, 3)),
    (lambda t, x: x.tril(), r(3)),
    (lambda t, x: x.diag(), r(2, 3, 4)),
    (lambda t, x: x.diagonal(0, 1, 1), r(2, 3)),
    (lambda t, x: x.diagonal(0, 0, 2), r(2, 3)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    fn, *arrays = ERRORS[case]
    same_error(fn, *arrays)
