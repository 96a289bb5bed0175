"""The two patterns that motivate gradient control, run in glassgrad and in PyTorch 2.13 on the
same weights: the GAN discriminator step (spec section 10) and a frozen module between trainable
ones (spec section 9.1). glassgrad's random stream differs from torch's, so torch draws the
initial weights and inputs and glassgrad receives copies; both then print the spec's facts."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import glassgrad

# The spec's observed output (PyTorch 2.13), pasted.
SPEC_10 = """\
A (detach):  G grads [None, None, None, None]
A then G-step: all G grads set: True
B fake: False True None
B (no_grad): G grads [None, None, None, None]
D grads identical: True
D losses identical: True 1.4234318733215332
B then G-step on no_grad fake: G grads [None, None, None, None]
C (no detach): G grads set: [True, True, True, True]
C D grads identical to A: True"""

SPEC_9_1 = """\
True
[False, False]
None None
True True
tensor([[ 0.1472,  0.0057, -0.0081],
        [-0.2395, -0.0028,  0.0523],
        [-0.4515,  0.0451,  0.0938],
        [-0.8667, -0.0010,  0.2532]])"""


def mirror(lib, torch_module):
    """``torch_module`` itself for torch; for glassgrad, the same architecture with its weights."""
    if lib is torch:
        return torch_module
    layers = []
    for layer in torch_module:
        if isinstance(layer, torch.nn.Linear):
            layers.append(glassgrad.nn.Linear(layer.in_features, layer.out_features))
        else:
            layers.append(getattr(glassgrad.nn, type(layer).__name__)())
    model = glassgrad.nn.Sequential(*layers)
    state = {k: glassgrad.tensor(v.numpy()) for k, v in torch_module.state_dict().items()}
    model.load_state_dict(state)
    return model


def data(lib, tensor):
    return tensor if lib is torch else glassgrad.tensor(tensor.numpy())


# -- spec section 10: the GAN pattern --------------------------------------------------------
def gan_pattern(lib):
    """Section 10's code with ``torch`` replaced by ``lib``; returns its printout and values."""
    nn = lib.nn
    lines, values = [], {}

    def build():
        torch.manual_seed(0)  # torch draws the weights, in the spec's order; lib gets copies
        G = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
        D = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
        return mirror(lib, G), mirror(lib, D)

    bce = nn.BCEWithLogitsLoss()
    torch.manual_seed(1)
    z, real = data(lib, torch.randn(4, 2)), data(lib, torch.randn(4, 2))
    ones, zeros = lib.ones(4, 1), lib.zeros(4, 1)

    G, D = build()
    fake = G(z)
    d_loss_a = bce(D(real), ones) + bce(D(fake.detach()), zeros)
    d_loss_a.backward()
    grads_a = [p.grad.clone() for p in D.parameters()]
    lines.append(f"A (detach):  G grads {[p.grad for p in G.parameters()]}")
    bce(D(fake), ones).backward()
    lines.append(
        f"A then G-step: all G grads set: {all(p.grad is not None for p in G.parameters())}"
    )
    values["g_grads_a"] = [p.grad.numpy().copy() for p in G.parameters()]

    G, D = build()
    with lib.no_grad():
        fake_ng = G(z)
    lines.append(f"B fake: {fake_ng.requires_grad} {fake_ng.is_leaf} {fake_ng.grad_fn}")
    d_loss_b = bce(D(real), ones) + bce(D(fake_ng), zeros)
    d_loss_b.backward()
    grads_b = [p.grad.clone() for p in D.parameters()]
    lines.append(f"B (no_grad): G grads {[p.grad for p in G.parameters()]}")
    identical = all(lib.equal(u, v) for u, v in zip(grads_a, grads_b, strict=True))
    lines.append(f"D grads identical: {identical}")
    lines.append(f"D losses identical: {lib.equal(d_loss_a, d_loss_b)} {d_loss_a.item()}")
    bce(D(fake_ng), ones).backward()
    lines.append(f"B then G-step on no_grad fake: G grads {[p.grad for p in G.parameters()]}")

    G, D = build()
    fake_c = G(z)
    (bce(D(real), ones) + bce(D(fake_c), zeros)).backward()
    grads_c = [p.grad.clone() for p in D.parameters()]
    lines.append(f"C (no detach): G grads set: {[p.grad is not None for p in G.parameters()]}")
    identical_c = all(lib.equal(u, v) for u, v in zip(grads_a, grads_c, strict=True))
    lines.append(f"C D grads identical to A: {identical_c}")
    values["d_grads"] = [g.numpy() for g in grads_a]
    values["d_loss"] = d_loss_a.item()
    values["g_grads_c"] = [p.grad.numpy() for p in G.parameters()]
    return "\n".join(lines), values


