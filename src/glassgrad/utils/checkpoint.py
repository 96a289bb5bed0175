"""``torch.utils.checkpoint``: trade compute for memory by recomputing a region in backward.

``use_reentrant=False``: the region runs with its graph recorded as usual (so its output has the
region's own ``grad_fn``, ``ExpBackward0`` and the like, as PyTorch's), then every node made in
the region drops what it saved; the first of them that backward reaches runs the region again
(with the RNG state of the forward) and refills them all from the recomputed graph, matched in
creation order. Only the region's inputs stay held (``glass.cost`` counts them). Nested
checkpoints each own their nodes. ``use_reentrant=True`` (PyTorch's default when the argument
is left out, with its warning): a ``CheckpointFunction`` node that reruns the region and calls
``backward`` inside backward, as PyTorch does.
"""

from __future__ import annotations

import contextlib
import warnings

from glassgrad.autograd import grad_mode
from glassgrad.autograd.function import Function
from glassgrad.autograd.node import next_seq as _next_seq

__all__ = [
    "checkpoint",
    "checkpoint_sequential",
    "CheckpointError",
    "CheckpointFunction",
    "check_backward_validity",
    "detach_variable",
    "noop_context_fn",
    "set_checkpoint_early_stop",
    "set_checkpoint_debug_enabled",
]

_DROPPED = ("<recomputed in backward>",)  # ``_saved`` of a node whose region recomputes it


def noop_context_fn():
    """The default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


# PyTorch's two settings. Early stop: PyTorch ends a recomputation by raising inside it once
# every saved tensor is back, so ``context_fn``'s recompute context sees an exception; glassgrad
# runs the whole region, then raises the same way. Debug: kept; glassgrad's errors always say
# what differs.
_settings = {"early_stop": None, "debug": None}


class _StopRecomputation(Exception):
    """Ends a recomputation (caught by ``_Region.recompute``)."""


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool):
    """Context manager: whether recomputation may stop once it has what backward needs."""
    previous = _settings["early_stop"]
    try:
        _settings["early_stop"] = enable
        yield
    finally:
        _settings["early_stop"] = previous


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None):
    """Context manager: checkpoint's debug setting (overrides ``debug=``; None defers to it)."""
    previous = _settings["debug"]
    try:
        _settings["debug"] = enabled
        yield
    finally:
        _settings["debug"] = previous


class CheckpointError(RuntimeError):
    """A recomputation that does not match the original forward."""


def detach_variable(inputs):
    """Detached copies of the tensors in the tuple ``inputs``, keeping ``requires_grad``."""
    from glassgrad.tensor import Tensor

    if not isinstance(inputs, tuple):
        raise RuntimeError(
            "Only tuple of tensors is supported. Got Unsupported input type: "
            f"{type(inputs).__name__}"
        )
    found = []
    for item in inputs:
        if isinstance(item, Tensor):
            copy = item.detach()
            copy.requires_grad = item.requires_grad
            item = copy
        found.append(item)
    return tuple(found)


def check_backward_validity(inputs) -> None:
    from glassgrad.tensor import Tensor

    if not any(item.requires_grad for item in inputs if isinstance(item, Tensor)):
        warnings.warn(
            "None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2
        )


def checkpoint(
    function,
    *args,
    use_reentrant: bool | None = None,
    context_fn=noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    **kwargs,
):
    """Run ``function(*args, **kwargs)`` keeping only its inputs; recompute it in backward."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        return CheckpointFunction.apply(function, preserve, *args)
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}"
        )
    if _settings["early_stop"] is not None:
        early_stop = _settings["early_stop"]
    return _Region(function, args, kwargs, preserve, context_fn, early_stop).run()


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` in order, checkpointing all ``segments`` but the last."""
    from glassgrad.nn import Sequential

    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
            "passed explicitly. In version 2.9 we will raise an exception if use_reentrant is "
            "not passed. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for index in range(start, end + 1):
                input = functions[index](input)
            return input

        return forward

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(
            run_function(start, end, functions),
            input,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve,
        )
    return run_function(end + 1, len(functions) - 1, functions)(input)


class _ForkRng:
    """Run with the global RNG at ``state``, then put back the state it had."""

    def __init__(self, state) -> None:
        self.state = state

    def __enter__(self):
        from glassgrad import get_rng_state, set_rng_state

        if self.state is not None:
            self.outer = get_rng_state()
            set_rng_state(self.state)

    def __exit__(self, *exc):
        from glassgrad import set_rng_state

        if self.state is not None:
            set_rng_state(self.outer)


