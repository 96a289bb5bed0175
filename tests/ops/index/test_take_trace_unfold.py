"""take, trace, Tensor.unfold (a view), Tensor.type_as, empty tensors' strides: against PyTorch."""

import pytest
import torch

import glassgrad as gg


def _outcome(fn):
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc)
    if isinstance(value, (torch.Tensor, gg.Tensor)):
        grad_fn = type(value.grad_fn).__name__ if value.grad_fn is not None else None
        return (
            str(value.dtype).split(".")[-1],
            tuple(value.shape),
            value.stride(),
            grad_fn,
            value.requires_grad,
            value.detach().numpy().tolist(),
        )
    return value


def _x(lib):
    return lib.arange(12.0).reshape(3, 4).requires_grad_()


CALLS = [
    lambda lib: _x(lib).type_as(lib.zeros(1, dtype=lib.float64)),
    lambda lib: _x(lib).type_as(lib.zeros(1)),
    lambda lib: _x(lib).type_as(lib.zeros(1, dtype=lib.long)),
    lambda lib: _x(lib).type_as(3),
    lambda lib: lib.take(_x(lib), lib.tensor([[0, 5], [11, -1]])),
    lambda lib: _x(lib).take(lib.tensor([12])),
    lambda lib: _x(lib).take(lib.tensor([-13])),
    lambda lib: _x(lib).take(lib.tensor([1.0])),
    lambda lib: _x(lib).take(lib.tensor([1], dtype=lib.int32)),
    lambda lib: lib.take(lib.zeros(0), lib.tensor([0])),
    lambda lib: lib.take(_x(lib), lib.tensor([], dtype=lib.long)),
    lambda lib: lib.take(lib.tensor(2.5, requires_grad=True), lib.tensor([0, -1, 0])),
    lambda lib: lib.trace(_x(lib)),
    lambda lib: _x(lib).t().trace(),
    lambda lib: lib.trace(lib.arange(3)),
    lambda lib: lib.trace(lib.ones(2, 2, 2)),
    lambda lib: lib.trace(lib.ones(2, 2, dtype=lib.int32)),
    lambda lib: lib.trace(lib.ones(2, 2, dtype=lib.uint8)),
    lambda lib: lib.trace(lib.ones(2, 2, dtype=lib.bool)),
    lambda lib: _x(lib).unfold(1, 2, 1),
    lambda lib: _x(lib).unfold(0, 2, 2),
    lambda lib: _x(lib).unfold(-1, 4, 3),
    lambda lib: _x(lib).t().unfold(1, 2, 1),
    lambda lib: _x(lib).unfold(1, 5, 1),
    lambda lib: _x(lib).unfold(1, 0, 1),
    lambda lib: _x(lib).unfold(1, 2, 0),
    lambda lib: _x(lib).unfold(2, 2, 1),
    lambda lib: lib.tensor(5.0).unfold(0, 1, 1),
    lambda lib: lib.tensor(5.0).unfold(0, 2, 1),
]


@pytest.mark.parametrize("call", CALLS)
def test_matches_torch(call):
    assert _outcome(lambda: call(gg)) == _outcome(lambda: call(torch))


GRADS = [
    lambda lib, x: x.unfold(1, 2, 1),
    lambda lib, x: x.unfold(0, 2, 1) * lib.arange(8.0, dtype=lib.float64).reshape(2, 4, 1),
    lambda lib, x: x.t().unfold(1, 2, 2),
    lambda lib, x: lib.take(x, lib.tensor([[0, 0], [5, -1]])),
    lambda lib, x: lib.trace(x) * 3,
    lambda lib, x: lib.trace(x[:, :3] * x[:, :3]),
    lambda lib, x: x.type_as(lib.zeros(1)) * 2,
]


@pytest.mark.parametrize("make", GRADS)
def test_gradients_match_torch(make):
    grads = {}
    for lib in (torch, gg):
        x = lib.arange(12.0, dtype=lib.float64).reshape(3, 4).requires_grad_()
        out = make(lib, x)
        (first,) = lib.autograd.grad((out * out).sum(), x, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), x)
        grads[lib] = (first.detach().numpy().tolist(), second.numpy().tolist())
    assert grads[gg] == grads[torch]


def test_unfold_is_a_view():
    for lib in (torch, gg):
        x = lib.zeros(2, 5)
        windows = x.unfold(1, 3, 2)
        windows[0, 1, 0] = 7.0
        assert x[0, 2].item() == 7.0
        assert windows._base is x


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 4), (0,), (0, 0), (1, 0, 1)])
def test_empty_strides(shape):
    for make in ("zeros", "empty", "ones"):
        assert getattr(gg, make)(*shape).stride() == getattr(torch, make)(*shape).stride()
    assert gg.zeros(3, 4)[:0].stride() == torch.zeros(3, 4)[:0].stride()
