"""``torch.jit``: scripting and tracing give callables that run, eagerly; archives are refused.

``torch.jit.script(fn_or_module)`` and ``torch.jit.trace(fn_or_module, example_inputs)`` return
objects that compute what the original computes (a scripted module shares its parameters with
the original, as PyTorch's does). glassgrad has no TorchScript compiler or archive format, so
``save``/``torch.jit.save``/``torch.jit.load`` raise a clear error instead of writing or reading
something PyTorch could not use. The decorators (``ignore``, ``unused``, ``export``, ...) and the
predicates (``is_scripting``, ``is_tracing``) behave as they do outside TorchScript in PyTorch.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from typing import Final  # noqa: F401 - torch.jit.Final is typing.Final

__all__ = [
    "script", "trace", "trace_module", "save", "load", "is_scripting", "is_tracing", "annotate",
    "ignore", "unused", "export", "interface", "fork", "wait", "freeze", "optimize_for_inference",
    "ScriptModule", "ScriptFunction", "RecursiveScriptModule", "TracerWarning", "Final",
]  # fmt: skip

_NO_ARCHIVE = (
    "glassgrad cannot write or read TorchScript archives (it has no TorchScript compiler); save "
    "the weights with torch.save(model.state_dict(), path) and rebuild the model in Python"
)


class TracerWarning(Warning):
    """A warning about a traced function (``torch.jit.TracerWarning``)."""

    @staticmethod
    def ignore_lib_warnings() -> None:
        warnings.filterwarnings("ignore", category=TracerWarning, module="glassgrad")


def _deprecated(name: str) -> None:
    warnings.warn(
        f"`torch.jit.{name}` is deprecated. Please switch to `torch.compile` or `torch.export`.",
        DeprecationWarning,
        stacklevel=3,
    )


class ScriptFunction:
    """A scripted or traced function: calling it calls the function."""

    def __init__(self, fn) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def save(self, f, **kwargs):
        """Refused: glassgrad has no TorchScript archive format."""
        raise RuntimeError(_NO_ARCHIVE)

    @property
    def code(self) -> str:
        return inspect.getsource(self._fn)


class ScriptModule:
    """What scripted and traced modules are instances of (with ``nn.Module``)."""

    def save(self, f, **kwargs):
        """Refused: glassgrad has no TorchScript archive format."""
        raise RuntimeError(_NO_ARCHIVE)

    @property
    def original_name(self) -> str:
        return type(self).__bases__[-1].__name__

    @property
    def code(self) -> str:
        return inspect.getsource(type(self).__bases__[-1].forward)


class RecursiveScriptModule(ScriptModule):
    """A scripted module."""


class TopLevelTracedModule(ScriptModule):
    """A traced module."""


_CLASSES: dict = {}


def _wrap_module(module, kind: type):
    """A shallow copy of ``module`` (sharing its parameters, buffers and submodules) whose class
    also derives from ``kind``, so ``save`` is there and refuses."""
    key = (kind, type(module))
    cls = _CLASSES.get(key)
    if cls is None:
        cls = _CLASSES[key] = type(type(module).__name__, (kind, type(module)), {})
        cls.__module__ = type(module).__module__
    wrapped = copy.copy(module)
    wrapped.__class__ = cls
    return wrapped


def _is_module(obj) -> bool:
    from glassgrad.nn import Module

    return isinstance(obj, Module)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``obj`` ready to call as PyTorch's scripted version is (glassgrad runs it eagerly)."""
    _deprecated("script")
    if isinstance(obj, (ScriptModule, ScriptFunction)):
        return obj
    if _is_module(obj):
        return _wrap_module(obj, RecursiveScriptModule)
    if isinstance(obj, type) and obj.__module__ != "builtins":
        return obj  # a scripted class is the class
    if not callable(obj) or isinstance(obj, type):
        cls = obj if isinstance(obj, type) else type(obj)
        raise TypeError(f"{cls} is a built-in class")
    return ScriptFunction(obj)


def trace(func, example_inputs=None, optimize=None, check_trace=True, *args, **kwargs):
    """Run ``func`` once on ``example_inputs`` (as PyTorch's tracer does) and return a callable
    that computes what it computes."""
    _deprecated("trace")
    if _is_module(func) and kwargs.get("example_kwarg_inputs") is None:
        return trace_module(func, {"forward": example_inputs})
    inputs = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    if kwargs.get("example_kwarg_inputs") is not None:
        func(**kwargs["example_kwarg_inputs"])
    elif example_inputs is not None:
        func(*inputs)
    if _is_module(func):
        return _wrap_module(func, TopLevelTracedModule)
    _deprecated("trace")  # PyTorch warns a second time for a function
    return ScriptFunction(func)


def trace_module(mod, inputs, *args, **kwargs):
    """Trace methods of ``mod`` (``inputs``: method name to example inputs)."""
    _deprecated("trace_method")  # PyTorch's words, twice, as there
    _deprecated("trace_method")
    for method, example in inputs.items():
        getattr(mod, method)(*(example if isinstance(example, tuple) else (example,)))
    return _wrap_module(mod, TopLevelTracedModule)


def save(m, f, _extra_files=None) -> None:
    """Refused: glassgrad has no TorchScript archive format."""
    raise RuntimeError(_NO_ARCHIVE)


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    """Refused: glassgrad cannot run TorchScript archives."""
    raise RuntimeError(_NO_ARCHIVE)


def is_scripting() -> bool:
    """False: code here always runs as Python."""
    return False


def is_tracing() -> bool:
    """False: code here always runs as Python."""
    return False


def annotate(the_type, the_value):
    """``the_value`` (a type hint for the TorchScript compiler)."""
    return the_value


def _marker(fn=None, **kwargs):
    """A decorator for the TorchScript compiler: the function itself here."""
    if fn is None or isinstance(fn, bool):
        return lambda inner: inner
    return fn


ignore = unused = export = interface = script_method = _overload = _overload_method = _marker
script_if_tracing = _marker


class Future:
    """The result of ``fork``: the value, computed when forked."""

    def __init__(self, value) -> None:
        self._value = value

    def wait(self):
        return self._value

    def value(self):
        return self._value

    def done(self) -> bool:
        return True


def fork(func, *args, **kwargs) -> Future:
    """Run ``func`` (now: glassgrad runs one op after another) and return its ``Future``."""
    return Future(func(*args, **kwargs))


def wait(future: Future):
    """The value of a ``Future`` from ``fork``."""
    return future.wait()


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    """``mod`` itself (freezing inlines attributes for the TorchScript compiler)."""
    warnings.warn(
        "`torch.jit.freeze` is deprecated. Please use `torch.compile` instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    if not isinstance(mod, ScriptModule):
        raise RuntimeError(
            "Freezing expects a ScriptModule as input. Please use torch.jit.script or "
            "torch.jit.trace to script your 'nn.Module'."
        )
    return mod


def optimize_for_inference(mod, other_methods=None):
    """``mod`` itself, in eval mode (as PyTorch freezes it)."""
    return mod.eval()
