"""``torch.multiprocessing``: the module's surface against PyTorch's, shared memory seen across
processes, and ``spawn``'s errors as PyTorch raises them."""

import multiprocessing
import pickle
import re
from multiprocessing.reduction import ForkingPickler

import mp_children
import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp

import glassgrad
import glassgrad.multiprocessing as gmp


def test_the_stdlib_names_are_reexported_as_pytorch_does():
    for name in ["Queue", "SimpleQueue", "Process", "Pool", "Manager", "current_process"]:
        assert getattr(gmp, name) is getattr(multiprocessing, name)
    for name in ["get_context", "set_start_method", "get_start_method", "Pipe", "Value"]:
        assert getattr(gmp, name) is getattr(multiprocessing, name) is getattr(tmp, name)
    assert set(tmp.__all__) <= set(gmp.__all__)
    assert gmp.get_start_method() == tmp.get_start_method()


def test_sharing_strategies_as_pytorch():
    assert gmp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert gmp.get_sharing_strategy() == tmp.get_sharing_strategy()
    errors = []
    for lib in (gmp, tmp):
        with pytest.raises(AssertionError) as info:
            lib.set_sharing_strategy("shared_cache")
        errors.append(str(info.value))
    pattern = r"invalid sharing strategy 'shared_cache', expected one of \{.*\}"
    assert all(re.fullmatch(pattern, e) for e in errors)


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "float64"])
def test_share_memory_keeps_values_and_reports_shared(dtype):
    results = []
    for lib in (glassgrad, torch):
        t = lib.arange(6).reshape(2, 3).to(getattr(lib, dtype))
        before = t.is_shared()
        same = t.share_memory_() is t
        results.append((before, same, t.is_shared(), t.tolist(), str(t.dtype), t.shape))
        t.share_memory_()  # twice: a no-op
        results[-1] += (t.tolist(),)
    assert results[0][:3] == results[1][:3] == (False, True, True)
    assert results[0][3:] == results[1][3:]


def test_a_transposed_tensor_keeps_its_strides():
    strides = []
    for lib in (glassgrad, torch):
        t = lib.arange(6.0).reshape(2, 3).t()
        t.share_memory_()
        strides.append((t.stride(), t.tolist(), t.is_contiguous()))
    assert strides[0] == strides[1]


def test_module_share_memory_as_pytorch():
    for lib in (glassgrad, torch):
        model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        assert model.share_memory() is model
        assert all(p.is_shared() for p in model.parameters())
        assert all(b.is_shared() for b in model.buffers())
        assert isinstance(model[0].weight, lib.nn.Parameter)


@pytest.mark.parametrize("strategy", sorted(gmp.get_all_sharing_strategies()))
def test_a_pickled_shared_tensor_is_the_same_memory(strategy):
    previous = gmp.get_sharing_strategy()
    gmp.set_sharing_strategy(strategy)
    try:
        t = glassgrad.zeros(4).share_memory_()
        view = t[1:3]
        copy = ForkingPickler.loads(ForkingPickler.dumps(view))
        assert copy.is_shared() and copy.tolist() == [0.0, 0.0]
        copy.fill_(3.0)
        assert t.tolist() == [0.0, 3.0, 3.0, 0.0]
    finally:
        gmp.set_sharing_strategy(previous)


def test_plain_tensors_and_parameters_cross_as_copies():
    p = glassgrad.nn.Parameter(glassgrad.ones(2))
    back = ForkingPickler.loads(ForkingPickler.dumps(p))
    assert isinstance(back, glassgrad.nn.Parameter) and back.requires_grad
    back.data.fill_(2.0)
    assert p.tolist() == [1.0, 1.0] and not back.is_shared()
    shared = glassgrad.nn.Parameter(glassgrad.ones(2)).share_memory_()
    again = ForkingPickler.loads(ForkingPickler.dumps(shared))
    assert isinstance(again, glassgrad.nn.Parameter) and again.requires_grad and again.is_shared()
    assert pickle.loads(pickle.dumps(shared)).tolist() == [1.0, 1.0]  # plain pickle: a copy


def test_non_leaf_tensors_are_refused_as_pytorch_refuses_them():
    messages = []
    for lib in (glassgrad, torch):
        y = lib.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError) as info:
            ForkingPickler.dumps(y)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_a_spawned_child_writes_shared_memory_the_parent_sees():
    tensor = glassgrad.zeros(3).share_memory_()
    module = glassgrad.nn.Linear(2, 2).share_memory()
    plain = glassgrad.zeros(2)
    queue = gmp.get_context("spawn").SimpleQueue()
    assert gmp.spawn(mp_children.write_shared, args=(tensor, module, plain, queue)) is None
    assert tensor.tolist() == [1.0, 1.0, 1.0]
    assert module.weight.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert plain.tolist() == [0.0, 0.0]  # a plain tensor crosses as a copy
    assert queue.get() == (True, True, False)
    np.testing.assert_array_equal(queue.get().numpy(), [0, 1, 2])


def test_spawn_raises_the_childs_traceback():
    with pytest.raises(gmp.ProcessRaisedException) as info:
        gmp.spawn(mp_children.fail_in_one, args=(5,), nprocs=2)
    error = info.value
    assert isinstance(error, gmp.ProcessException) and error.error_index == 1
    assert error.error_pid > 0
    message = str(error)
    assert message.startswith("\n\n-- Process 1 terminated with the following error:\nTraceback")
    assert message.endswith('raise ValueError(f"boom {value}")\nValueError: boom 5\n')
    assert pickle.loads(pickle.dumps(error)).msg == message


def test_spawn_reports_exit_codes_and_signals():
    with pytest.raises(gmp.ProcessExitedException) as info:
        gmp.spawn(mp_children.exit_with, args=(3,))
    assert str(info.value) == "process 0 terminated with exit code 3"
    assert (info.value.exit_code, info.value.signal_name) == (3, None)
    context = gmp.start_processes(mp_children.kill_self, join=False, start_method="fork")
    assert isinstance(context, gmp.ProcessContext) and len(context.pids()) == 1
    with pytest.raises(gmp.ProcessExitedException) as info:
        while not context.join():
            pass
    assert str(info.value) == "process 0 terminated with signal SIGKILL"
    assert info.value.signal_name == "SIGKILL" and info.value.exit_code == -9


def test_spawn_warns_for_another_start_method_as_pytorch():
    with pytest.warns(FutureWarning, match=r"only supports start_method=spawn \(got: fork\)"):
        gmp.spawn(mp_children.exit_with, args=(0,), start_method="fork")


def test_a_pool_maps_tensors():
    with gmp.get_context("fork").Pool(1) as pool:
        out = pool.map(mp_children.square, [glassgrad.tensor([1.0, 2.0]), glassgrad.tensor([3.0])])
    assert [t.tolist() for t in out] == [[1.0, 4.0], [9.0]]
