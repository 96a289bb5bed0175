"""``torch.Size`` concatenation and repetition give a Size, and PyTorch's TypeErrors otherwise."""

from __future__ import annotations

import pytest
import torch

import glassgrad


def _size_results(lib):
    """What concatenating and repeating a shape gives, as reprs."""
    s = lib.Size([2, 3])
    return [repr(s + (1,)), repr((1,) + s), repr(s * 2), repr(2 * s), repr(s + s), repr(s[1:])]


def test_size_concatenation_and_repetition_give_a_size():
    # Size + tuple used to fall back to tuple.__add__ and print as a plain tuple.
    assert _size_results(glassgrad) == _size_results(torch)


@pytest.mark.parametrize("operand", [[1], "a"])
def test_size_concatenation_with_a_non_tuple_raises_torch_text(operand):
    with pytest.raises(TypeError) as expected:
        torch.Size([2]) + operand
    with pytest.raises(TypeError) as got:
        glassgrad.Size([2]) + operand
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("count", [1.5, "a"])
def test_size_repetition_by_a_non_int_raises_torch_text(count):
    with pytest.raises(TypeError) as expected:
        torch.Size([2]) * count
    with pytest.raises(TypeError) as got:
        glassgrad.Size([2]) * count
    assert str(got.value) == str(expected.value)
