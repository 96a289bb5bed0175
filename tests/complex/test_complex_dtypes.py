"""Complex dtypes against PyTorch: names, promotion, factories, printing, conversions, errors."""

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg

NAMES = "bool uint8 int8 int64 float16 bfloat16 float32 float64 complex32 complex64 complex128"


def outcome(fn, lib):
    """What ``fn(lib)`` gives: ('value', repr, dtype name) or ('error', type, message)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return ("error", type(exc).__name__, str(exc))
    if isinstance(value, (gg.Tensor, torch.Tensor)):
        return ("value", repr(value), str(value.dtype))
    return ("value", repr(value))


@pytest.mark.parametrize("a", NAMES.split())
def test_promote_types_matches_torch(a):
    for b in NAMES.split():
        ours = gg.promote_types(getattr(gg, a), getattr(gg, b))
        assert str(ours) == str(torch.promote_types(getattr(torch, a), getattr(torch, b)))


def test_dtype_properties_and_aliases():
    for name in ("complex64", "complex128", "complex32", "cfloat", "cdouble", "chalf"):
        ours, theirs = getattr(gg, name), getattr(torch, name)
        assert repr(ours) == repr(theirs)
        assert ours.is_complex and not ours.is_floating_point and ours.is_signed
        assert ours.itemsize == theirs.itemsize
        assert str(ours.to_real()) == str(theirs.to_real())
    for name in ("float16", "bfloat16", "float32", "float64"):
        assert str(getattr(gg, name).to_complex()) == str(getattr(torch, name).to_complex())
    assert str(gg.float32.to_real()) == "torch.float32"


CASES = {
    "tensor_list": lambda L: L.tensor([1 + 2j, 3]),
    "tensor_scalar": lambda L: L.tensor(1j),
    "tensor_typed": lambda L: L.tensor([[1, 2.5j]], dtype=L.complex128),
    "tensor_numpy": lambda L: L.tensor(np.array([1j, 2], dtype=np.complex64)),
    "from_numpy": lambda L: L.from_numpy(np.array([1 - 1j], dtype=np.complex128)),
    "full": lambda L: L.full((2,), 1j),
    "zeros": lambda L: L.zeros(2, 3, dtype=L.cfloat),
    "randn_shape": lambda L: L.randn(2, 3, dtype=L.cdouble).shape,
    "empty_repr": lambda L: L.tensor([], dtype=L.complex64),
    "repr_mixed": lambda L: L.tensor([0.1234567 + 2j, float("nan") + 1j, float("inf") * 1j]),
    "repr_sci": lambda L: L.tensor([[1e10 + 1j, 2j]]),
    "repr_neg_zero": lambda L: L.tensor([1 - 0j, -2.5 + 0.5j]) * L.tensor([1 - 0j, 1 + 0j]),
    "repr_grad": lambda L: L.tensor([1 + 1j], requires_grad=True) * 2,
    "repr_long": lambda L: L.arange(30.0).reshape(3, 10) * (1 + 0.5j),
    "default_float64": lambda L: _with_default(L, lambda: L.tensor([1j, 2])),
    "float_plus_1j": lambda L: L.ones(2) + 1j,
    "double_plus_1j": lambda L: L.ones(2, dtype=L.float64) * 1j,
    "int_plus_1j": lambda L: L.tensor([1, 2]) * 1j,
    "bool_plus_1j": lambda L: L.tensor([True]) + 1j,
    "int_plus_0d_cdouble": lambda L: L.tensor([1, 2]) + L.tensor(1j, dtype=L.complex128),
    "float_plus_0d_cdouble": lambda L: L.ones(2) + L.tensor(1j, dtype=L.complex128),
    "double_plus_cfloat": lambda L: L.ones(2, dtype=L.float64) + L.ones(2, dtype=L.cfloat),
    "cfloat_plus_cdouble": lambda L: L.tensor([1 + 2j]) + L.tensor([1j], dtype=L.complex128),
    "half_plus_1j": lambda L: L.ones(2, dtype=L.float16) * 1j,
    "complex32_factory": lambda L: L.zeros(3, dtype=L.complex32),
    "to_complex": lambda L: L.ones(2).to(L.complex64),
    "int_to_cdouble": lambda L: L.tensor([1, 2]).to(L.cdouble),
    "to_real": lambda L: L.tensor([1 + 2j]).to(L.float32),
    "float_method": lambda L: L.tensor([1 + 2j]).float(),
    "cdouble_method": lambda L: L.tensor([1 + 2j]).cdouble(),
    "cfloat_method": lambda L: L.tensor([1, 2]).cfloat(),
    "to_long": lambda L: L.tensor([1.7 + 2j]).to(L.int64),
    "mul": lambda L: L.tensor([1 + 2j]) * L.tensor([2 - 1j]),
    "div": lambda L: L.tensor([1 + 2j]) / L.tensor([2 - 1j]),
    "rdiv": lambda L: 2 / L.tensor([1 + 2j]),
    "sub_int": lambda L: L.tensor([1 + 2j]) - 1,
    "sum": lambda L: L.tensor([1 + 2j, 2j]).sum(),
    "sum_dim": lambda L: L.tensor([[3 + 4j, 1]]).sum(0, keepdim=True),
    "mean": lambda L: L.tensor([1 + 2j, 2j]).mean(),
    "prod": lambda L: L.tensor([1 + 2j, 2j]).prod(),
    "cumsum": lambda L: L.tensor([3 + 4j, 1]).cumsum(0),
    "exp": lambda L: L.exp(L.tensor([1 + 2j, 2j])),
    "log": lambda L: L.tensor([1 + 2j]).log(),
    "sqrt": lambda L: L.tensor([1.5 + 1j, 2]).sqrt(),
    "tanh": lambda L: L.tensor([1.5 + 1j, 2]).tanh(),
    "sigmoid": lambda L: L.tensor([1 + 2j]).sigmoid(),
    "reciprocal": lambda L: L.tensor([3 + 4j, 1]).reciprocal(),
    "square": lambda L: L.tensor([1 + 2j]).square(),
    "pow": lambda L: L.tensor([1.5 + 1j, 2]) ** 2,
    "pow_tensor": lambda L: L.tensor([1.5 + 1j, 2]).pow(L.tensor([0.5 + 1j, 2])),
    "matmul": lambda L: L.tensor([[1 + 2j, 2j]]) @ L.tensor([[1j], [2]]),
    "matmul_mixed": lambda L: L.tensor([[1 + 2j, 2j]]) @ L.tensor([[1.0], [2]]),
    "einsum": lambda L: L.einsum("i,i->", L.tensor([1 + 2j, 1]), L.tensor([1 + 2j, 1j])),
    "abs": lambda L: L.tensor([3 + 4j]).abs(),
    "abs_double": lambda L: L.abs(L.tensor([3 + 4j], dtype=L.complex128)),
    "sgn": lambda L: L.tensor([3 + 4j, 0]).sgn(),
    "eq": lambda L: L.tensor([1j, 2]) == L.tensor([1j, 3]),
    "isnan": lambda L: L.tensor([3 + 4j, 1]).isnan(),
    "item": lambda L: L.tensor([1j]).item(),
    "tolist": lambda L: L.tensor([1j, 2]).tolist(),
    "complex_builtin": lambda L: complex(L.tensor(1 + 1j)),
    "float_builtin": lambda L: float(L.tensor(1j)),
    "int_builtin": lambda L: int(L.tensor(1j)),
    "requires_grad": lambda L: L.tensor([1j]).requires_grad_(),
    "type": lambda L: (L.tensor([1j]).type(), L.tensor([1j], dtype=L.cdouble).type()),
    "is_floating_point": lambda L: L.tensor([1j]).is_floating_point(),
    "is_complex": lambda L: (L.tensor([1j]).is_complex(), L.is_complex(L.ones(1))),
    "mH": lambda L: L.tensor([[1.5 + 1j, 2]]).mH,
    "H": lambda L: L.tensor([[1.5 + 1j, 2]]).H,
    "cat_promotes": lambda L: L.cat([L.tensor([1.5 + 1j]), L.tensor([1.0])]),
    "where": lambda L: L.where(L.tensor([True, False]), L.tensor([1.5 + 1j, 1j]), 0.0),
    "zeros_like": lambda L: L.zeros_like(L.tensor([1 + 2j])),
    "erf_refused": lambda L: L.erf(L.tensor([1j])).dtype,
    "backward_complex_refused": lambda L: L.tensor([1 + 2j], requires_grad=True).sum().backward(),
    "mean_int_refused": lambda L: L.tensor([1, 2]).mean(),
    # no order on complex numbers: PyTorch's refusals
    "max_dim": lambda L: L.tensor([1j, 2]).max(0),
    "max_all": lambda L: L.tensor([1j, 2]).max(),
    "min_all": lambda L: L.tensor([1j, 2]).min(),
    "amax": lambda L: L.tensor([1j, 2]).amax(),
    "argmax": lambda L: L.tensor([1j, 2]).argmax(),
    "clamp": lambda L: L.tensor([1j, 2]).clamp(0),
    "clamp_min": lambda L: L.tensor([1j, 2]).clamp_min(0),
    "lt": lambda L: L.tensor([1j, 2]) < 1,
    "ge": lambda L: L.tensor([1j, 2]) >= L.tensor([1j, 2]),
    "relu": lambda L: L.relu(L.tensor([1j, 2])),
    "maximum": lambda L: L.maximum(L.tensor([1j, 2]), L.tensor([1j, 2])),
    "sort": lambda L: L.tensor([1j, 2]).sort(),
    "sign": lambda L: L.sign(L.tensor([1j, 2])),
    "gelu": lambda L: L.nn.functional.gelu(L.tensor([1j, 2])),
    "elu": lambda L: L.nn.functional.elu(L.tensor([1j, 2])),
    "leaky_relu": lambda L: L.nn.functional.leaky_relu(L.tensor([1j, 2])),
    "softplus": lambda L: L.nn.functional.softplus(L.tensor([1j, 2])),
    "relu6": lambda L: L.nn.functional.relu6(L.tensor([1j, 2])),
    "layer_norm": lambda L: L.nn.functional.layer_norm(L.tensor([[1j, 2]]), (2,)),
    "mse_loss": lambda L: L.nn.functional.mse_loss(L.tensor([1j, 2]), L.tensor([1j, 1])),
    "cosine_similarity": lambda L: L.nn.functional.cosine_similarity(
        L.tensor([[1j, 2]]), L.tensor([[1j, 2]])
    ),
    "atan2": lambda L: L.atan2(L.tensor([1j, 2]), L.tensor([1j, 2])),
    "deg2rad": lambda L: L.deg2rad(L.tensor([1j, 2])),
    "logit": lambda L: L.logit(L.tensor([1j, 2])),
    "topk": lambda L: L.tensor([1j, 2]).topk(1),
    "median": lambda L: L.tensor([1j, 2]).median(),
    "nansum": lambda L: L.tensor([1j, 2]).nansum(),
    # norms of complex tensors are the norms of their magnitudes
    "vector_norm": lambda L: L.linalg.vector_norm(L.tensor([3 + 4j, 1j])),
    "norm_p1": lambda L: L.norm(L.tensor([[3 + 4j, 1j]]), p=1, dim=1),
    "norm_grad": lambda L: _norm_grad(L),
}


def _norm_grad(L):
    z = L.tensor([3 + 4j, 1j], requires_grad=True)
    z.norm().backward()
    return z.grad


def _with_default(L, fn):
    L.set_default_dtype(L.float64)
    try:
        return fn()
    finally:
        L.set_default_dtype(L.float32)


DEPARTURES = {
    # NumPy has no complex32: glassgrad names the dtype but refuses its tensors
    "complex32_factory",
    "half_plus_1j",
    # torch's kernel is called erf_vml_cpu; glassgrad's error names erf_cpu
    "erf_refused",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    ours, theirs = outcome(CASES[name], gg), outcome(CASES[name], torch)
    if name in DEPARTURES:
        assert ours[0] == "error" and ours[1] in ("TypeError", "NotImplementedError"), ours
        return
    if name == "randn_shape":
        assert ours == theirs
        return
    assert ours == theirs


def test_complex32_is_refused_clearly():
    with pytest.raises(TypeError, match="NumPy has no complex32"):
        gg.zeros(2, dtype=gg.complex32)


def test_casting_to_real_warns_as_torch():
    with pytest.warns(UserWarning, match="Casting complex values to real discards"):
        gg.tensor([1 + 2j]).to(gg.float64)
