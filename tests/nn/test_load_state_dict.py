"""Module.load_state_dict is all or nothing: every key, shape and dtype cast is checked before
anything is copied, so a bad checkpoint raises PyTorch's error text and leaves the module exactly
as it was. PyTorch 2.13 copies the matching entries before it raises; these tests show both."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
from glassgrad.nn.modules import _state

LIBS = {"torch": torch, "glassgrad": glassgrad}


def build(lib):
    """Linear -> BatchNorm1d -> ReLU -> Linear: parameters, float and integer buffers."""
    nn = lib.nn
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def pair():
    """The same model in both libraries, glassgrad holding torch's initial values."""
    theirs, ours = build(torch), build(glassgrad)
    ours.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return theirs, ours


def snapshot(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert list(after) == list(before)
    for key, value in before.items():
        assert after[key].dtype == value.dtype, key
        np.testing.assert_array_equal(after[key], value, err_msg=key)


def new_values(lib, model):
    """A full, valid state dict with every float entry changed."""
    state = model.state_dict()
    return {k: v + 1 if v.is_floating_point() else v + 5 for k, v in state.items()}


def shape_mismatch(lib, state):
    state["3.weight"] = lib.zeros(7, 4)


def missing(lib, state):
    del state["1.running_var"]


def unexpected(lib, state):
    state["9.weight"] = lib.zeros(1)


def not_a_tensor(lib, state):
    state["3.bias"] = [0.0, 0.0]


def everything(lib, state):
    for edit in (shape_mismatch, missing, unexpected, not_a_tensor):
        edit(lib, state)


EDITS = {f.__name__: f for f in (shape_mismatch, missing, unexpected, not_a_tensor, everything)}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_bad_state_dict_raises_torchs_text_and_changes_nothing(edit):
    theirs, ours = pair()
    messages = []
    for lib, model in ((torch, theirs), (glassgrad, ours)):
        state = new_values(lib, model)
        EDITS[edit](lib, state)
        before = snapshot(model)
        with pytest.raises(RuntimeError) as info:
            model.load_state_dict(state)
        messages.append(str(info.value))
        if lib is glassgrad:
            assert_unchanged(model, before)
        elif edit in ("shape_mismatch", "not_a_tensor"):
            # PyTorch has already copied the good entries: the difference this fix is about.
            assert not np.array_equal(model.state_dict()["0.weight"].numpy(), before["0.weight"])
    assert messages[1] == messages[0]
    assert messages[0].startswith("Error(s) in loading state_dict for Sequential:\n\t")


def test_the_last_entry_failing_still_leaves_the_first_untouched():
    _, ours = pair()
    before = snapshot(ours)
    state = new_values(glassgrad, ours)
    state["3.bias"] = glassgrad.zeros(3)
    with pytest.raises(RuntimeError, match=r"size mismatch for 3\.bias"):
        ours.load_state_dict(state)
    assert_unchanged(ours, before)
    assert ours[1].num_batches_tracked.item() == 0


def test_a_failing_cast_is_reported_before_anything_is_copied(monkeypatch):
    _, ours = pair()
    before = snapshot(ours)
    real_cast = _state._cast

    def cast(data, dtype):
        if data.dtype.kind in "iu":
            raise TypeError("cannot cast")
        return real_cast(data, dtype)

    monkeypatch.setattr(_state, "_cast", cast)
    with pytest.raises(RuntimeError) as info:
        ours.load_state_dict(new_values(glassgrad, ours))
    assert str(info.value) == (
        "Error(s) in loading state_dict for Sequential:\n\t"
        'While copying the parameter named "1.num_batches_tracked", whose dimensions in the '
        "model are torch.Size([]) and whose dimensions in the checkpoint are torch.Size([]), "
        "an exception occurred : ('cannot cast',)."
    )
    assert_unchanged(ours, before)


def test_a_good_state_dict_loads_everything_as_torch_does():
    theirs, ours = pair()
    results = []
    for lib, model in ((torch, theirs), (glassgrad, ours)):
        state = new_values(lib, model)
        state["1.num_batches_tracked"] = lib.tensor([7])  # one element into a 0-d buffer
        state["3.bias"] = state["3.bias"].double()  # cast back to the model's float32
        results.append((repr(model.load_state_dict(state)), snapshot(model)))
    assert results[1][0] == results[0][0] == "<All keys matched successfully>"
    for key, value in results[0][1].items():
        assert results[1][1][key].dtype == value.dtype, key
        np.testing.assert_array_equal(results[1][1][key], value, err_msg=key)


def test_strict_false_loads_what_matches_and_reports_the_rest():
    theirs, ours = pair()
    reports, states = [], []
    for lib, model in ((torch, theirs), (glassgrad, ours)):
        state = new_values(lib, model)
        missing(lib, state)
        unexpected(lib, state)
        reports.append(repr(model.load_state_dict(state, strict=False)))
        states.append(snapshot(model))
    assert reports[1] == reports[0]
    assert "1.running_var" in reports[0] and "9.weight" in reports[0]
    for key, value in states[0].items():
        np.testing.assert_array_equal(states[1][key], value, err_msg=key)


def test_strict_false_with_a_shape_mismatch_still_changes_nothing():
    _, ours = pair()
    before = snapshot(ours)
    state = new_values(glassgrad, ours)
    shape_mismatch(glassgrad, state)
    with pytest.raises(RuntimeError, match="size mismatch for 3.weight"):
        ours.load_state_dict(state, strict=False)
    assert_unchanged(ours, before)


def test_the_checkpoint_is_copied_not_shared():
    _, ours = pair()
    state = new_values(glassgrad, ours)
    ours.load_state_dict(state)
    state["0.weight"].add_(100)
    assert not np.array_equal(ours[0].weight.detach().numpy(), state["0.weight"].numpy())
    assert ours[0].weight.requires_grad and ours[0].weight.is_leaf


def test_assign_takes_the_checkpoint_tensors_as_torch_does():
    facts = []
    for lib in (torch, glassgrad):
        model = lib.nn.Linear(2, 2)
        model.bias.requires_grad_(False)
        weight = lib.ones(2, 2, dtype=lib.float64)
        state = {"weight": weight, "bias": lib.zeros(2)}
        model.load_state_dict(state, assign=True)
        facts.append(
            (
                type(model.weight).__name__,
                str(model.weight.dtype),
                model.weight.data_ptr() == weight.data_ptr(),
                model.weight.requires_grad,
                model.bias.requires_grad,
            )
        )
    assert facts[1] == facts[0] == ("Parameter", "torch.float64", True, True, False)


def test_direct_load_from_state_dict_still_copies():
    # Subclasses call the hook themselves (outside load_state_dict): nothing is deferred then.
    layer = glassgrad.nn.Linear(2, 2)
    errors = []
    state = {"weight": glassgrad.ones(2, 2), "bias": glassgrad.zeros(2)}
    layer._load_from_state_dict(state, "", {}, True, [], [], errors)
    assert errors == []
    assert layer.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_an_old_batchnorm_checkpoint_without_num_batches_tracked_loads():
    theirs, ours = pair()
    for model in (theirs, ours):
        state = model.state_dict()
        del state["1.num_batches_tracked"]
        state._metadata["1"]["version"] = 1
        assert repr(model.load_state_dict(state)) == "<All keys matched successfully>"


# -- through files: glassgrad.load then load_state_dict ---------------------------------------
def test_a_truncated_or_corrupt_file_changes_nothing(tmp_path):
    _, ours = pair()
    path = tmp_path / "model.pt"
    glassgrad.save(new_values(glassgrad, ours), path)
    data = path.read_bytes()
    before = snapshot(ours)
    bad = {
        "truncated": data[: len(data) // 2],
        "data_cut": data[:-4],
        "flipped": data[:-1] + bytes([data[-1] ^ 0x01]),
        "flipped_data": data[:2000] + bytes([data[2000] ^ 0x01]) + data[2001:],
        "empty": b"",  # (PyTorch raises EOFError here)
    }
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises((RuntimeError, EOFError)):
            ours.load_state_dict(glassgrad.load(tmp_path / name))
        assert_unchanged(ours, before)
    ours.load_state_dict(glassgrad.load(path))  # the intact file does load
    assert not np.array_equal(snapshot(ours)["0.weight"], before["0.weight"])


def test_a_file_from_another_model_changes_nothing(tmp_path):
    theirs, ours = pair()
    other = glassgrad.nn.Sequential(
        glassgrad.nn.Linear(3, 4),
        glassgrad.nn.BatchNorm1d(4),
        glassgrad.nn.ReLU(),
        glassgrad.nn.Linear(4, 5),
    )
    glassgrad.save(other.state_dict(), tmp_path / "other.pt")
    torch_other = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 5)
    )
    before = snapshot(ours)
    with pytest.raises(RuntimeError) as ours_error:
        ours.load_state_dict(glassgrad.load(tmp_path / "other.pt"))
    with pytest.raises(RuntimeError) as torch_error:
        theirs.load_state_dict(torch_other.state_dict())
    assert str(ours_error.value) == str(torch_error.value)
    assert_unchanged(ours, before)
