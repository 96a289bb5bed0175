"""``torch._dynamo``: the names scripts touch (``config.suppress_errors``, ``is_compiling``)."""

from __future__ import annotations

import types

from glassgrad.compiler import (  # noqa: F401
    InvalidBackend,
    Unsupported,
    allow_in_graph,
    assume_constant_result,
    disable,
    is_compiling,
    list_backends,
    reset,
)

# Settings scripts assign before compiling; kept, and read back, with PyTorch's defaults.
config = types.SimpleNamespace(
    suppress_errors=False,
    cache_size_limit=8,
    recompile_limit=8,
    accumulated_cache_size_limit=256,
    verbose=False,
    optimize_ddp=True,
    capture_scalar_outputs=False,
    capture_dynamic_output_shape_ops=False,
    automatic_dynamic_shapes=True,
    assume_static_by_default=True,
)
exc = types.SimpleNamespace(InvalidBackend=InvalidBackend, Unsupported=Unsupported)


def explain(fn, *extra_args, **extra_kwargs):
    """``torch._dynamo.explain(fn)(*args)``: the graph count, graph breaks and their reasons."""
    from glassgrad._compile.explain import explain as _explain

    return _explain(fn, *extra_args, **extra_kwargs)


def __getattr__(name):
    if name == "OptimizedModule":
        from glassgrad import compiler

        return compiler.OptimizedModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
