"""``torch.futures`` against PyTorch 2.13: results, exceptions, callbacks, then-chains,
collect_all and wait_all, across threads."""

import threading
import time

import pytest
import torch.futures as tf

import glassgrad.futures as gf

LIBS = [gf, tf]


@pytest.mark.parametrize("lib", LIBS, ids=["glassgrad", "torch"])
def test_results_callbacks_and_chains(lib):
    future = lib.Future()
    assert not future.done()
    doubled = future.then(lambda f: f.value() * 2)
    seen = []
    future.add_done_callback(lambda f: seen.append(f.value()))
    future.set_result(3)
    assert future.done() and future.wait() == 3 and future.value() == 3
    assert doubled.wait() == 6 and seen == [3]
    with pytest.raises(RuntimeError, match="Attempting to mark a completed Future as complete"):
        future.set_result(4)
    late = []
    future.add_done_callback(lambda f: late.append(f.value()))  # already done: runs now
    assert late == [3]


@pytest.mark.parametrize("lib", LIBS, ids=["glassgrad", "torch"])
def test_exceptions(lib):
    failed = lib.Future()
    failed.set_exception(ValueError("x"))
    with pytest.raises(ValueError, match="^x$"):
        failed.wait()
    assert failed.then(lambda f: 1).wait() == 1  # a callback that does not look succeeds
    source = lib.Future()
    broken = source.then(lambda f: 1 / 0)
    source.set_result(1)
    with pytest.raises(RuntimeError) as info:
        broken.wait()
    message = str(info.value)
    assert message.startswith(
        "Got the following error when running the callback: ZeroDivisionError: division by zero"
        "\n\nAt:\n"
    )
    assert "<lambda>" in message


@pytest.mark.parametrize("lib", LIBS, ids=["glassgrad", "torch"])
def test_collect_all_and_wait_all(lib):
    a, b = lib.Future(), lib.Future()
    both = lib.collect_all([a, b])
    a.set_result(1)
    assert not both.done()
    b.set_result(2)
    assert [f.wait() for f in both.wait()] == [1, 2]
    assert lib.wait_all([a, b]) == [1, 2]
    bad = lib.Future()
    bad.set_exception(KeyError("k"))
    with pytest.raises(KeyError):
        lib.wait_all([a, bad])


def test_wait_blocks_until_another_thread_delivers():
    future = gf.Future()
    threading.Thread(target=lambda: (time.sleep(0.05), future.set_result("late"))).start()
    assert future.wait() == "late"
    assert gf.Future[int] is not None  # generic, as PyTorch's, for annotations