@pytest.fixture(scope="module")
def gan_runs():
    return {name: gan_pattern(lib) for name, lib in (("torch", torch), ("glassgrad", glassgrad))}


def test_the_gan_pattern_reproduces_the_spec_in_torch(gan_runs):
    assert gan_runs["torch"][0] == SPEC_10


def test_the_gan_pattern_prints_the_same_facts_in_glassgrad(gan_runs):
    ours, theirs = gan_runs["glassgrad"][0].splitlines(), SPEC_10.splitlines()
    assert len(ours) == len(theirs)
    for mine, spec in zip(ours, theirs, strict=True):
        if mine.startswith("D losses identical"):
            *words, number = mine.split()
            *spec_words, spec_number = spec.split()
            assert words == spec_words
            assert float(number) == pytest.approx(float(spec_number), rel=1e-6)
        else:
            assert mine == spec


def test_the_gan_pattern_values_match_torch(gan_runs):
    ours, theirs = gan_runs["glassgrad"][1], gan_runs["torch"][1]
    assert ours["d_loss"] == pytest.approx(theirs["d_loss"], rel=1e-6)
    for key in ("d_grads", "g_grads_a", "g_grads_c"):
        for mine, spec in zip(ours[key], theirs[key], strict=True):
            np.testing.assert_allclose(mine, spec, rtol=1e-5, atol=1e-7, err_msg=key)


# -- spec section 9.1: a frozen module between trainable ones ------------------------------------
def frozen_middle(lib):
    """Section 9.1's code with ``torch`` replaced by ``lib``; returns its printout and grads."""
    nn = torch.nn

    def make():
        torch.manual_seed(0)
        return mirror(
            lib,
            nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1)),
        )

    m1, m2 = make(), make()
    x = data(lib, torch.randn(5, 3))
    lines = [str(m2[2].requires_grad_(False) is m2[2])]
    lines.append(str([p.requires_grad for p in m2[2].parameters()]))
    m1(x).sum().backward()
    m2(x).sum().backward()
    lines.append(f"{m2[2].weight.grad} {m2[2].bias.grad}")
    lines.append(
        f"{lib.equal(m1[0].weight.grad, m2[0].weight.grad)} "
        f"{lib.equal(m1[4].weight.grad, m2[4].weight.grad)}"
    )
    lines.append(str(m2[0].weight.grad))
    grads = {name: p.grad for name, p in m2.named_parameters()}
    return "\n".join(lines), {k: None if g is None else g.numpy() for k, g in grads.items()}


@pytest.mark.parametrize("lib", [torch, glassgrad], ids=["torch", "glassgrad"])
def test_the_frozen_middle_prints_the_spec(lib):
    assert frozen_middle(lib)[0] == SPEC_9_1


def test_the_frozen_middle_gradients_match_torch():
    ours, theirs = frozen_middle(glassgrad)[1], frozen_middle(torch)[1]
    assert ours.keys() == theirs.keys()
    assert ours["2.weight"] is None and ours["2.bias"] is None
    for name, grad in theirs.items():
        if grad is not None:
            np.testing.assert_allclose(ours[name], grad, rtol=1e-5, atol=1e-7, err_msg=name)


def test_the_frozen_middle_with_a_frozen_module_and_an_optimizer():
    # The pattern in a training step: only the trainable modules move, the frozen one does not.
    torch.manual_seed(0)
    source = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 4),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 1),
    )
    x = torch.randn(5, 3)
    after = {}
    for lib in (torch, glassgrad):
        model = copy.deepcopy(source) if lib is torch else mirror(lib, source)
        model[2].requires_grad_(False)
        frozen = {k: v.clone() for k, v in model[2].state_dict().items()}
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
        for _ in range(3):
            optimizer.zero_grad()
            model(data(lib, x)).pow(2).sum().backward()
            optimizer.step()
        assert all(lib.equal(frozen[k], v) for k, v in model[2].state_dict().items())
        after[lib.__name__] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    for name, value in after["torch"].items():
        np.testing.assert_allclose(
            after["glassgrad"][name], value, rtol=1e-5, atol=1e-6, err_msg=name
        )
