"""Gradient accumulation into one shared leaf from many threads loses no update.

Each thread runs its own forward and backward on a leaf they all share; with a tiny switch
interval the interpreter changes threads between almost any two bytecodes, so an unlocked
check-then-set or read-add-write in accumulation would lose updates within a few rounds.
The sums are of small integers in float64, so they are exact and compared exactly.
"""

from __future__ import annotations

import sys
import threading

import pytest

import glassgrad

THREADS = 8
ROUNDS = 300
STEPS = 3  # backward calls per thread and round


def _work(leaf, kind, barrier, errors):
    try:
        barrier.wait()
        for _ in range(STEPS):
            if kind == "create_graph":
                (leaf * 2.0).sum().backward(create_graph=True)
            elif kind == "hook":
                y = leaf * 2.0
                y.register_hook(lambda grad: grad)
                y.sum().backward()
            else:
                (leaf * 2.0).sum().backward()
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)


def _round(shape, kind):
    leaf = glassgrad.zeros(shape, dtype=glassgrad.float64, requires_grad=True)
    barrier = threading.Barrier(THREADS)
    errors: list = []
    threads = [
        threading.Thread(target=_work, args=(leaf, kind, barrier, errors)) for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return leaf.grad


@pytest.fixture
def tiny_switch_interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.parametrize(
    ("shape", "kind", "rounds"),
    [
        ((), "plain", ROUNDS),
        ((3,), "plain", ROUNDS),
        ((), "hook", ROUNDS // 3),
        ((3,), "create_graph", ROUNDS // 3),
    ],
)
@pytest.mark.filterwarnings("ignore:Using backward.. with create_graph=True")
def test_threads_accumulating_into_one_leaf_lose_nothing(tiny_switch_interval, shape, kind, rounds):
    expected = 2.0 * THREADS * STEPS
    lost = 0
    for _ in range(rounds):
        grad = _round(shape, kind)
        values = grad.detach().reshape(-1).tolist()
        lost += sum(value != expected for value in values)
    assert lost == 0
