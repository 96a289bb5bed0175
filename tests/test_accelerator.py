"""``torch.accelerator`` as PyTorch's CPU build has it: nothing available, and every call that
needs a device raises PyTorch's error."""

import warnings

import pytest
import torch

import glassgrad

NAMES = set(glassgrad.accelerator.__all__)
SKIP = {"device_index", "set_stream"}  # (a class; one that takes a Stream: tested below)


def _outcome(fn, *args):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn(*args)
        return "ok", result, [(w.category, str(w.message)) for w in caught]
    except Exception as error:
        return type(error), str(error), []


@pytest.mark.parametrize("name", sorted(set(NAMES) - SKIP))
def test_every_function_behaves_as_pytorchs_cpu_build(name):
    args = (0,) if name.startswith("set_device") else ()
    mine = _outcome(getattr(glassgrad.accelerator, name), *args)
    theirs = _outcome(getattr(torch.accelerator, name), *args)
    assert mine == theirs


def test_availability_and_the_device_index_context():
    assert glassgrad.accelerator.is_available() is False
    assert glassgrad.accelerator.current_accelerator(check_available=True) is None
    assert glassgrad.accelerator.device_count() == 0
    for lib in (glassgrad, torch):
        with lib.accelerator.device_index(None):
            pass
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none"):
            with lib.accelerator.device_index(0):
                pass
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none"):
        glassgrad.accelerator.set_stream(object())
