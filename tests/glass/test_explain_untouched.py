"""glass.explain only looks: it runs none of the user's hooks and changes no state.

A program with every kind of hook PyTorch offers on the way to its loss (tensor hooks on a leaf
and on an intermediate, ``retain_grad``, a post-accumulate hook, a node hook, module forward
and full backward hooks), an optimizer that has taken a step, and a random generator in use.
After ``explain`` no hook has run, ``.grad``, the optimizer's state and the generator's state
are as they were; the next ``backward()`` then runs every hook once and gives PyTorch's
gradients, as if explain had not been called.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import torch as real_torch

import glassgrad
from glassgrad import glass

RNG = np.random.default_rng(3)
X = RNG.standard_normal((6, 3)).astype(np.float32)
WEIGHTS = [RNG.standard_normal(shape).astype(np.float32) for shape in ((4, 3), (4,), (1, 4), (1,))]


def _program(torch, calls):
    """Build model, optimizer and a loss with hooks everywhere; ``calls`` counts each hook."""

    def count(key, result=None):
        def hook(*_):
            calls[key] = calls.get(key, 0) + 1
            return result

        return hook

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with torch.no_grad():
        for param, value in zip(model.parameters(), WEIGHTS, strict=True):
            param.copy_(torch.tensor(value))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.tensor(X)).pow(2).mean().backward()
    optimizer.step()  # Adam's state now holds moments and a step count
    model[0].weight.register_hook(count("leaf"))
    model[2].bias.register_post_accumulate_grad_hook(count("post_accumulate"))
    model[2].register_full_backward_hook(count("module_backward"))
    model[0].register_forward_hook(count("module_forward"))
    hidden = model[1](model[0](torch.tensor(X)))
    hidden.register_hook(count("intermediate"))
    hidden.retain_grad()
    loss = model[2](hidden).pow(2).mean()
    loss.grad_fn.register_hook(count("node"))
    return model, optimizer, hidden, loss


def _state(torch, model, optimizer, hidden):
    grads = [p.grad.clone() for p in model.parameters()]
    moments = [
        {key: value.clone() for key, value in optimizer.state[p].items()}
        for p in model.parameters()
    ]
    return grads, moments, hidden.grad, torch.get_rng_state().clone()


def test_explain_runs_no_hook_and_changes_no_state():
    calls: dict = {}
    model, optimizer, hidden, loss = _program(glassgrad, calls)
    before_calls = dict(calls)
    grads, moments, hidden_grad, rng = _state(glassgrad, model, optimizer, hidden)
    glassgrad.randn(3)  # the generator is in use; explain must not move it
    rng = glassgrad.get_rng_state().clone()
    table = glass.explain(loss, model)
    assert table["0.weight"].status == "ok"
    assert calls == before_calls
    after = _state(glassgrad, model, optimizer, hidden)
    for mine, theirs in zip(grads, after[0], strict=True):
        assert np.array_equal(mine.numpy(), theirs.numpy())
    for mine, theirs in zip(moments, after[1], strict=True):
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert np.array_equal(np.asarray(mine[key]), np.asarray(theirs[key]))
    assert hidden_grad is None and after[2] is None
    assert np.array_equal(rng.numpy(), glassgrad.get_rng_state().numpy())


def test_after_explain_backward_runs_each_hook_once_with_pytorchs_gradients():
    mine: dict = {}
    model, optimizer, hidden, loss = _program(glassgrad, mine)
    glass.explain(loss, model)
    glass.explain(loss, model)  # twice: the second pass must not find the first's leftovers
    optimizer.zero_grad()
    loss.backward()
    theirs: dict = {}
    real_model, _, real_hidden, real_loss = _program(real_torch, theirs)
    for param in real_model.parameters():
        param.grad = None
    real_loss.backward()
    assert mine == theirs
    assert mine["leaf"] == 1 and mine["node"] == 1 and mine["module_backward"] == 1
    for param, real in zip(model.parameters(), real_model.parameters(), strict=True):
        np.testing.assert_allclose(param.grad.numpy(), real.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hidden.grad.numpy(), real_hidden.grad.numpy(), rtol=1e-5)


def _private_reads(path: Path) -> list:
    """``value._name`` attribute reads in a glass source file, other than on ``self``, ``cls``
    or an imported module (``sys._getframe``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {"self", "cls"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") or (
            isinstance(node.value, ast.Name) and node.value.id in modules
        ):
            continue
        found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_glass_reads_the_graph_through_introspect_only():
    folder = Path(glass.__file__).parent
    found = [read for path in sorted(folder.glob("*.py")) for read in _private_reads(path)]
    # (a function's own attribute, set where it is defined)
    assert found == ["_scope.py:72: record_modules._handles"]
