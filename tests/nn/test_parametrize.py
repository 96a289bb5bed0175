"""nn.utils.parametrize and parametrizations.weight_norm against PyTorch: the Parametrized<Class>
module, its printout, parameters and state-dict keys, values and gradients with the same weights,
assignment through right_inverse, removal, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.parametrizations  # noqa: F401 - (PyTorch does not import them with nn.utils)
import torch.nn.utils.parametrize  # noqa: F401

import glassgrad

RNG = np.random.default_rng(91)


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()

    return Symmetric()


CASES = {
    "weight_norm": lambda lib, m: lib.nn.utils.parametrizations.weight_norm(m),
    "weight_norm_dim1": lambda lib, m: lib.nn.utils.parametrizations.weight_norm(m, dim=1),
    "weight_norm_all": lambda lib, m: lib.nn.utils.parametrizations.weight_norm(m, dim=None),
    "symmetric": lambda lib, m: lib.nn.utils.parametrize.register_parametrization(
        m, "weight", _symmetric(lib)
    ),
    "stacked": lambda lib, m: lib.nn.utils.parametrize.register_parametrization(
        lib.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(lib)),
        "weight",
        lib.nn.Tanh(),
    ),
}


def _pair(case):
    t_mod = torch.nn.Linear(4, 4).double()
    g_mod = glassgrad.nn.Linear(4, 4).double()
    g_mod.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    return CASES[case](torch, t_mod), CASES[case](glassgrad, g_mod)


@pytest.mark.parametrize("case", list(CASES))
def test_parametrization_matches_torch(case):
    t_mod, g_mod = _pair(case)
    assert repr(g_mod).replace("glassgrad", "torch") == repr(t_mod)
    assert type(g_mod).__name__ == type(t_mod).__name__
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    assert [n for n, _ in g_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    for key, value in t_mod.state_dict().items():
        np.testing.assert_allclose(g_mod.state_dict()[key].numpy(), value.numpy(), rtol=1e-12)
    x = RNG.standard_normal((3, 4))
    t_x, g_x = torch.tensor(x, requires_grad=True), glassgrad.tensor(x, requires_grad=True)
    t_y, g_y = t_mod(t_x), g_mod(g_x)
    np.testing.assert_allclose(g_y.detach().numpy(), t_y.detach().numpy(), rtol=1e-10)
    (t_y**2).sum().backward()
    (g_y**2).sum().backward()
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-9)
    for (name, t_p), (_, g_p) in zip(
        t_mod.named_parameters(), g_mod.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            g_p.grad.numpy(), t_p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )
    for lib, module in ((torch, t_mod), (glassgrad, g_mod)):
        assert lib.nn.utils.parametrize.is_parametrized(module, "weight")
        assert not lib.nn.utils.parametrize.is_parametrized(module, "bias")
        lib.nn.utils.parametrize.remove_parametrizations(module, "weight")
    assert type(g_mod) is glassgrad.nn.Linear and not hasattr(g_mod, "parametrizations")
    assert list(g_mod.state_dict()) == list(t_mod.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(
        g_mod.weight.detach().numpy(), t_mod.weight.detach().numpy(), rtol=1e-10
    )


def test_assignment_goes_through_right_inverse():
    value = RNG.standard_normal((4, 4))
    value = value + value.T
    t_mod, g_mod = _pair("symmetric")
    with torch.no_grad():
        t_mod.weight = torch.tensor(value)
    with glassgrad.no_grad():
        g_mod.weight = glassgrad.tensor(value)
    np.testing.assert_allclose(g_mod.weight.detach().numpy(), t_mod.weight.detach().numpy())
    np.testing.assert_allclose(
        g_mod.parametrizations.weight.original.detach().numpy(),
        t_mod.parametrizations.weight.original.detach().numpy(),
    )


def test_optimizer_keeps_the_original_parameter():
    for lib in (torch, glassgrad):
        module = lib.nn.Linear(3, 3)
        weight = module.weight
        lib.nn.utils.parametrize.register_parametrization(module, "weight", _symmetric(lib))
        assert module.parametrizations.weight.original is weight


def _outcome(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return (type(exc).__name__, str(exc))
    return ("ok",)


BAD = {
    "remove_missing": lambda L: L.nn.utils.parametrize.remove_parametrizations(
        L.nn.Linear(2, 2), "weight"
    ),
    "register_missing": lambda L: L.nn.utils.parametrize.register_parametrization(
        L.nn.Linear(2, 2), "foo", L.nn.Identity()
    ),
    "leave_split": lambda L: L.nn.utils.parametrize.remove_parametrizations(
        L.nn.utils.parametrizations.weight_norm(L.nn.Linear(2, 2)),
        "weight",
        leave_parametrized=False,
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_errors_match_torch(case):
    assert _outcome(lambda: BAD[case](glassgrad)) == _outcome(lambda: BAD[case](torch))
