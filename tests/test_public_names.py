"""Every public name of glassgrad is called at least once, and agrees with PyTorch's.

The names of ``glassgrad``, ``glassgrad.nn.functional``, ``glassgrad.linalg``,
``glassgrad.special`` and the methods and properties of ``Tensor`` are walked. A name the op
table describes is called with its first table sample (as a function, a method, or in place on
a copy); every other name needs an entry in ``public_name_calls``, so a new public name without
one fails ``test_every_public_name_has_a_call``. Where PyTorch has the name, the same call runs
there and the results are compared (values, dtypes, shapes, or exception types).
"""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
import torch
from tests import public_name_calls as calls
from tests.ops.test_op_table import _convert_kwargs, to_lib

import glassgrad
from glassgrad.ops.registry import OPS

NAMESPACES = {
    "": lambda lib: lib,
    "F.": lambda lib: lib.nn.functional,
    "linalg.": lambda lib: lib.linalg,
    "special.": lambda lib: lib.special,
    "Tensor.": lambda lib: lib.Tensor,
}
HAND: dict = {
    **calls.TOP,
    **{"F." + k: v for k, v in calls.FUNCTIONAL.items()},
    **{"linalg." + k: v for k, v in calls.LINALG.items()},
    **{"special." + k: v for k, v in calls.SPECIAL.items()},
    **{"Tensor." + k: v for k, v in calls.TENSOR.items()},
}
# names of the Tensor class that are not part of its public surface
SKIPPED = {"Tensor.mro"}
# Known departures, called but not compared (each one a defect to fix, not a design):
DEPARTURES = {
    # PyTorch's top-level forms are aten overloads with their own positional arguments
    # (torch.batch_norm(input, weight, bias, running_mean, ...), torch.dropout(input, p, train));
    # glassgrad's take nn.functional's, so the same positional call means something else
    "batch_norm": "aten signature",
    "dropout": "aten signature",
    # glassgrad accepts the dims spread out; torch.permute/torch.reshape want one sequence
    "permute": "varargs accepted",
    "reshape": "varargs accepted",
    # a NumPy array stands in for PyTorch's UntypedStorage (no nbytes() method, ...)
    "Tensor.untyped_storage": "no UntypedStorage class",
}


def _public(prefix):
    space = NAMESPACES[prefix](glassgrad)
    names = []
    for name in getattr(space, "__all__", None) or dir(space):
        if name.startswith("_") or name == "annotations":
            continue
        if isinstance(getattr(space, name, None), types.ModuleType):
            continue
        names.append(prefix + name)
    return names


ALL_NAMES = sorted(name for prefix in NAMESPACES for name in _public(prefix))


def _samples(info):
    args, kwargs = info.samples(np.random.default_rng(0))[0]
    return args, kwargs


def _table_call(key):
    """A call built from the op table for ``key``, or None if the table does not cover it."""
    prefix, _, name = key.rpartition(".")
    prefix = prefix + "." if prefix else ""
    if prefix == "":
        info = next((i for i in OPS.values() if name in i.functions), None)
        if info is not None:
            return _via(info, lambda lib, args, kwargs: getattr(lib, name)(*args, **kwargs))
    if prefix == "special.":
        info = OPS.get("special_" + name) or OPS.get(name)
        if info is not None:
            return _via(info, lambda lib, args, kwargs: getattr(lib.special, name)(*args, **kwargs))
    if prefix == "Tensor.":
        info = next((i for i in OPS.values() if name in i.methods), None)
        if info is not None:
            return _via(info, lambda lib, args, kwargs: getattr(args[0], name)(*args[1:], **kwargs))
        base = name[:-1]
        info = next((i for i in OPS.values() if base in i.methods), None)
        if name.endswith("_") and info is not None:
            return _via(
                info,
                lambda lib, args, kwargs: getattr(args[0].clone(), name)(*args[1:], **kwargs),
            )
    return None


def _via(info, call):
    def run(lib):
        args, kwargs = _samples(info)
        return call(lib, [to_lib(a, lib) for a in args], _convert_kwargs(kwargs, lib))

    return run


def _call_for(key):
    if key in HAND:
        return HAND[key]
    return _table_call(key)


def test_every_public_name_has_a_call():
    missing = [
        key for key in ALL_NAMES if key not in SKIPPED | HAND.keys() and _call_for(key) is None
    ]
    assert missing == [], f"public names without a call in tests/public_name_calls.py: {missing}"


def _constant(lib, key):
    prefix, _, name = key.rpartition(".")
    return getattr(NAMESPACES[prefix + "." if prefix else ""](lib), name)


def _outcome(lib, key):
    call = _call_for(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if call is None:
                return ("constant", repr(_constant(lib, key)))
            return ("value", _plain(call(lib)))
        except Exception as exc:  # noqa: BLE001 - the exception type is what is compared
            return ("error", type(exc).__name__, str(exc)[:200])


def _plain(value):
    """``value`` in a form both libraries' results can be compared in."""
    if isinstance(value, (torch.Tensor, glassgrad.Tensor)):
        array = value.detach().numpy()
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape), array)
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (torch.dtype, glassgrad.dtype)):
        return ("dtype", str(value))
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    return ("object", type(value).__name__)


def _same(ours, theirs):
    if isinstance(ours, tuple) and isinstance(theirs, tuple):
        if ours[:1] == ("tensor",) and theirs[:1] == ("tensor",):
            return ours[1:3] == theirs[1:3] and np.allclose(
                ours[3].astype(np.float64) if ours[3].dtype.kind != "c" else ours[3],
                theirs[3].astype(np.float64) if theirs[3].dtype.kind != "c" else theirs[3],
                rtol=1e-4,
                atol=1e-5,
                equal_nan=True,
            )
        return len(ours) == len(theirs) and all(
            _same(a, b) for a, b in zip(ours, theirs, strict=True)
        )
    if isinstance(ours, float) and isinstance(theirs, float):
        return ours == theirs or (ours != ours and theirs != theirs) or abs(ours - theirs) < 1e-6
    return ours == theirs


def _torch_has(key):
    prefix, _, name = key.rpartition(".")
    return hasattr(NAMESPACES[prefix + "." if prefix else ""](torch), name)


@pytest.mark.parametrize("key", [k for k in ALL_NAMES if k not in SKIPPED])
def test_public_name_runs_and_matches_torch(key):
    ours = _outcome(glassgrad, key)
    assert ours[0] != "error" or ours[1] not in (
        "ImportError",
        "NotImplementedError",
        "AttributeError",
        "NameError",
    ), ours
    if not _torch_has(key) or key in DEPARTURES:
        assert ours[0] != "error", ours
        return
    theirs = _outcome(torch, key)
    if ours[0] == "error" or theirs[0] == "error":
        assert ours[:2] == theirs[:2], (ours, theirs)
        return
    if ours[0] == "constant":
        return  # a constant PyTorch also has: its repr is checked elsewhere
    assert _same(ours[1], theirs[1]), (ours, theirs)
