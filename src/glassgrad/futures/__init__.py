"""``torch.futures``: a ``Future`` (a value that will be there later) with callbacks, and
``collect_all``/``wait_all`` over several."""

from __future__ import annotations

import threading
import traceback
from typing import Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
_UNSET = object()


class Future(Generic[T]):
    """A result (or an exception) that another thread or process delivers later."""

    def __init__(self, *, devices=None) -> None:
        self._done = threading.Condition()
        self._value = _UNSET
        self._exception = None
        self._callbacks: list = []

    def done(self) -> bool:
        """Whether the result or an exception is set."""
        return self._value is not _UNSET or self._exception is not None

    def wait(self) -> T:
        """Block until done; the result, or raise the exception."""
        with self._done:
            self._done.wait_for(self.done)
        return self.value()

    def value(self) -> T:
        """The result of a done future (raises its exception)."""
        if self._exception is not None:
            raise self._exception
        if self._value is _UNSET:
            raise RuntimeError("Future.value() called on a Future that is not completed yet.")
        return self._value

    def _complete(self, value, exception) -> None:
        with self._done:
            if self.done():
                raise RuntimeError(
                    "Attempting to mark a completed Future as complete again. Note that a Future "
                    "can only be marked completed once."
                )
            self._value, self._exception = value, exception
            callbacks, self._callbacks = self._callbacks, []
            self._done.notify_all()
        for callback in callbacks:
            callback(self)

    def set_result(self, result: T) -> None:
        """Set the result and run the callbacks."""
        self._complete(result, None)

    def set_exception(self, result) -> None:
        """Set an exception (raised by ``wait``/``value``) and run the callbacks."""
        if not isinstance(result, Exception):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(_UNSET, result)

    def add_done_callback(self, callback) -> None:
        """Run ``callback(self)`` once done (now, if already done)."""
        with self._done:
            if not self.done():
                self._callbacks.append(callback)
                return
        callback(self)

    def then(self, callback) -> Future:
        """A new Future of ``callback(self)``, run once this one is done; an error in the
        callback becomes the new Future's exception."""
        future: Future = Future()

        def run(done):
            try:
                result = callback(done)
            except Exception as error:
                future.set_exception(_callback_error(error))
                return
            future.set_result(result)

        self.add_done_callback(run)
        return future


def _callback_error(error) -> RuntimeError:
    frames = "".join(
        f"  {frame.filename}({frame.lineno}): {frame.name}\n"
        for frame in reversed(traceback.extract_tb(error.__traceback__))
    )
    return RuntimeError(
        "Got the following error when running the callback: "
        f"{type(error).__name__}: {error}\n\nAt:\n{frames}"
    )


def collect_all(futures) -> Future:
    """A Future, done when all of ``futures`` are, whose value is the list of them."""
    futures = list(futures)
    combined: Future = Future()
    remaining = [len(futures)]
    lock = threading.Lock()
    if not futures:
        combined.set_result([])

    def one_done(_):
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            combined.set_result(futures)

    for future in futures:
        future.add_done_callback(one_done)
    return combined


def wait_all(futures) -> list:
    """Wait for all of ``futures``; their results (raises the first exception met)."""
    return [future.wait() for future in collect_all(futures).wait()]
