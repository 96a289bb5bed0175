"""``nn.Buffer`` against PyTorch 2.13: what it returns, and how assigning one to a Module
registers a buffer (persistent or not) in its state_dict."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import glassgrad

LIBS = [glassgrad, torch]


def _each(fn):
    """``fn(lib)`` for glassgrad and torch, the two results side by side."""
    return [fn(lib) for lib in LIBS]


def _same(fn):
    ours, theirs = _each(fn)
    assert ours == theirs
    return ours


def test_buffer_is_a_plain_tensor_marked_as_buffer():
    def probe(lib):
        buffer = lib.nn.Buffer(lib.ones(2), persistent=False)
        return (
            type(buffer) is lib.Tensor,
            isinstance(buffer, lib.nn.Buffer),
            isinstance(lib.ones(2), lib.nn.Buffer),
            issubclass(lib.nn.Buffer, lib.Tensor),
            repr(buffer),
            repr(lib.nn.Buffer()),
        )

    assert _same(probe)[:4] == (True, True, False, True)


def test_buffer_aliases_its_data_and_keeps_requires_grad():
    def probe(lib):
        data = lib.ones(3, requires_grad=True)
        buffer = lib.nn.Buffer(data)
        with lib.no_grad():
            data[0] = 5.0
        return (buffer is data, buffer.requires_grad, buffer.is_leaf, buffer.tolist())

    assert _same(probe) == (False, True, True, [5.0, 1.0, 1.0])


def test_assignment_registers_buffers_with_their_persistence():
    def probe(lib):
        module = lib.nn.Module()
        module.x = lib.nn.Buffer(lib.ones(2))
        module.y = lib.nn.Buffer(lib.zeros(2), persistent=False)
        module.plain = lib.ones(1)  # a plain tensor is an ordinary attribute
        seen = [
            list(module.state_dict()),
            [name for name, _ in module.named_buffers()],
            sorted(module._non_persistent_buffers_set),
            type(module.x) is lib.Tensor,
        ]
        module.y = lib.ones(2)  # a plain tensor keeps the buffer's persistence
        seen.append(sorted(module._non_persistent_buffers_set))
        module.y = lib.nn.Buffer(lib.ones(2))  # a Buffer brings its own
        seen.append(list(module.state_dict()))
        module.y = None
        seen.append([(name, value is None) for name, value in module._buffers.items()])
        return seen

    assert _same(probe)[0] == ["x"]


def test_buffer_replaces_module_and_parameter_rules():
    def probe(lib):
        module = lib.nn.Module()
        module.q = lib.nn.Buffer(lib.ones(2))
        module.q = lib.nn.Parameter(lib.ones(2))  # a Parameter takes the name over
        module.r = lib.nn.Parameter(lib.ones(1))
        module.r = None
        return list(module._buffers), list(module._parameters), str(module)

    _same(probe)


@pytest.mark.parametrize("case", ["parameter_name", "attribute_name", "before_init", "list"])
def test_errors_match_torch(case):
    def attempt(lib):
        module = lib.nn.Module()
        if case == "parameter_name":
            module.p = lib.nn.Parameter(lib.ones(2))
            module.p = lib.nn.Buffer(lib.ones(2))
        elif case == "attribute_name":
            module.z = 5
            module.z = lib.nn.Buffer(lib.ones(1))
        elif case == "before_init":

            class Early(lib.nn.Module):
                def __init__(self):
                    self.b = lib.nn.Buffer(lib.ones(1))

            Early()
        else:
            lib.nn.Buffer([1, 2])

    raised = []
    for lib in LIBS:
        with pytest.raises(Exception) as info:
            attempt(lib)
        raised.append((type(info.value), str(info.value)))
    assert raised[0] == raised[1]


def test_state_dict_round_trip_with_torch():
    def build(lib):
        module = lib.nn.Module()
        module.kept = lib.nn.Buffer(lib.arange(3.0))
        module.dropped = lib.nn.Buffer(lib.ones(1), persistent=False)
        return module

    ours, theirs = _each(build)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["kept"]
    ours.load_state_dict({"kept": glassgrad.tensor([7.0, 8.0, 9.0])})
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(theirs.kept.numpy(), [7.0, 8.0, 9.0])
    copy = pickle.loads(pickle.dumps(ours))
    assert list(copy.state_dict()) == ["kept"]
    assert copy._non_persistent_buffers_set == {"dropped"}
