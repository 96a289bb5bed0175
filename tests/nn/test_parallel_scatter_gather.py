"""nn.parallel.scatter/gather as PyTorch's CPU build has them: non-tensors duplicated per
device through containers, and tensors refused with the CPU build's errors."""

from __future__ import annotations

import collections

import pytest
import torch

import glassgrad

Pair = collections.namedtuple("Pair", "a b")


def _outcome(call):
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return (type(exc).__name__, str(exc))
    return ("ok", repr(value))


CASES = {
    "tensor_cpu": lambda L: L.nn.parallel.scatter(L.ones(4, 2), [L.device("cpu")]),
    "tensor_cpu_string": lambda L: L.nn.parallel.scatter(L.ones(4, 2), ["cpu"]),
    "tensor_gpu_index": lambda L: L.nn.parallel.scatter(L.ones(4, 2), [0, 1]),
    "tensor_in_dict": lambda L: L.nn.parallel.scatter({"x": L.ones(2)}, [L.device("cpu")]),
    "no_devices": lambda L: L.nn.parallel.scatter(L.ones(2), []),
    "none_devices": lambda L: L.nn.parallel.scatter(L.ones(2), None),
    "number": lambda L: L.nn.parallel.scatter(5, [L.device("cpu"), 1]),
    "empty_tuple": lambda L: L.nn.parallel.scatter((), [0]),
    "dict": lambda L: L.nn.parallel.scatter({"a": 1, "b": "x"}, [0, 1]),
    "list": lambda L: L.nn.parallel.scatter([1, (2, 3)], [0, 1]),
    "namedtuple": lambda L: L.nn.parallel.scatter(Pair(1, 2), [0, 1]),
    "gather_tensor": lambda L: L.nn.parallel.gather([L.ones(2), L.ones(2)], L.device("cpu")),
    "gather_none": lambda L: L.nn.parallel.gather([None, None], 0),
    "gather_dict_tensor": lambda L: L.nn.parallel.gather([{"a": L.ones(1)}, {"a": L.ones(1)}], 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_scatter_gather_as_the_cpu_build(case):
    assert _outcome(lambda: CASES[case](glassgrad)) == _outcome(lambda: CASES[case](torch))
