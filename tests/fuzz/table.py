"""Op variants derived from glassgrad's op table: every registered op is fuzzed without a list.

Each ``OpInfo`` already says how to call its op (``samples``) for the table tests. Here each of
its public spellings in PyTorch (``torch.name``, ``Tensor.name``, ``F.name``,
``torch.special.name``) becomes a variant; a sample's float arrays become tensors of the program
(or fresh leaves), its other arrays constants. A spelling is kept when PyTorch accepts the op's
first sample that way, so an op glassgrad adds later is drawn here at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from glassgrad.ops._sampling import maker
from glassgrad.ops.registry import OPS

# Ops whose results are random (compared values would differ) or whose arguments the table
# cannot describe through ``samples``.
SKIP = {"dropout"}


@dataclass(frozen=True)
class Variant:
    """One way to call one op: ``call`` is ``"torch.exp"``, ``"F.relu"`` or ``".exp"``."""

    op: str
    call: str
    any_shape: bool

    @property
    def tag(self) -> str:
        return f"{self.op}:{self.call}"


def _default_samples(info):
    """The table's default samples: ``nin`` float arrays of each of ``shapes`` in ``domain``."""

    def samples(rng, shape=None):
        make = maker(rng, info.domain)
        shapes = [shape] if shape is not None else list(info.shapes)
        return [(tuple(make(s) for _ in range(info.nin)), dict(info.kwargs)) for s in shapes]

    return samples


def samples_of(info):
    return info.samples if info.samples is not None else _default_samples(info)


def _spellings(info):
    calls = []
    for name in info.functions:
        if hasattr(torch, name):
            calls.append(f"torch.{name}")
    for name in info.methods:
        if hasattr(torch.Tensor, name):
            calls.append(f".{name}")
    if hasattr(torch.nn.functional, info.name):
        calls.append(f"F.{info.name}")
    if info.name.startswith("special_") and hasattr(torch.special, info.name[8:]):
        calls.append(f"torch.special.{info.name[8:]}")
    return list(dict.fromkeys(calls))


def torch_value(value):
    """A sample argument as PyTorch takes it: arrays (also in lists and tuples) as tensors."""
    if isinstance(value, np.ndarray):
        return torch.tensor(value)
    if isinstance(value, (list, tuple)):
        return type(value)(torch_value(item) for item in value)
    if isinstance(value, dict):
        return {key: torch_value(item) for key, item in value.items()}
    return value


def call_torch(call, args, kwargs):
    if call.startswith("."):
        return getattr(args[0], call[1:])(*args[1:], **kwargs)
    target = torch.nn.functional if call.startswith("F.") else torch
    for part in call.split(".")[1:]:
        target = getattr(target, part)
    return target(*args, **kwargs)


def _accepted(call, sample):
    args, kwargs = sample
    if call.startswith(".") and not isinstance(args[0], np.ndarray):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_torch(call, torch_value(args), torch_value(kwargs))
    except Exception:  # noqa: BLE001 - a spelling PyTorch refuses is not a variant
        return False
    return True


def build_variants():
    variants = []
    for info in OPS.values():
        if info.name in SKIP or info.name.startswith("_"):
            continue
        samples = samples_of(info)
        first = samples(np.random.default_rng(0))[0]
        for call in _spellings(info):
            if _accepted(call, first):
                variants.append(Variant(info.name, call, info.any_shape))
    return variants


VARIANTS = build_variants()
