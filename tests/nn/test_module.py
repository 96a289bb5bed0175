"""nn.Module and nn.Parameter against PyTorch 2.13: registration, traversal, state_dict, hooks,
freezing, printing. Both libraries build the same model from the same code."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn as gnn

LIBS = {"torch": torch, "glassgrad": glassgrad}


def build(lib):
    """A model using only core ops, so the test runs whatever nn.functional provides."""
    nn = lib.nn

    class Affine(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.weight = nn.Parameter(lib.ones(n_out, n_in) * 0.5)
            self.bias = nn.Parameter(lib.zeros(n_out))
            self.register_buffer("scale", lib.ones(n_out))
            self.register_buffer("scratch", lib.zeros(1), persistent=False)

        def forward(self, x):
            return (x @ self.weight.t() + self.bias) * self.scale

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Affine(3, 4)
            self.act = nn.ReLU()
            self.blocks = nn.ModuleList([Affine(4, 4), Affine(4, 4)])
            self.head = nn.Sequential(Affine(4, 2))

        def forward(self, x):
            x = self.act(self.first(x))
            for block in self.blocks:
                x = block(x).tanh()
            return self.head(x)

    return Net()


def both(fn):
    return fn(torch), fn(glassgrad)


def copy_state(src, dst):
    """torch state_dict -> glassgrad module, through NumPy."""
    state = {k: glassgrad.tensor(v.detach().numpy()) for k, v in src.state_dict().items()}
    return dst.load_state_dict(state)


def test_names_and_shapes_match():
    t, g = both(build)
    for method in ("named_parameters", "named_buffers", "named_children", "named_modules"):
        assert [n for n, _ in getattr(t, method)()] == [n for n, _ in getattr(g, method)()]
    assert {k: tuple(v.shape) for k, v in t.state_dict().items()} == {
        k: tuple(v.shape) for k, v in g.state_dict().items()
    }
    assert list(g.state_dict()._metadata) == list(t.state_dict()._metadata)
    assert len(list(g.parameters())) == len(list(t.parameters()))
    assert len(list(g.parameters(recurse=False))) == 0


def test_forward_and_gradients_match():
    t, g = both(build)
    assert repr(copy_state(t, g)) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    t(torch.tensor(x)).sum().backward()
    g(glassgrad.tensor(x)).sum().backward()
    for (name, tp), (_, gp) in zip(t.named_parameters(), g.named_parameters(), strict=True):
        np.testing.assert_allclose(
            gp.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name
        )


def test_load_state_dict_errors_word_for_word():
    t, g = both(build)
    messages = []
    for model, lib in ((t, torch), (g, glassgrad)):
        state = model.state_dict()
        del state["first.bias"]
        state["extra.weight"] = lib.zeros(1)
        state["head.0.weight"] = lib.zeros(7, 7)
        with pytest.raises(RuntimeError) as info:
            model.load_state_dict(state)
        messages.append(str(info.value))
        result = model.load_state_dict({"first.weight": lib.ones(4, 3)}, strict=False)
        messages.append(repr(result))
    assert messages[2:] == messages[:2]
    assert messages[0].startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s)")


def test_state_dict_is_detached_and_shares_storage():
    g = build(glassgrad)
    state = g.state_dict()
    assert not state["first.weight"].requires_grad
    assert type(state["first.weight"]) is glassgrad.Tensor
    state["first.weight"].add_(1)
    np.testing.assert_allclose(g.first.weight.detach().numpy(), 1.5)
    assert g.state_dict(keep_vars=True)["first.weight"] is g.first.weight
    assert "first.scratch" not in state


def _bad_actions(model, lib):
    return (
        lambda: setattr(model.first, "weight", lib.ones(2)),
        lambda: setattr(model, "head", 3),
        lambda: model.register_buffer("a.b", None),
        lambda: model.register_parameter("", None),
        lambda: model.register_buffer("first", None),
        lambda: model.add_module("x", 3),
        lambda: model.missing,
        lambda: model.get_submodule("first.nothing"),
        lambda: model.get_submodule("first.weight"),
    )


def test_attribute_registration_rules():
    messages = []
    for lib in (torch, glassgrad):
        model = build(lib)
        model.plain = 3
        assert "plain" not in dict(model.named_parameters())
        for action in _bad_actions(model, lib):
            with pytest.raises(Exception) as info:
                action()
            messages.append((type(info.value), str(info.value).replace("torch.", "")))
        model.first.scale = None
        assert "first.scale" not in model.state_dict()
        del model.act
        assert "act" not in dict(model.named_children())
    half = len(messages) // 2
    for (t_type, t_msg), (g_type, g_msg) in zip(messages[:half], messages[half:], strict=True):
        assert t_type is g_type
        # The text before the first quote is PyTorch's; quoted type names differ by package.
        assert t_msg.split("'")[0] == g_msg.split("'")[0]


def test_parameter_semantics():
    p = gnn.Parameter(glassgrad.ones(2, 2))
    tp = torch.nn.Parameter(torch.ones(2, 2))
    assert repr(p) == repr(tp)
    assert repr(gnn.Parameter(glassgrad.ones(2), requires_grad=False)) == repr(
        torch.nn.Parameter(torch.ones(2), requires_grad=False)
    )
    assert p.is_leaf and p.requires_grad and isinstance(p, glassgrad.Tensor)
    assert type(p * 2) is glassgrad.Tensor and type(p.detach()) is glassgrad.Tensor
    with glassgrad.no_grad():
        q = gnn.Parameter(glassgrad.zeros(3))
    assert q.requires_grad
    assert type(copy.deepcopy(p)) is gnn.Parameter
    loaded = pickle.loads(pickle.dumps(p))
    assert type(loaded) is gnn.Parameter and loaded.requires_grad
    with pytest.raises(RuntimeError):
        gnn.Parameter(glassgrad.ones(2, dtype=glassgrad.int64))


def test_freezing_stops_param_grads_but_not_flow():
    # spec 9.1: a frozen module's parameters get no gradient, its input still does.
    for lib in (torch, glassgrad):
        model = build(lib)
        model.first.requires_grad_(False)
        x = lib.ones(2, 3, requires_grad=True)
        model(x).sum().backward()
        assert model.first.weight.grad is None
        assert model.blocks[0].weight.grad is not None
        assert x.grad is not None


def test_eval_does_not_disable_grad():
    # spec 9.3: eval() only switches layer behaviour, autograd still records.
    g = build(glassgrad).eval()
    assert not g.training and not g.blocks[1].training
    out = g(glassgrad.ones(1, 3))
    assert out.requires_grad and out.grad_fn is not None
    assert g.train().head[0].training


def test_zero_grad():
    g = build(glassgrad)
    g(glassgrad.ones(1, 3)).sum().backward()
    g.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in g.parameters())
    g.zero_grad()
    assert all(p.grad is None for p in g.parameters())


def test_apply_and_modules_order():
    t, g = both(build)
    seen = []
    g.apply(lambda m: seen.append(type(m).__name__))
    tseen = []
    t.apply(lambda m: tseen.append(type(m).__name__))
    assert seen == tseen
    assert [type(m).__name__ for m in g.modules()] == [type(m).__name__ for m in t.modules()]


def test_shared_modules_listed_once():
    for lib in (torch, glassgrad):
        shared = lib.nn.ReLU()
        seq = lib.nn.Sequential(shared, shared)
        assert len(list(seq.modules())) == 2
        assert len(list(seq.named_modules(remove_duplicate=False))) == 3


def test_forward_hooks():
    results = []
    for lib in (torch, glassgrad):
        model = build(lib)
        calls = []
        pre = model.first.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        post = model.first.register_forward_hook(lambda m, args, out: out + 1)
        model.head.register_forward_hook(
            lambda m, args, out, calls=calls: calls.append(tuple(out.shape))
        )
        out = model(lib.ones(1, 3))
        pre.remove()
        post.remove()
        out2 = model(lib.ones(1, 3))
        results.append((out.detach().numpy().copy(), out2.detach().numpy().copy(), calls))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-6)
    assert results[1][2] == results[0][2]


def test_full_backward_hook():
    records = []
    for lib in (torch, glassgrad):
        model = build(lib)
        seen = []

        def hook(module, grad_input, grad_output, seen=seen):
            seen.append(
                (
                    [None if g is None else g.numpy().copy() for g in grad_input],
                    [g.numpy().copy() for g in grad_output],
                )
            )
            return (grad_input[0] * 0,)

        model.blocks[1].register_full_backward_hook(hook)
        x = lib.ones(2, 3, requires_grad=True)
        model(x).sum().backward()
        name = type(model.blocks[1](model.first(x)).grad_fn).__name__
        records.append((seen, x.grad.numpy().copy(), name))
    (t_seen, t_grad, t_name), (g_seen, g_grad, g_name) = records
    assert len(g_seen) == len(t_seen) == 1
    np.testing.assert_allclose(g_seen[0][0][0], t_seen[0][0][0], rtol=1e-5)
    np.testing.assert_allclose(g_seen[0][1][0], t_seen[0][1][0], rtol=1e-5)
    np.testing.assert_allclose(g_grad, t_grad)
    assert g_name == t_name == "BackwardHookFunctionBackward"


def test_repr_of_nested_model():
    t, g = both(build)
    assert repr(g) == repr(t)
