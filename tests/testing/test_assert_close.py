"""torch.testing.assert_close: PyTorch's default tolerances per dtype and its messages."""

import numpy as np
import pytest
import torch

import glassgrad as gg


def _outcome(call, lib):
    try:
        call(lib)
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc).replace("glassgrad.tensor.Tensor", "torch.Tensor")
    return "ok"


def _a(lib, *values, dtype=None):
    return lib.tensor(list(values) or [1.0, 2.0, 3.0], dtype=dtype)


def ac(lib, *args, **kwargs):
    return lib.testing.assert_close(*args, **kwargs)


NAN, INF = float("nan"), float("inf")

CALLS = [
    lambda lib: ac(lib, _a(lib), _a(lib) + 1e-6),
    lambda lib: ac(lib, _a(lib), _a(lib, 1.0, 2.5, 3.0)),
    lambda lib: ac(lib, _a(lib), _a(lib, 1.0, 2.5, 3.5)),
    lambda lib: ac(lib, _a(lib), _a(lib, 1.0, 2.00001, 3.0)),
    lambda lib: ac(
        lib, _a(lib, dtype=lib.float64), _a(lib, 1.0, 2.0000001, 3.0, dtype=lib.float64)
    ),
    lambda lib: ac(lib, _a(lib, dtype=lib.float64), _a(lib, 1.0, 2.000001, 3.0, dtype=lib.float64)),
    lambda lib: ac(lib, _a(lib, dtype=lib.float16), _a(lib, 1.0, 2.001, 3.0, dtype=lib.float16)),
    lambda lib: ac(lib, _a(lib, dtype=lib.float16), _a(lib, 1.0, 2.01, 3.0, dtype=lib.float16)),
    lambda lib: ac(lib, _a(lib), _a(lib).double()),
    lambda lib: ac(lib, _a(lib), _a(lib).double(), check_dtype=False),
    lambda lib: ac(lib, _a(lib), _a(lib, 1.0, 2.0000001, 3.0).double(), check_dtype=False),
    lambda lib: ac(lib, _a(lib), _a(lib)[:2]),
    lambda lib: ac(lib, _a(lib, 1, 2), _a(lib, 1, 3)),
    lambda lib: ac(lib, _a(lib, 1, 2, 0), _a(lib, 1, 3, 0)),
    lambda lib: ac(lib, _a(lib, 1, 2), _a(lib, 1.0, 2.0)),
    lambda lib: ac(lib, _a(lib, 1, 2), _a(lib, 1.0, 2.5), check_dtype=False),
    lambda lib: ac(lib, _a(lib), _a(lib, 1.0, NAN, 3.0)),
    lambda lib: ac(lib, _a(lib, 1.0, NAN), _a(lib, 1.0, NAN)),
    lambda lib: ac(lib, _a(lib, 1.0, NAN), _a(lib, 1.0, NAN), equal_nan=True),
    lambda lib: ac(lib, _a(lib, 1.0, INF), _a(lib, 1.0, INF)),
    lambda lib: ac(lib, _a(lib, 1.0, INF), _a(lib, 1.0, -INF)),
    lambda lib: ac(lib, _a(lib), _a(lib), rtol=1e-3),
    lambda lib: ac(lib, _a(lib), _a(lib), atol=1e-3),
    lambda lib: ac(lib, _a(lib), _a(lib) + 0.01, rtol=0.0, atol=0.1),
    lambda lib: ac(lib, lib.ones(2, 2), lib.zeros(2, 2)),
    lambda lib: ac(lib, lib.zeros(2, 3), lib.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 2.0]])),
    lambda lib: ac(lib, lib.tensor(1.0), lib.tensor(2.0)),
    lambda lib: ac(lib, _a(lib), _a(lib, 1.0, 2.5, 3.0), msg="custom"),
    lambda lib: ac(lib, _a(lib), _a(lib) + 1, msg=lambda text: "X" + text[:5]),
    lambda lib: ac(lib, {"a": _a(lib)}, {"a": _a(lib) + 1}),
    lambda lib: ac(lib, {"a": _a(lib)}, {"b": _a(lib)}),
    lambda lib: ac(lib, [_a(lib), _a(lib)], [_a(lib), _a(lib) + 1]),
    lambda lib: ac(lib, [_a(lib)], [_a(lib), _a(lib)]),
    lambda lib: ac(lib, {"x": [1, {"y": _a(lib)}]}, {"x": [1, {"y": _a(lib) * 2}]}),
    lambda lib: ac(lib, _a(lib).requires_grad_(), _a(lib)),
    lambda lib: ac(lib, 1.0, 1.0001),
    lambda lib: ac(lib, 1.0, 1.00000001),
    lambda lib: ac(lib, 1, 1.0),
    lambda lib: ac(lib, 1, 2),
    lambda lib: ac(lib, 0.0, 1e-6),
    lambda lib: ac(lib, None, None),
    lambda lib: ac(lib, None, 1),
    lambda lib: ac(lib, True, False),
    lambda lib: ac(lib, (1, 2), [1, 2]),
    lambda lib: ac(lib, _a(lib), 1.0),
    lambda lib: ac(lib, _a(lib), [1.0, 2.0, 3.0]),
    lambda lib: ac(lib, np.ones(3), np.ones(3) + 1),
    lambda lib: ac(lib, np.ones(3), np.ones(3)),
]


@pytest.mark.parametrize("call", CALLS)
def test_assert_close_matches_torch(call):
    assert _outcome(call, gg) == _outcome(call, torch)
