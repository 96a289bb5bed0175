"""SoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, GaussianNLLLoss, HingeEmbeddingLoss and
TripletMarginLoss against PyTorch 2.13: printout, values for every reduction, input gradients,
second-order gradients, grad_fn names and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad


def _normal(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def _signs(*shape, seed=2):
    return np.where(np.random.default_rng(seed).random(shape) > 0.5, 1.0, -1.0)


def _lib_args(lib, arrays):
    out = []
    for item in arrays:
        if isinstance(item, tuple):  # ("const", array): a target that does not require grad
            out.append(lib.tensor(item[1]))
        elif isinstance(item, np.ndarray):
            out.append(lib.tensor(item, requires_grad=item.dtype.kind == "f"))
        else:
            out.append(item)
    return out


def _run(lib, spec, arrays, second_order):
    module = eval("nn." + spec, {"nn": lib.nn, "lib": lib})
    inputs = _lib_args(lib, arrays)
    loss = module(*inputs)
    grads_of = [t for t in inputs if hasattr(t, "requires_grad") and t.requires_grad]
    weight = lib.tensor(np.linspace(0.5, 1.5, max(loss.numel(), 1)).reshape(tuple(loss.shape)))
    total = (loss * weight).sum()
    grads = lib.autograd.grad(total, grads_of, create_graph=second_order, allow_unused=True)
    seconds = []
    if second_order:
        used = [g for g in grads if g is not None and g.requires_grad]
        if used:
            seconds = lib.autograd.grad(
                sum((g * g).sum() for g in used), grads_of, allow_unused=True
            )
    return repr(module), loss, grads, seconds


def compare(spec, arrays, second_order=True):
    try:
        t_repr, t_loss, t_grads, t_second = _run(torch, spec, arrays, second_order)
    except Exception as exc:  # noqa: BLE001 - the same error must come from glassgrad
        with pytest.raises(type(exc)) as info:
            _run(glassgrad, spec, arrays, second_order)
        assert str(info.value) == str(exc)
        return
    g_repr, g_loss, g_grads, g_second = _run(glassgrad, spec, arrays, second_order)
    assert g_repr == t_repr
    assert type(g_loss.grad_fn).__name__ == type(t_loss.grad_fn).__name__
    np.testing.assert_allclose(g_loss.detach().numpy(), t_loss.detach().numpy(), rtol=1e-10)
    for g, t in list(zip(g_grads, t_grads, strict=True)) + list(
        zip(g_second, t_second, strict=False)
    ):
        if t is None:
            assert g is None or not np.any(g.detach().numpy())
            continue
        expected = t.detach().numpy(force=True)  # force: PyTorch may return a ZeroTensor
        np.testing.assert_allclose(g.detach().numpy(), expected, rtol=1e-9, atol=1e-12)


REDUCTIONS = ["mean", "sum", "none"]
CASES = {
    "soft": ("SoftMarginLoss(reduction='{r}')", [_normal(3, 4), ("const", _signs(3, 4))]),
    "soft_soft_target": (
        "SoftMarginLoss(reduction='{r}')",
        [_normal(5), ("const", _normal(5, seed=3))],
    ),
    "soft_target_grad": ("SoftMarginLoss(reduction='{r}')", [_normal(5), _signs(5)]),
    "multi": ("MultiMarginLoss(reduction='{r}')", [_normal(4, 5), np.array([1, 0, 4, 2])]),
    "multi_p2_margin": (
        "MultiMarginLoss(p=2, margin=0.7, reduction='{r}')",
        [_normal(4, 5), np.array([1, 0, 4, 2])],
    ),
    "multi_weight": (
        "MultiMarginLoss(weight=lib.tensor([1.0, 2.0, 0.5, 1.5, 3.0]), reduction='{r}')",
        [_normal(4, 5), np.array([1, 0, 4, 4])],
    ),
    "multi_1d": ("MultiMarginLoss(p=2, reduction='{r}')", [_normal(5), np.array(3)]),
    "multi_bad_target": ("MultiMarginLoss(reduction='{r}')", [_normal(4, 5), np.array([1, 0])]),
    "multi_out_of_range": ("MultiMarginLoss(reduction='{r}')", [_normal(2, 5), np.array([1, 5])]),
    "poisson": ("PoissonNLLLoss(reduction='{r}')", [_normal(3, 4), np.abs(_normal(3, 4, seed=3))]),
    "poisson_full": (
        "PoissonNLLLoss(log_input=False, full=True, reduction='{r}')",
        [np.abs(_normal(3, 4)) + 0.1, np.abs(_normal(3, 4, seed=3)) * 3],
    ),
    "gauss": (
        "GaussianNLLLoss(reduction='{r}')",
        [_normal(3, 4), _normal(3, 4, seed=3), np.abs(_normal(3, 4, seed=4))],
    ),
    "gauss_full_small_var": (
        "GaussianNLLLoss(full=True, eps=1e-2, reduction='{r}')",
        [_normal(3, 4), _normal(3, 4, seed=3), np.abs(_normal(3, seed=4)) * 1e-3],
    ),
    "gauss_one_var": (
        "GaussianNLLLoss(reduction='{r}')",
        [_normal(3, 4), _normal(3, 4, seed=3), np.abs(_normal(3, 1, seed=4))],
    ),
    "gauss_bad_var": (
        "GaussianNLLLoss(reduction='{r}')",
        [_normal(3, 4), _normal(3, 4, seed=3), np.abs(_normal(2, 2, seed=4))],
    ),
    "gauss_negative_var": (
        "GaussianNLLLoss(reduction='{r}')",
        [_normal(3, 4), _normal(3, 4, seed=3), -np.abs(_normal(3, 4, seed=4))],
    ),
    "hinge": ("HingeEmbeddingLoss(reduction='{r}')", [_normal(3, 4), _signs(3, 4)]),
    "hinge_margin": ("HingeEmbeddingLoss(0.3, reduction='{r}')", [_normal(6), _signs(6)]),
    "triplet": (
        "TripletMarginLoss(reduction='{r}')",
        [_normal(4, 5), _normal(4, 5, seed=3), _normal(4, 5, seed=4)],
    ),
    "triplet_p1_swap": (
        "TripletMarginLoss(margin=2.0, p=1, swap=True, reduction='{r}')",
        [_normal(4, 5), _normal(4, 5, seed=3), _normal(4, 5, seed=4)],
    ),
    "triplet_dims": (
        "TripletMarginLoss(reduction='{r}')",
        [_normal(5), _normal(4, 5, seed=3), _normal(5, seed=4)],
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_loss(case, reduction):
    spec, arrays = CASES[case]
    # PyTorch has no double backward for multi_margin_loss (glassgrad's is tested below)
    compare(spec.format(r=reduction), arrays, second_order=not case.startswith("multi"))


def test_gaussian_float_variance():
    for lib_out in [
        lib.nn.functional.gaussian_nll_loss(
            lib.tensor(_normal(3)), lib.tensor(_normal(3, seed=5)), 0.5
        )
        for lib in (torch, glassgrad)
    ]:
        assert (
            abs(
                float(lib_out)
                - float(
                    torch.nn.functional.gaussian_nll_loss(
                        torch.tensor(_normal(3)), torch.tensor(_normal(3, seed=5)), 0.5
                    )
                )
            )
            < 1e-12
        )


@pytest.mark.parametrize(
    "spec",
    [
        "MultiMarginLoss(p=3)",
        "TripletMarginLoss(margin=0)",
        "MultiMarginLoss(weight=lib.ones(2, 2))",
        "SoftMarginLoss(reduction='avg')",
    ],
)
def test_bad_settings(spec):
    compare(spec, [_normal(2, 2), _signs(2, 2)], second_order=False)


@pytest.mark.parametrize("p", [2])  # p=1: the gradient is piecewise constant
def test_multi_margin_second_order_matches_differences(p):
    """glassgrad's double backward of multi_margin_loss against central differences."""
    data, target = _normal(3, 4), glassgrad.tensor(np.array([0, 3, 1]))

    def grad_norm(values):
        x = glassgrad.tensor(values, requires_grad=True)
        loss = glassgrad.nn.functional.multi_margin_loss(x, target, p=p, margin=2.0)
        (grad,) = glassgrad.autograd.grad(loss, x, create_graph=True)
        return (grad * grad).sum(), x

    total, x = grad_norm(data)
    (second,) = glassgrad.autograd.grad(total, x)
    step, numeric = 1e-6, np.zeros_like(data)
    for index in np.ndindex(data.shape):
        shifted = [data.copy(), data.copy()]
        shifted[0][index] += step
        shifted[1][index] -= step
        numeric[index] = (float(grad_norm(shifted[0])[0]) - float(grad_norm(shifted[1])[0])) / (
            2 * step
        )
    np.testing.assert_allclose(second.numpy(), numeric, atol=1e-6)
