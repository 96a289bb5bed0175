"""The op table in forward mode: every op's JVP (inside ``forward_ad.dual_level``) against central
differences in float64 and against PyTorch 2.13's forward AD (same tangents, same errors).

Ops are discovered from ``glassgrad.ops.OPS`` like the reverse-mode table (test_op_table).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as torch_fw
from tests.ops.test_op_table import _array, outputs, run, run_torch, samples_of

import glassgrad
from glassgrad.autograd import forward_ad as fw
from glassgrad.ops import OPS

NAMES = sorted(OPS)

# Ops whose forward mode differs from PyTorch's, with the reason (strict xfail: delete the entry
# once the op passes).
KNOWN: dict[str, str] = {}


def _marked(names):
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=True)) if n in KNOWN else n
        for n in names
    ]


def _float(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _cases(info, seed):
    """Float64 samples with one random tangent per float array (None for other arrays)."""
    rng = np.random.default_rng(seed)
    for args, kwargs in samples_of(info, rng):
        args = [a.astype(np.float64) if _float(a) else a for a in args]
        tangents = [rng.standard_normal(a.shape) if _float(a) else None for a in _arrays(args)]
        yield args, kwargs, tangents


def _is_list(value):
    return isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray)


def _arrays(args):
    """The arrays of ``args``, also those inside lists, in order."""
    found = []
    for value in args:
        found += list(value) if _is_list(value) else [value]
    return [a for a in found if isinstance(a, np.ndarray)]


def _map_arrays(args, convert):
    """``args`` with each array (also inside lists) replaced by ``convert(array)``."""
    out = []
    for value in args:
        if _is_list(value):
            out.append(type(value)(convert(v) for v in value))
        elif isinstance(value, np.ndarray):
            out.append(convert(value))
        else:
            out.append(value)
    return out


def _build(args, tangents, lib, make_dual, graph=False):
    """``args`` as ``lib`` tensors, the float ones made dual with their tangents (tangents that
    require grad with ``graph``: then no op's tangent is a view of its input's made without
    its rule, so view and index ops run their own JVP rules)."""
    tangents = iter(tangents)

    def convert(value):
        tangent = next(tangents)
        tensor = lib.tensor(value)
        if tangent is None:
            return tensor
        return make_dual(tensor, lib.tensor(tangent).requires_grad_(graph))

    return _map_arrays(args, convert)


def _ours(info, args, kwargs, tangents, style=None, graph=False):
    with fw.dual_level():
        built = _build(args, tangents, glassgrad, fw.make_dual, graph)
        outs = outputs(run(info, glassgrad, built, kwargs, style))
        return [(_array(o), _tangent(fw.unpack_dual(o).tangent)) for o in outs]


def _tangent(t):
    return None if t is None else _array(t.detach())


def _theirs(info, args, kwargs, tangents):
    with torch_fw.dual_level():
        built = _build(args, tangents, torch, torch_fw.make_dual)
        special = _torch_special(info.name)
        if special is not None:  # glassgrad's special_x is PyTorch's torch.special.x
            out, style = special(*built, **_torch_kwargs(kwargs)), None
        else:
            out, style = run_torch(info, built, kwargs)
        return [(_array(o), _tangent(torch_fw.unpack_dual(o).tangent)) for o in outputs(out)], style


def _torch_special(name):
    if not name.startswith("special_") or hasattr(torch, name):
        return None
    return getattr(torch.special, name[len("special_") :], None)


def _torch_kwargs(kwargs):
    return {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


def _value(info, args, kwargs):
    with glassgrad.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = outputs(run(info, glassgrad, [_lib(a) for a in args], kwargs))
    return [_array(o).astype(np.float64) for o in outs]


def _lib(value):
    if isinstance(value, np.ndarray):
        return glassgrad.tensor(value)
    if _is_list(value):
        return type(value)(glassgrad.tensor(v) for v in value)
    return value


def _shifted(args, tangents, step):
    moved = iter(tangents)

    def shift(array):
        tangent = next(moved)
        return array if tangent is None else np.asarray(array + step * tangent)

    return _map_arrays(args, shift)


def _ours_or_skip(info, args, kwargs, tangents):
    """Our tangents; an op without a forward rule is skipped here (test_jvp_matches_torch checks
    that PyTorch has none either)."""
    try:
        return _ours(info, args, kwargs, tangents)
    except NotImplementedError as exc:
        if str(exc).startswith("Trying to use forward AD with"):
            pytest.skip(str(exc))
        raise


@pytest.mark.parametrize("name", _marked(NAMES))
def test_jvp_matches_central_differences(name):
    info = OPS[name]
    if not info.differentiable:
        pytest.skip(f"{name} is not differentiable")
    eps = 1e-6
    for args, kwargs, tangents in _cases(info, 11):
        if all(t is None for t in tangents):
            continue
        got = _ours_or_skip(info, args, kwargs, tangents)
        up = _value(info, _shifted(args, tangents, eps), kwargs)
        down = _value(info, _shifted(args, tangents, -eps), kwargs)
        for (primal, tangent), hi, lo in zip(got, up, down, strict=True):
            if primal.dtype.kind != "f":
                assert tangent is None, name
                continue
            numeric = (hi - lo) / (2 * eps)
            np.testing.assert_allclose(
                np.zeros_like(primal) if tangent is None else tangent,
                numeric,
                rtol=1e-4,
                atol=max(info.atol, 1e-6),
                err_msg=f"{name} {kwargs}",
            )


@pytest.mark.parametrize("graph", [False, True], ids=["plain", "graph"])
@pytest.mark.parametrize("name", _marked(NAMES))
def test_jvp_matches_torch(name, graph):
    """Same tangents (or both none), or the same error type, as PyTorch's forward AD; with
    tangents that require grad too (each op's own rule, never a view of the input's tangent)."""
    info = OPS[name]
    for args, kwargs, tangents in _cases(info, 12):
        try:
            theirs, style = _theirs(info, args, kwargs, tangents)
            their_error = None
        except pytest.skip.Exception:
            raise
        except Exception as exc:  # noqa: BLE001 - the oracle decides which errors are right
            theirs, style, their_error = None, None, exc
        try:
            ours = _ours(info, args, kwargs, tangents, style, graph)
            our_error = None
        except Exception as exc:  # noqa: BLE001
            ours, our_error = None, exc
        context = f"{name} {kwargs}"
        if their_error is not None or our_error is not None:
            assert type(our_error) is type(their_error), (
                f"{context}: {our_error!r} vs {their_error!r}"
            )
            if isinstance(their_error, NotImplementedError):
                assert str(our_error) == str(their_error), context
            continue
        assert len(ours) == len(theirs), context
        for (_, o), (_, t) in zip(ours, theirs, strict=True):
            if t is None:
                assert o is None or not np.any(o), context
                continue
            assert o is not None, f"{context}: no tangent"
            np.testing.assert_allclose(o, t, rtol=1e-7, atol=1e-9, err_msg=context)
