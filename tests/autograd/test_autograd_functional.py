"""``torch.autograd.functional`` against PyTorch: values, shapes, create_graph, strict errors."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_compare import assert_same


def _a(lib):
    return lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=lib.float64)


def _b(lib):
    return lib.tensor(np.linspace(0.5, 2, 3), dtype=lib.float64)


def _f1(x):
    return (x.exp() * 2).sum(1)


def _f2(x, y):
    return x * y, (x.sin() * y).sum()


def _scalar(x, y):
    return (x.pow(3) * y).sum()


def _ones(lib, *shape):
    return lib.ones(*shape, dtype=lib.float64)


CASES = {
    "jacobian": lambda lib, F: F.jacobian(_f1, _a(lib)),
    "jacobian_tuples": lambda lib, F: F.jacobian(_f2, (_a(lib), _b(lib))),
    "jacobian_vectorize": lambda lib, F: F.jacobian(_f2, (_a(lib), _b(lib)), vectorize=True),
    "jacobian_create_graph": lambda lib, F: F.jacobian(_f2, (_a(lib), _b(lib)), create_graph=True),
    "jacobian_list_input": lambda lib, F: F.jacobian(_f1, [_a(lib)]),
    "jacobian_unused_input": lambda lib, F: F.jacobian(lambda x, y: x * 2, (_a(lib), _b(lib))),
    "jacobian_strict_unused": lambda lib, F: F.jacobian(
        lambda x, y: x * 2, (_a(lib), _b(lib)), strict=True
    ),
    "jacobian_strict_detached": lambda lib, F: F.jacobian(
        lambda x: x.detach(), _a(lib), strict=True
    ),
    "jacobian_strict_create_graph_linear": lambda lib, F: F.jacobian(
        lambda x: x * 2, _b(lib), strict=True, create_graph=True
    ),
    "jacobian_forward_mode": lambda lib, F: F.jacobian(_f1, _a(lib), strategy="forward-mode"),
    "jacobian_forward_mode_strict": lambda lib, F: F.jacobian(
        _f1, _a(lib), strategy="forward-mode", strict=True
    ),
    "jacobian_forward_mode_create_graph": lambda lib, F: F.jacobian(
        _f1, _a(lib), strategy="forward-mode", create_graph=True
    ),
    "jacobian_bad_strategy": lambda lib, F: F.jacobian(_f1, _a(lib), strategy="sideways"),
    "jacobian_vectorize_strict": lambda lib, F: F.jacobian(
        _f1, _a(lib), strict=True, vectorize=True
    ),
    "jacobian_scalar_in_out": lambda lib, F: F.jacobian(
        lambda x: x * x, lib.tensor(3.0, dtype=lib.float64)
    ),
    "hessian_tuples": lambda lib, F: F.hessian(_scalar, (_a(lib), _b(lib))),
    "hessian": lambda lib, F: F.hessian(lambda x: x.pow(3).sum(), _b(lib)),
    "hessian_vectorize": lambda lib, F: F.hessian(
        lambda x: x.pow(3).sum(), _b(lib), vectorize=True
    ),
    "hessian_create_graph": lambda lib, F: F.hessian(
        lambda x: x.pow(3).sum(), _b(lib), create_graph=True
    ),
    "hessian_strict_linear": lambda lib, F: F.hessian(
        lambda x: (x * 2).sum(), _b(lib), strict=True
    ),
    "hessian_not_scalar": lambda lib, F: F.hessian(_f1, _a(lib)),
    "hessian_tuple_output": lambda lib, F: F.hessian(lambda x: (x.sum(),), _b(lib)),
    "hessian_bad_strategy": lambda lib, F: F.hessian(_f1, _a(lib), outer_jacobian_strategy="nope"),
    "vjp": lambda lib, F: F.vjp(_f1, _a(lib), _ones(lib, 2)),
    "vjp_tuples": lambda lib, F: F.vjp(
        _f2, (_a(lib), _b(lib)), (_ones(lib, 2, 3), lib.tensor(2.0, dtype=lib.float64))
    ),
    "vjp_no_v": lambda lib, F: F.vjp(_f1, _a(lib)),
    "vjp_scalar_no_v": lambda lib, F: F.vjp(lambda x: x.sum(), _a(lib)),
    "vjp_bad_v_size": lambda lib, F: F.vjp(_f1, _a(lib), _ones(lib, 3)),
    "vjp_bad_v_length": lambda lib, F: F.vjp(_f2, (_a(lib), _b(lib)), (_ones(lib, 2, 3),)),
    "vjp_bad_v_entry": lambda lib, F: F.vjp(
        _f2, (_a(lib), _b(lib)), (_ones(lib, 2, 3), _ones(lib, 2))
    ),
    "vjp_create_graph": lambda lib, F: F.vjp(
        _f1, _a(lib).requires_grad_(), _ones(lib, 2), create_graph=True
    ),
    "vjp_strict_unused": lambda lib, F: F.vjp(
        lambda x, y: x.sum(), (_a(lib), _b(lib)), strict=True
    ),
    "vjp_not_tensor": lambda lib, F: F.vjp(_f1, 3.0),
    "vjp_tuple_not_tensor": lambda lib, F: F.vjp(_f1, (_a(lib), 3)),
    "vjp_output_not_tensor": lambda lib, F: F.vjp(lambda x: 3.0, _a(lib)),
    "jvp": lambda lib, F: F.jvp(_f1, _a(lib), _ones(lib, 2, 3)),
    "jvp_tuples": lambda lib, F: F.jvp(_f2, (_a(lib), _b(lib)), (_a(lib), _b(lib))),
    "jvp_strict_detached": lambda lib, F: F.jvp(
        lambda x: x.detach(), _a(lib), _a(lib), strict=True
    ),
    "jvp_create_graph": lambda lib, F: F.jvp(
        _f1, _a(lib).requires_grad_(), _ones(lib, 2, 3), create_graph=True
    ),
    "jvp_no_v": lambda lib, F: F.jvp(_f1, _a(lib)),
    "hvp": lambda lib, F: F.hvp(_scalar, (_a(lib), _b(lib)), (_a(lib), _b(lib))),
    "vhp": lambda lib, F: F.vhp(_scalar, (_a(lib), _b(lib)), (_a(lib), _b(lib))),
    "hvp_create_graph": lambda lib, F: F.hvp(
        lambda x: x.pow(3).sum(), _b(lib), _b(lib), create_graph=True
    ),
    "hvp_strict_linear": lambda lib, F: F.hvp(
        lambda x: (x * 2).sum(), _b(lib), _b(lib), strict=True
    ),
    "vhp_strict_linear": lambda lib, F: F.vhp(
        lambda x: (x * 2).sum(), _b(lib), _b(lib), strict=True
    ),
    "hvp_not_scalar": lambda lib, F: F.hvp(_f1, _a(lib), _a(lib)),
    "vhp_tuple_output": lambda lib, F: F.vhp(lambda x: (x.sum(),), _b(lib), _b(lib)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_matches_torch(name):
    assert_same(lambda lib: CASES[name](lib, lib.autograd.functional))


def test_functional_under_no_grad_matches_torch():
    def case(lib):
        with lib.no_grad():
            return lib.autograd.functional.vjp(_f1, _a(lib), _ones(lib, 2))

    assert_same(case)


def test_vectorize_gives_the_loop_values():
    import glassgrad

    F = glassgrad.autograd.functional
    a, b = _a(glassgrad), _b(glassgrad)
    loop = F.jacobian(_f2, (a, b))
    vectorized = F.jacobian(_f2, (a, b), vectorize=True)
    for row_l, row_v in zip(loop, vectorized, strict=True):
        for left, right in zip(row_l, row_v, strict=True):
            np.testing.assert_array_equal(left.numpy(), right.numpy())
