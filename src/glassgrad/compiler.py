"""``torch.compile`` and ``torch.compiler``: the public entry of glassgrad's compiler.

``torch.compile(model)`` gives what PyTorch gives: an ``OptimizedModule`` wrapping a module (its
state-dict keys carry PyTorch's ``_orig_mod.`` prefix, so checkpoints round-trip with
PyTorch's), or a function wrapping a function. The first call with a new guard set traces the
function into a graph of glassgrad's ops, later calls replay a plan on arrays with one autograd
node for the region (``glassgrad._compile``; docs/compile.md says what it handles). The
arguments are checked as PyTorch checks them, so a typo in ``mode=`` still fails.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = [
    "compile",
    "disable",
    "is_compiling",
    "is_dynamo_compiling",
    "is_exporting",
    "reset",
    "list_backends",
    "allow_in_graph",
    "assume_constant_result",
    "InvalidBackend",
]

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
_BACKENDS = ("cudagraphs", "inductor", "openxla", "tvm")
_ALL_BACKENDS = _BACKENDS + (
    "aot_eager",
    "aot_eager_default_partitioner",
    "aot_ts",
    "eager",
    "eager_debug",
    "eager_noexcept",
    "openxla_eval",
    "pre_dispatch_eager",
)


class InvalidBackend(RuntimeError):
    """``backend=`` names no backend (``torch._dynamo.exc.InvalidBackend``)."""

    def __init__(self, name) -> None:
        super().__init__(
            f"Invalid backend: {name!r}, see `torch._dynamo.list_backends()` for available "
            "backends."
        )


class Unsupported(RuntimeError):
    """``torch._dynamo.exc.Unsupported``: what ``fullgraph=True`` raises at a graph break."""


def _optimized_module_class():
    from glassgrad.nn import Module

    class OptimizedModule(Module):
        """A compiled module: calls run the wrapped module (``_orig_mod``) compiled."""

        def __init__(self, mod, fullgraph=False) -> None:
            super().__init__()
            self._orig_mod = mod
            from glassgrad._compile.runtime import CompiledFunction

            object.__setattr__(
                self, "_compiled_call", CompiledFunction(mod.__call__, fullgraph, module=mod)
            )

        def forward(self, *args, **kwargs):
            return self._compiled_call(*args, **kwargs)

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self._modules["_orig_mod"], name)

    OptimizedModule.__module__ = __name__
    OptimizedModule.__qualname__ = "OptimizedModule"
    return OptimizedModule


def __getattr__(name):
    if name == "OptimizedModule":  # built on first use: nn imports this package's parent
        cls = globals()["OptimizedModule"] = _optimized_module_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check(mode, options, backend) -> None:
    if mode is not None and options is not None:
        raise RuntimeError(
            "Either mode or options can be specified, but both can't be specified at the same time."
        )
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if isinstance(backend, str) and backend not in _ALL_BACKENDS:
        raise InvalidBackend(backend)


def compile(  # noqa: A001 - PyTorch's name
    model: Callable | None = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | Callable | None = None,
    mode: str | None = None,
    options: dict | None = None,
    name: str | None = None,
    disable: bool = False,
    recompile_limit: int | None = None,
    isolate_recompiles: bool = False,
    shapes_spec=None,
):
    """``model`` compiled: traced at its first call per guard set, then replayed as a plan.

    Used as ``compile(fn)``, ``@compile`` or ``@compile(mode=...)``, as in PyTorch; see
    docs/compile.md for what is traced, fused and guarded. ``dynamic=True`` lets one trace of a
    function serve every size of its inputs' first dimension where that is sound.
    """
    _check(mode, options, backend)
    if model is None:
        return functools.partial(
            compile,
            fullgraph=fullgraph,
            dynamic=dynamic,
            backend=backend,
            mode=mode,
            options=options,
            name=name,
            disable=disable,
        )
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    if disable:
        return model
    from glassgrad.nn import Module

    if isinstance(model, Module):
        return __getattr__("OptimizedModule")(model, fullgraph)
    from glassgrad._compile.runtime import CompiledFunction

    compiled_fn = CompiledFunction(model, fullgraph, dynamic=dynamic)

    @functools.wraps(model)
    def compiled(*args, **kwargs):
        return compiled_fn(*args, **kwargs)

    compiled._compiled = compiled_fn
    return compiled


def disable(fn=None, recursive: bool = True, *, reason=None):
    """Keep ``fn`` out of compilation: it runs as written (as everything does here)."""
    if fn is None:
        return lambda inner: inner
    return fn


def is_compiling() -> bool:
    """Whether a compiled function is being traced right now."""
    from glassgrad._compile.trace import ACTIVE

    return ACTIVE[0] is not None


is_dynamo_compiling = is_compiling


def is_exporting() -> bool:
    """False: glassgrad exports nothing."""
    return False


def reset() -> None:
    """Forget compiled code (the kernels fused so far stay cached)."""


def list_backends(exclude_tags=("debug", "experimental")) -> list[str]:
    """The backend names ``compile`` accepts, as PyTorch lists them."""
    return sorted(_BACKENDS if exclude_tags else _ALL_BACKENDS)


def allow_in_graph(fn):
    """Mark ``fn`` to be kept whole in a compiled graph: no graph here, so ``fn`` itself."""
    return fn


def assume_constant_result(fn):
    """Mark ``fn``'s result as constant for a compiler: ``fn`` itself here."""
    return fn
