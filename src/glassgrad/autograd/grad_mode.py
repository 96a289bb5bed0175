"""Thread-local grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each is a context manager and a decorator. The state lives in a ``threading.local`` so that a new
thread starts with grad enabled and inference mode off, whatever its parent was doing (as in
PyTorch). ``record`` is the one flag the op fast path reads: grad enabled and not inference.
"""

from __future__ import annotations

import functools
import inspect
import threading
import warnings

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
]


class _State(threading.local):
    grad_enabled = True
    inference = False
    record = True  # grad_enabled and not inference, kept in step for the op fast path


state = _State()

# How many threads have ``record`` off now. While none has, every thread records, and the op
# fast path tests ``not record_off[0] or state.record``: reading a ``threading.local`` costs
# several times a list item. A thread that ends with recording off keeps the count up for good,
# which only sends everyone to the thread-local read.
record_off = [0]
_count_lock = threading.Lock()


def _set_record(record: bool) -> None:
    if record is state.record:
        return
    with _count_lock:
        record_off[0] += -1 if record else 1
    state.record = record


def _set(grad_enabled: bool, inference: bool) -> None:
    state.grad_enabled = grad_enabled
    state.inference = inference
    _set_record(grad_enabled and not inference)


def is_grad_enabled() -> bool:
    """Return True if operations are recorded for autograd in this thread."""
    return state.grad_enabled


def is_inference_mode_enabled() -> bool:
    """Return True inside ``inference_mode()`` in this thread."""
    return state.inference


_CLASS_DECORATION = (
    "Decorating classes is deprecated and will be disabled in future versions. You should only "
    "decorate functions or methods. To preserve the current behavior of class decoration, you can "
    "directly decorate the `__init__` method and nothing else."
)


class _DecoratorContextManager:
    """Context manager that also decorates functions and generator functions."""

    def __call__(self, func):
        if inspect.isclass(func):
            warnings.warn(_CLASS_DECORATION, FutureWarning, stacklevel=2)
            cls = func
            func = lambda *args, **kwargs: cls(*args, **kwargs)  # noqa: E731 - as PyTorch does
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return decorated

    def _wrap_generator(self, func):
        # The mode applies while the generator body runs, not while it is suspended.
        @functools.wraps(func)
        def decorated(*args, **kwargs):
            gen = func(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as exc:  # noqa: BLE001 - forwarded into the generator
                        with self.clone():
                            response = gen.throw(exc)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return decorated

    def clone(self):
        return self.__class__()


class _NoParamDecorator(_DecoratorContextManager):
    """Allows ``@no_grad`` without parentheses as well as ``@no_grad()``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):  # noqa: N801 - PyTorch's name
    """Context manager and decorator that stops recording operations for autograd."""

    def __init__(self) -> None:
        self.prev = False

    def __enter__(self) -> None:
        self.prev = state.grad_enabled
        _set(False, state.inference)

    def __exit__(self, *exc) -> None:
        _set(self.prev, state.inference)


class enable_grad(_NoParamDecorator):  # noqa: N801
    """Context manager and decorator that turns recording back on (inside ``no_grad``)."""

    def __init__(self) -> None:
        self.prev = False

    def __enter__(self) -> None:
        self.prev = state.grad_enabled
        _set(True, state.inference)

    def __exit__(self, *exc) -> None:
        _set(self.prev, state.inference)


class set_grad_enabled(_DecoratorContextManager):  # noqa: N801
    """Switch grad mode on or off now; as a context manager, restore the previous mode on exit."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                "set_grad_enabled(): argument 'enabled' (position 1) must be bool, "
                f"not {type(mode).__name__}"
            )
        self.prev = state.grad_enabled
        self.mode = mode
        _set(mode, state.inference)

    def __call__(self, func):
        # Decorating must not leave the mode switched at decoration time.
        _set(self.prev, state.inference)
        return super().__call__(func)

    def __enter__(self) -> None:
        _set(self.mode, state.inference)

    def __exit__(self, *exc) -> None:
        _set(self.prev, state.inference)

    def clone(self):
        return self.__class__(self.mode)

    def __repr__(self) -> str:
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self.mode})"


class inference_mode(_DecoratorContextManager):  # noqa: N801
    """Like ``no_grad``, and tensors made inside are inference tensors (no version counter)."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self.prev = (True, False)

    def __enter__(self) -> None:
        self.prev = (state.grad_enabled, state.inference)
        _set(not self.mode, self.mode)

    def __exit__(self, *exc) -> None:
        _set(*self.prev)

    def clone(self):
        return self.__class__(self.mode)
