"""real/imag, view_as_real/view_as_complex, complex, polar, conj, angle against PyTorch: values,
memory sharing, writes through the views (with and without autograd), and errors."""

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg


def outcome(fn, lib):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return ("error", type(exc).__name__, str(exc))
    return ("value", _plain(value))


def _plain(value):
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (gg.Tensor, torch.Tensor)):
        grad_fn = type(value.grad_fn).__name__ if value.grad_fn is not None else None
        # (+ 0 on both sides: the signs of zeros may differ, as they may between kernels)
        return (repr(value.detach() + 0), value.stride(), grad_fn)
    return repr(value)


def _writes(L):
    z = L.tensor([1 + 2j, 3 - 1j])
    z.real[0] = 7
    z.imag.mul_(2)
    pairs = L.view_as_real(z)
    pairs[1, 1] = 9
    x = L.zeros(2, 2)
    c = L.view_as_complex(x)
    c += 1j
    z.real = L.tensor([5.0, 6.0])
    z.imag = 3
    return z, x, c._version == x._version


def _write_grad_real(L):
    z0 = L.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    z = z0 * 1
    a = L.tensor([2.0, 3.0], requires_grad=True)
    part = z.real
    part.mul_(a)
    (L.view_as_real(z) ** 2).sum().backward()
    return z, part, z0.grad, a.grad


def _write_grad_pairs(L):
    z0 = L.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    z = z0 * 1
    pairs = L.view_as_real(z)
    pairs.mul_(2)
    (z * z).real.sum().backward()
    return z, pairs, z0.grad


def _base_changed(L):
    z0 = L.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    z = z0 * 1
    part = z.imag
    z.mul_(1j)
    (part * part).sum().backward()
    return part, z0.grad


CASES = {
    "real": lambda L: L.tensor([[1 + 2j, 3]]).real,
    "imag": lambda L: L.imag(L.tensor([[1 + 2j, 3]])),
    "real_of_real": lambda L: L.real(L.ones(2)),
    "imag_of_real": lambda L: L.ones(2).imag,
    "set_real_of_real": lambda L: _set_real(L),
    "view_as_real": lambda L: L.view_as_real(L.tensor([[1 + 2j, 3]])),
    "view_as_real_0d": lambda L: L.view_as_real(L.tensor(1j)),
    "view_as_real_of_real": lambda L: L.view_as_real(L.ones(3)),
    "view_as_complex": lambda L: L.view_as_complex(L.arange(8.0).reshape(2, 2, 2)),
    "view_as_complex_1d": lambda L: L.view_as_complex(L.tensor([1.0, 2.0], dtype=L.float64)),
    "view_as_complex_strided": lambda L: L.view_as_complex(L.ones(4, 2)[::2]),
    "view_as_complex_columns": lambda L: L.view_as_complex(L.ones(3, 4)[:, :2]),
    "view_as_complex_size": lambda L: L.view_as_complex(L.ones(3)),
    "view_as_complex_stride": lambda L: L.view_as_complex(L.ones(3, 2).t().contiguous().t()),
    "view_as_complex_int": lambda L: L.view_as_complex(L.ones(3, 2, dtype=L.int64)),
    "view_as_complex_odd_stride": lambda L: L.view_as_complex(L.ones(3, 3)[:, 1:]),
    "view_as_complex_0d": lambda L: L.view_as_complex(L.tensor(1.0)),
    "complex": lambda L: L.complex(L.ones(2), L.tensor([[0.5], [2.0], [-1.0]])),
    "complex_double": lambda L: L.complex(L.ones(1, dtype=L.float64), L.ones(1, dtype=L.float64)),
    "complex_mixed": lambda L: L.complex(L.ones(2), L.ones(2, dtype=L.float64)),
    "complex_int": lambda L: L.complex(L.ones(2, dtype=L.int64), L.ones(2, dtype=L.int64)),
    "complex_number": lambda L: L.complex(1.0, L.ones(2)),
    "polar": lambda L: L.polar(L.tensor([2.0, 0.0]), L.tensor([0.5, -1.0])),
    "polar_int": lambda L: L.polar(L.ones(2), L.ones(2, dtype=L.int64)),
    "conj": lambda L: L.tensor([1 + 2j]).conj().resolve_conj(),
    "conj_bits": lambda L: (
        L.tensor([1 + 2j]).conj().is_conj(),
        L.tensor([1 + 2j]).conj_physical().is_conj(),
        L.tensor([1 + 2j]).conj().resolve_conj().is_conj(),
        L.is_conj(L.ones(1).conj()),
    ),
    "conj_of_real_is_self": lambda L: [
        (t.conj() is t, L.conj_physical(t) is t) for t in [L.ones(2)]
    ],
    "conj_numpy_refused": lambda L: L.tensor([1 + 2j]).conj().numpy(),
    "angle": lambda L: L.tensor([1 + 1j, -1, 0, -2j]).angle(),
    "angle_real": lambda L: L.angle(L.tensor([-1.0, float("nan"), 0.0, 2.0])),
    "angle_int": lambda L: L.angle(L.tensor([-1, 2])),
    "abs": lambda L: L.tensor([3 + 4j, -1j]).abs(),
    "writes": _writes,
    "write_grad_real": _write_grad_real,
    "write_grad_pairs": _write_grad_pairs,
    "base_changed": _base_changed,
}


def _set_real(L):
    x = L.ones(2)
    x.real = L.tensor([3.0, 4.0])
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    assert outcome(CASES[name], gg) == outcome(CASES[name], torch)


def test_views_share_memory():
    z = gg.tensor([1 + 2j, 3 - 1j])
    for view in (z.real, z.imag, gg.view_as_real(z)):
        assert np.shares_memory(view.numpy(), z.numpy())
        assert view._version == z._version
    x = gg.zeros(3, 2)
    assert np.shares_memory(gg.view_as_complex(x).numpy(), x.numpy())


def test_write_with_grad_through_a_view_of_a_part_is_refused_not_wrong():
    z = gg.tensor([1 + 2j, 3 - 1j], requires_grad=True) * 1
    a = gg.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="through a view of a view"):
        z.real[0].mul_(a)
