"""Containers against PyTorch 2.13: Sequential, ModuleList, ModuleDict, ParameterList,
ParameterDict (indexing, slicing, mutation, printouts, parameter names)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

import glassgrad


def both(fn):
    return fn(torch), fn(glassgrad)


def test_sequential_indexing_slicing_and_mutation():
    def build(lib):
        nn = lib.nn
        seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        out = [repr(seq[-1]), type(seq[1:]).__name__, repr(seq[::2]), len(seq)]
        seq.append(nn.Tanh())
        seq.insert(1, nn.Identity())
        del seq[0]
        seq[0] = nn.Sigmoid()
        out += [repr(seq), [n for n, _ in seq.named_parameters()]]
        popped = seq.pop(-1)
        out += [repr(popped), repr(seq + nn.Sequential(nn.ReLU()))]
        named = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.ReLU())]))
        out += [repr(named), list(named.state_dict()), repr(named.fc)]
        return out

    t, g = both(build)
    assert g == t


def test_sequential_forward_chains_modules():
    def run(lib):
        seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
        return seq(lib.tensor([-1.0, 0.5, 2.0])).numpy()

    t, g = both(run)
    np.testing.assert_allclose(g, t, rtol=1e-6)


def test_module_list_and_dict():
    def build(lib):
        nn = lib.nn
        layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
        layers.append(nn.ReLU())
        layers.extend([nn.Tanh(), nn.Tanh()])
        layers.insert(0, nn.Identity())
        out = [
            repr(layers),
            len(layers),
            repr(layers[1:3]),
            [n for n, _ in layers.named_children()],
        ]
        del layers[1]
        out.append(repr(layers))
        mapping = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(1, 2)})
        mapping["c"] = nn.Tanh()
        out += [repr(mapping), list(mapping.keys()), "a" in mapping, len(mapping)]
        out.append(repr(mapping.pop("b")))
        out.append(list(mapping.state_dict()))
        return out

    t, g = both(build)
    assert g == t


def test_parameter_list_and_dict():
    def build(lib):
        nn = lib.nn
        params = nn.ParameterList([nn.Parameter(lib.ones(2, 3)), lib.zeros(4)])
        params.append(lib.ones(1, dtype=lib.float64))
        out = [
            repr(params),
            len(params),
            type(params[1]).__name__,
            [n for n, _ in params.named_parameters()],
            repr(params[1:]),
        ]
        table = nn.ParameterDict({"w": lib.ones(2), "b": nn.Parameter(lib.zeros(3))})
        table["z"] = lib.ones(1, 1)
        out += [repr(table), list(table.keys()), type(table["w"]).__name__, "b" in table]
        out += [[n for n, _ in table.named_parameters()], list(table.state_dict())]
        return out

    t, g = both(build)
    assert g == t