class CheckpointFunction(Function):
    """The reentrant variant: one node that reruns the region and backpropagates inside it."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        from glassgrad import get_rng_state
        from glassgrad.tensor import Tensor

        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        ctx.fwd_cpu_state = get_rng_state() if preserve_rng_state else None
        ctx.inputs, ctx.tensor_indices, tensors = [], [], []
        for index, arg in enumerate(args):
            if isinstance(arg, Tensor):
                tensors.append(arg)
                ctx.tensor_indices.append(index)
                ctx.inputs.append(None)
            else:
                ctx.inputs.append(arg)
        ctx.save_for_backward(*tensors)
        with grad_mode.no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        from glassgrad.autograd import _capturing, backward
        from glassgrad.tensor import Tensor

        if _capturing[0]:
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                "passing an `inputs` parameter to .backward(). To resolve this error, you can "
                "either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument."
            )
        inputs = list(ctx.inputs)
        for position, index in enumerate(ctx.tensor_indices):
            inputs[index] = ctx.saved_tensors[position]
        with _ForkRng(ctx.fwd_cpu_state):
            detached = detach_variable(tuple(inputs))
            with grad_mode.enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [
            (out, grad)
            for out, grad in zip(outputs, grads, strict=False)
            if isinstance(out, Tensor) and out.requires_grad
        ]
        if not pairs:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        backward([p[0] for p in pairs], [p[1] for p in pairs])
        return (None, None) + tuple(
            item.grad if isinstance(item, Tensor) else None for item in detached
        )


def _tensors_in(value):
    from glassgrad.tensor import Tensor

    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors_in(item)


def _region_nodes(outputs, start):
    """The nodes made since ``start`` behind ``outputs`` that saved something, oldest first.

    Nodes an inner checkpoint owns are walked through but not taken.
    """
    stack = [t.grad_fn for t in _tensors_in(outputs) if t.grad_fn is not None]
    seen, found = set(), []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or node._seq is None or node._seq < start:
            continue
        seen.add(id(node))
        if node._saved is not None and "_ckpt" not in node.__dict__:
            found.append(node)
        stack += [edge[0] for edge in node.next_functions]
    return sorted(found, key=lambda node: node._seq)


class _Region:
    """One ``checkpoint(use_reentrant=False)`` call: its inputs and the nodes it owns."""

    def __init__(self, function, args, kwargs, preserve, context_fn, early_stop) -> None:
        from glassgrad import get_rng_state

        self.function, self.args, self.kwargs = function, args, kwargs
        self.rng = get_rng_state() if preserve else None
        self.context_fn, self.early_stop = context_fn, early_stop
        self.nodes = []
        # each tensor input's version: recomputing from an input changed since would be wrong
        self.versions = [(t, t._vc[0]) for t in _tensors_in((args, kwargs)) if t._vc is not None]

    def _call(self):
        forward_context, _ = self.context_fn()
        with forward_context:
            return self.function(*self.args, **self.kwargs)

    def run(self):
        start = _next_seq()
        outputs = self._call()
        self.nodes = _region_nodes(outputs, start)
        for node in self.nodes:
            node._ckpt = self
            node._saved, node._vars = _DROPPED, None
            node.apply = _Recompute(node, node.__dict__.get("apply"))
            node._custom_apply = node._special = True  # the engines then call ``node.apply``
        return outputs

    @property
    def input_arrays(self):
        """The arrays the region holds for backward: its inputs' (glass.cost reads these)."""
        return [t._data for t in _tensors_in((self.args, self.kwargs))]

    def _check_inputs_unchanged(self) -> None:
        """PyTorch's in-place error for a region input modified between forward and backward."""
        from types import SimpleNamespace

        from glassgrad.autograd.node import _raise_modified

        for tensor, version in self.versions:
            if tensor._vc[0] != version:
                try:
                    _raise_modified(
                        SimpleNamespace(_saved=(tensor._data,)), (tensor._vc, version, tensor, 0)
                    )
                except RuntimeError as error:
                    error.add_note(
                        "glassgrad: it is an input of a checkpointed region, which backward "
                        "recomputes from its inputs."
                    )
                    raise

    def recompute(self) -> None:
        self._check_inputs_unchanged()
        start = _next_seq()
        with _ForkRng(self.rng), grad_mode.enable_grad():
            _, recompute_context = self.context_fn()
            try:
                with recompute_context:
                    outputs = self.function(*self.args, **self.kwargs)
                    if self.early_stop:
                        raise _StopRecomputation
            except _StopRecomputation:
                pass
        fresh = _region_nodes(outputs, start)
        pending = [node for node in self.nodes if node._saved is _DROPPED]
        if len(fresh) != len(self.nodes):
            raise CheckpointError(
                "torch.utils.checkpoint: A different number of tensors was saved during the "
                "original forward and recomputation.\n"
                f"Number of tensors saved during forward: {_count(self.nodes)}\n"
                f"Number of tensors saved during recomputation: {_count(fresh)}.\n"
            )
        for node, again in zip(self.nodes, fresh, strict=True):
            if node not in pending:
                continue
            if type(node) is not type(again):
                raise CheckpointError(
                    "torch.utils.checkpoint: Recomputed values for the following tensors have "
                    f"different metadata than during the forward pass.\n{node.name()} was "
                    f"recorded in the forward, {again.name()} in the recomputation.\n"
                )
            node._saved, node._vars = again._saved, again._vars
            node._scalars = again._scalars


def _count(nodes) -> int:
    return sum(len(node._vars or ()) for node in nodes)


class _Recompute:
    """``node.apply`` for a node of a checkpointed region: recompute, then run the rule."""

    __slots__ = ("node", "inner")

    def __init__(self, node, inner) -> None:
        self.node, self.inner = node, inner

    def __call__(self, grad, create_graph):
        node = self.node
        if node._saved is _DROPPED:
            node._ckpt.recompute()
        # (a FREED node's rule raises PyTorch's "backward through the graph a second time")
        if self.inner is not None:
            return self.inner(grad, create_graph)
        return type(node).apply(node, grad, create_graph)
