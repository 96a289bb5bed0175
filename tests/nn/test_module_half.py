"""``Module.half()`` casts parameters and buffers to float16, as in PyTorch."""

from __future__ import annotations

import torch

import glassgrad


def _halved(lib):
    """dtypes of a module's parameter and buffer after ``half()``."""
    block = lib.nn.BatchNorm1d(3)
    assert block.half() is block
    return str(block.weight.dtype), str(block.running_mean.dtype), str(block.weight.grad)


def test_module_half_casts_parameters_and_buffers_to_float16():
    # Module.half() was missing (float() and double() existed).
    assert _halved(glassgrad) == _halved(torch)
