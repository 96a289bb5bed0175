"""Guards, recompiles, graph breaks, fullgraph errors and autograd semantics of compiled code."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import glassgrad
from glassgrad import _dynamo
from glassgrad._compile.runtime import Unsupported


def _entries(fn):
    return fn._compiled.entries


def test_replay_gives_eager_values_and_gradients_and_one_node():
    def f(x, w):
        h = x
        for _ in range(5):
            h = h.tanh() * 0.5 + h
        return (h * w).sum()

    compiled = glassgrad.compile(f)
    x = glassgrad.randn(7, dtype=glassgrad.float64, requires_grad=True)
    w = glassgrad.randn(7, dtype=glassgrad.float64, requires_grad=True)
    expected = f(x, w)
    expected.backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    for _ in range(3):
        x.grad = w.grad = None
        y = compiled(x, w)
        y.backward()
        np.testing.assert_allclose(y.item(), expected.item(), rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), gx.numpy(), rtol=1e-12)
        np.testing.assert_allclose(w.grad.numpy(), gw.numpy(), rtol=1e-12)
    assert type(y.grad_fn).__name__ == "CompiledFunctionBackward"
    assert len(_entries(compiled)) == 1 and not _entries(compiled)[0].eager


def test_guards_recompile_on_shape_dtype_requires_grad_and_grad_mode():
    compiled = glassgrad.compile(lambda x: x * 2 + 1)
    compiled(glassgrad.ones(3))
    compiled(glassgrad.ones(3))
    assert len(_entries(compiled)) == 1
    compiled(glassgrad.ones(4))
    compiled(glassgrad.ones(3, dtype=glassgrad.float64))
    compiled(glassgrad.ones(3, requires_grad=True))
    with glassgrad.no_grad():
        out = compiled(glassgrad.ones(3, requires_grad=True))
    assert not out.requires_grad
    assert len(_entries(compiled)) == 5
    y = compiled(glassgrad.ones(3, requires_grad=True))
    assert y.requires_grad and len(_entries(compiled)) == 5


def test_closure_tensor_identity_and_values_are_read_each_call():
    w = glassgrad.tensor([1.0, 2.0])
    compiled = glassgrad.compile(lambda x: x * w)
    x = glassgrad.tensor([3.0, 4.0])
    assert compiled(x).tolist() == [3.0, 8.0]
    with glassgrad.no_grad():
        w.mul_(2)  # new values, same tensor: no recompile, the new values are used
    assert compiled(x).tolist() == [6.0, 16.0]
    assert len(_entries(compiled)) == 1
    w = glassgrad.tensor([0.5, 0.5])  # another tensor in the closure: a guard fails
    assert compiled(x).tolist() == [1.5, 2.0]
    assert len(_entries(compiled)) == 2


def test_closure_number_is_guarded():
    scale = 2.0
    compiled = glassgrad.compile(lambda x: x * scale)
    assert compiled(glassgrad.ones(2)).tolist() == [2.0, 2.0]
    scale = 3.0
    assert compiled(glassgrad.ones(2)).tolist() == [3.0, 3.0]


def test_recompile_limit_warns_as_pytorch_and_runs_eagerly(caplog):
    compiled = glassgrad.compile(lambda x: x + 1)
    old = _dynamo.config.recompile_limit
    _dynamo.config.recompile_limit = 2
    try:
        with caplog.at_level(logging.WARNING, logger="glassgrad._dynamo"):
            for n in range(1, 6):
                assert compiled(glassgrad.zeros(n)).tolist() == [1.0] * n
    finally:
        _dynamo.config.recompile_limit = old
    assert len(_entries(compiled)) == 2
    text = caplog.text
    assert "torch._dynamo hit config.recompile_limit (2)" in text
    assert "last reason: 0/1: tensor 'x' size mismatch at index 0. expected 2, actual 3" in text
    assert 'To log all recompilation reasons, use TORCH_LOGS="recompiles".' in text


@pytest.mark.parametrize(
    "body",
    [
        lambda x: x * (x.sum().item()),
        lambda x: x * 2 if (x.sum() > 0) else x * 3,
        lambda x: x * glassgrad.tensor(x.detach().numpy() * 2),
        lambda x: (print(x), x * 2)[1],
    ],
)
def test_graph_breaks_run_eagerly_and_give_eager_results(body, capsys):
    x = glassgrad.tensor([1.0, -2.0, 4.0], requires_grad=True)
    compiled = glassgrad.compile(body)
    for _ in range(2):
        x.grad = None
        out = compiled(x)
        out.sum().backward()
        expected = body(x.detach().requires_grad_())
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    assert _entries(compiled)[0].eager and _entries(compiled)[0].breaks


def test_fullgraph_break_raises_unsupported_naming_the_line():
    def f(x):
        y = x * 2
        return y * y.sum().item()

    with pytest.raises(Unsupported) as info:
        glassgrad.compile(f, fullgraph=True)(glassgrad.ones(3))
    text = str(info.value)
    assert "from user code:" in text and "in f" in text
    assert "return y * y.sum().item()" in text


def test_no_grad_and_detach_inside_cut_the_gradient_as_eager():
    def f(x):
        with glassgrad.no_grad():
            scale = x * 2
        return (x * scale + x.detach() * x).sum()

    x = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    compiled = glassgrad.compile(f)
    f(x).backward()
    expected = x.grad.clone()
    for _ in range(2):
        x.grad = None
        compiled(x).backward()
        np.testing.assert_allclose(x.grad.numpy(), expected.numpy())
    assert not _entries(compiled)[0].eager


def test_leaf_hooks_and_grad_accumulation_as_eager():
    x = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    compiled = glassgrad.compile(lambda x: (x.exp() * 3).sum())
    compiled(x).backward()
    compiled(x).backward()  # .grad accumulates
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * np.exp([1.0, 2.0]))
    assert len(seen) == 2


def test_input_changed_in_place_before_backward_raises_as_eager():
    x = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1  # a non-leaf input that the compiled backward needs
    compiled = glassgrad.compile(lambda a: (a * a).sum())
    compiled(a)
    y = compiled(a)
    with glassgrad.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_in_place_inside_runs_eagerly():
    def f(x):
        y = x * 2
        y.add_(1)
        return y

    compiled = glassgrad.compile(f)
    x = glassgrad.ones(2)
    assert compiled(x).tolist() == [3.0, 3.0]
    assert compiled(x).tolist() == [3.0, 3.0]
    assert _entries(compiled)[0].eager


def test_compiled_training_loop_gives_eager_losses():
    def train(compile_model):
        glassgrad.manual_seed(0)
        model = glassgrad.nn.Sequential(
            glassgrad.nn.Linear(4, 8), glassgrad.nn.Tanh(), glassgrad.nn.Linear(8, 1)
        )
        opt = glassgrad.optim.SGD(model.parameters(), lr=0.1)
        run = glassgrad.compile(model) if compile_model else model
        x = glassgrad.randn(16, 4)
        target = glassgrad.randn(16, 1)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = ((run(x) - target) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, run

    from glassgrad._compile import runtime

    runtime.REPLAY_OPAQUE[0] = True  # (Linear is opaque: replay its plan, not eager)
    try:
        eager, _ = train(False)
        compiled, run = train(True)
    finally:
        runtime.REPLAY_OPAQUE[0] = False
    np.testing.assert_allclose(compiled, eager, rtol=1e-6)
    assert not run._compiled_call.entries[0].eager


def test_explain_reports_breaks_and_ops_as_pytorch():
    import torch

    def f(x):
        y = x * 2
        if y.sum() > 0:
            return y
        return -y

    ours = glassgrad._dynamo.explain(f)(glassgrad.ones(3))
    theirs = torch._dynamo.explain(f)(torch.ones(3))
    assert type(ours).__name__ == type(theirs).__name__ == "ExplainOutput"
    assert len(ours.break_reasons) == len(theirs.break_reasons) == 1
    assert (
        ours.break_reasons[0].user_stack[0].lineno == theirs.break_reasons[0].user_stack[0].lineno
    )
    clean = glassgrad._dynamo.explain(lambda x: x.exp() * 2)(glassgrad.ones(3))
    assert (clean.graph_count, clean.graph_break_count, clean.op_count) == (1, 0, 2)


def test_module_compile_in_place_as_pytorch(monkeypatch):
    import torch

    from glassgrad._compile import runtime

    monkeypatch.setattr(runtime, "REPLAY_OPAQUE", [True])  # (Linear is opaque)
    assert torch.nn.Linear(2, 2).compile() is None
    model = glassgrad.nn.Sequential(glassgrad.nn.Linear(3, 4), glassgrad.nn.Tanh())
    x = glassgrad.randn(5, 3)
    expected = model(x)
    assert model.compile() is None
    got = model(x)
    got = model(x)
    assert type(got.grad_fn).__name__ == "CompiledFunctionBackward"
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


def test_double_backward_through_a_region_raises_pytorchs_error():
    x = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    compiled = glassgrad.compile(lambda x: (x.sin() * 2).sum())
    compiled(x)
    y = compiled(x)
    with pytest.raises(RuntimeError, match="does not currently support double backward"):
        glassgrad.autograd.grad(y, x, create_graph=True)


def test_other_threads_are_not_recorded_into_a_trace():
    import threading

    started, release = threading.Event(), threading.Event()
    found = []

    def other():
        started.set()
        release.wait(5)
        a = glassgrad.ones(3) * 5  # runs while the main thread traces
        found.append(a.tolist())

    worker = threading.Thread(target=other)
    worker.start()
    started.wait(5)

    def f(x):
        release.set()
        worker.join(5)
        return x * 2

    compiled = glassgrad.compile(f)
    assert compiled(glassgrad.ones(2)).tolist() == [2.0, 2.0]
    assert found == [[5.0, 5.0, 5.0]]
    assert [op.name for op in compiled._compiled.entries[0].trace_ops] == ["__mul__"]


def test_recompile_reason_names_the_argument_as_pytorch(caplog):
    def f(x, y):
        return x * y

    compiled = glassgrad.compile(f)
    old = _dynamo.config.recompile_limit
    _dynamo.config.recompile_limit = 1
    try:
        with caplog.at_level(logging.WARNING, logger="glassgrad._dynamo"):
            compiled(glassgrad.ones(3), glassgrad.ones(3))
            compiled(glassgrad.ones(3), glassgrad.ones(3, dtype=glassgrad.float64))
    finally:
        _dynamo.config.recompile_limit = old
    # PyTorch 2.13: "last reason: 0/0: tensor 'y' dtype mismatch. expected Float, actual Double"
    assert (
        "last reason: 0/0: tensor 'y' dtype mismatch. expected Float, actual Double" in caplog.text
    )


def test_a_trace_puts_back_what_the_names_hold_now():
    """Wrappers installed after the first trace (bfloat16/autocast wrap ops on first use) stay
    in place after a later trace: the trace restores each name's current value."""
    from glassgrad.ops import OPS

    fn = glassgrad.compile(lambda a: (a * 2).tanh().sum())
    a = glassgrad.ones(4, requires_grad=True)
    fn(a)
    glassgrad.ones(3, dtype=glassgrad.bfloat16) * 2  # autocast's wrappers go in now
    again = glassgrad.compile(lambda a: (a * 3).tanh().sum())
    again(a)
    assert glassgrad.nn.functional.batch_norm is OPS["batch_norm"].fn
