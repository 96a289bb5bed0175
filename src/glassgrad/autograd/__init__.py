"""``glassgrad.autograd``: ``backward``, ``grad``, grad modes and custom ``Function``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from glassgrad._batched import BatchedArray as _Batched
from glassgrad.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "backward",
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "Function",
    "graph",
    "functional",
    "gradcheck",
    "gradgradcheck",
    "detect_anomaly",
    "set_detect_anomaly",
]

_CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter "
    "and its gradient which can cause a memory leak. We recommend using autograd.grad when "
    "creating the graph to avoid this. If you have to use this function, make sure to reset the "
    ".grad fields of your parameters to None after use to break the cycle and avoid the leak."
)


def _as_tuple(value):
    if value is None:
        return ()
    if isinstance(value, Tensor):
        return (value,)
    return tuple(value)


def _inputs_tuple(inputs, caller):
    """PyTorch's reading of ``inputs=``: a tensor, a sequence of tensors or a dict of them."""
    if isinstance(inputs, Tensor):
        return (inputs,)
    if type(inputs) is dict:
        return tuple(inputs.values())
    if isinstance(inputs, Mapping):
        raise TypeError(
            f"`inputs` argument to `{caller}()` must be a dict, not {type(inputs).__name__}. "
            "Other Mapping types are not supported."
        )
    return tuple(inputs)


def _grads_tuple(grad_outputs, count):
    """PyTorch's ``_tensor_or_tensors_to_tuple``: ``None`` for each output, or as given."""
    if grad_outputs is None:
        return (None,) * count
    if isinstance(grad_outputs, Tensor):
        return (grad_outputs,)
    return tuple(grad_outputs)


def _make_grads(outputs, grads, batched=False):
    """PyTorch's ``_make_grads``: check given gradients' shapes, make the implicit ones.

    Runs over every output before the engine's own checks (``requires_grad``, counts), as in
    PyTorch, so which error a bad call gets matches too. Implicit gradients stay ``None`` here;
    ``_roots`` makes them once it knows whether to make arrays or tensors.
    """
    for out, grad in zip(outputs, grads, strict=False):
        if isinstance(grad, Tensor):
            shape = grad.shape[1:] if batched else grad.shape
            if shape != out.shape:
                raise RuntimeError(
                    _shape_message(grads.index(grad), outputs.index(out), grad, out, batched)
                )
        elif grad is None:
            if out.requires_grad and out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out.requires_grad and out._data.dtype.kind == "c":
                raise RuntimeError(_complex_output(out._data.dtype))
        else:
            raise TypeError(
                f"gradients can be either Tensors or None, but got {type(grad).__name__}"
            )


def _shape_message(grad_index, out_index, grad, out, batched):
    # batched: PyTorch drops the batch dimension twice here (from grad[0], then [1:]), so the
    # message shows the shape without the first two dimensions
    grad_shape = Size(grad.shape[2:] if batched else grad.shape)
    pair = (
        f"grad_output[{grad_index}] has a shape of {grad_shape} and "
        f"output[{out_index}] has a shape of {out.shape}."
    )
    if not batched:
        return "Mismatch in shape: " + pair
    return (
        "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as "
        "the batch dimension. The sizes of the remaining dimensions are expected to match the "
        "shape of corresponding output, but a mismatch was detected: " + pair + " If you only "
        "want some tensors in `grad_output` to be considered batched, consider using vmap."
    )


def _roots(outputs, grads, create_graph):
    """The engine's checks on the outputs (after ``_make_grads``); return its root list."""
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    roots = []
    for index, (out, grad) in enumerate(zip(outputs, grads, strict=True)):
        if not out.requires_grad or (out._grad_fn is None and not out._requires_grad):
            from glassgrad.autograd.provenance import note_error

            raise note_error(
                RuntimeError(
                    f"element {index} of tensors does not require grad and does not have a grad_fn"
                ),
                out,
            )
        node, output_nr = out._edge()
        roots.append((node, output_nr, _root_grad(out, grad, create_graph)))
    return roots


def _root_grad(out, grad, create_graph):
    """The gradient the engine starts from: ones for a scalar, else ``grad`` in ``out``'s dtype."""
    data = out._data
    if grad is None:
        if create_graph:
            return Tensor._from_array(np.ones(data.shape, dtype=data.dtype))
        return np.ones(data.shape, dtype=data.dtype) if data.ndim else one(data.dtype)
    if grad._data.dtype != data.dtype:
        if create_graph:
            return grad.to(out.dtype)
        return grad._data.astype(data.dtype)
    return grad if create_graph else grad._data


_ONES: dict = {}


def _complex_output(dtype) -> str:
    name = "complex64" if dtype == np.complex64 else "complex128"
    return f"grad can be implicitly created only for real scalar outputs but got torch.{name}"


def one(dtype):
    """A cached NumPy scalar 1 (immutable, so sharing it is safe): the implicit 0-d gradient."""
    found = _ONES.get(dtype)
    if found is None:
        if dtype.kind == "c":
            raise RuntimeError(_complex_output(dtype))
        found = _ONES[dtype] = dtype.type(1)
    return found


def backward(
    tensors,
    grad_tensors=None,
    retain_graph=None,
    create_graph=False,
    grad_variables=None,
    inputs=None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    from glassgrad.autograd.engine import run_backward

    grad_tensors = _deprecated_grad_variables(grad_tensors, grad_variables)
    inputs = None if inputs is None else _inputs_tuple(inputs, "backward")
    if inputs is not None and not inputs:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    outputs = _as_tuple(tensors)
    grads = _grads_tuple(grad_tensors, len(outputs))
    _make_grads(outputs, grads)
    if _provenance.enabled:  # (glass: values of these read before were logs)
        for tensor in outputs:
            _escapes.on_backward(tensor)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    roots = _roots(outputs, grads, create_graph)
    if inputs is None:
        run_backward(roots, retain_graph, create_graph, None, accumulate=True)
        return
    _capturing[0] += 1
    try:
        run_backward(roots, retain_graph, create_graph, _backward_capture(inputs), accumulate=True)
    finally:
        _capturing[0] -= 1


def _deprecated_grad_variables(grad_tensors, grad_variables):
    if grad_variables is None:
        return grad_tensors
    warnings.warn(
        "`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning, stacklevel=3
    )
    if grad_tensors is not None:
        raise RuntimeError(
            "`grad_tensors` and `grad_variables` (deprecated) arguments both passed to "
            "`backward()`. Please only use `grad_tensors`."
        )
    return grad_variables


def _backward_capture(inputs):
    """Which edges ``backward(inputs=...)`` accumulates into: the leaves' ``AccumulateGrad``.

    As PyTorch does, every input gets ``retain_grad()``: a leaf's is a no-op, one that does not
    require grad raises, and a non-leaf keeps the gradient reaching it (in ``.grad``, for good).
    """
    capture = {}
    for tensor in inputs:
        tensor.retain_grad()
        # a non-leaf's edge is captured too, though only retain_grad stores its gradient: the
        # engine runs just the nodes that lead to a captured edge, as PyTorch does
        capture.setdefault(tensor._edge(), [])
    return capture


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """Return the gradients of ``outputs`` w.r.t. ``inputs`` (a tuple), leaving ``.grad`` alone."""
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _as_tuple(outputs)
    tensors = _inputs_tuple(inputs, "grad")
    if not tensors:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if not only_inputs:
        warnings.warn(_ONLY_INPUTS_WARNING, FutureWarning, stacklevel=2)
    grads = _grads_tuple(grad_outputs, len(outputs))
    _make_grads(outputs, grads, is_grads_batched)
    if retain_graph is None:
        retain_graph = create_graph
    run = (outputs, tensors, retain_graph, create_graph, allow_unused)
    found = _grad_batched(grads, *run) if is_grads_batched else _grad_once(grads, *run)
    if materialize_grads:
        found = tuple(
            _zeros_like(tensor, create_graph) if value is None else value
            for value, tensor in zip(found, tensors, strict=True)
        )
    if type(inputs) is dict:
        return dict(zip(inputs.keys(), found, strict=True))
    return found


_ONLY_INPUTS_WARNING = (
    "only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
    "gradient for other parts of the graph, please use torch.autograd.backward."
)


# how many autograd.grad / backward(inputs=...) passes are running (checkpoint's reentrant
# variant refuses to run inside one, as PyTorch's)
_capturing = [0]


def _grad_once(grads, outputs, inputs, retain_graph, create_graph, allow_unused):
    """One engine run for ``grad``: the summed gradient reaching each input, or None."""
    from glassgrad.autograd.engine import run_backward

    roots = _roots(outputs, grads, create_graph)
    for tensor in inputs:
        if not tensor.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    edges = [tensor._edge() for tensor in inputs]
    capture = {edge: [] for edge in edges}
    batches = []
    _capturing[0] += 1
    try:
        run_backward(roots, retain_graph, create_graph, capture, accumulate=False)
    finally:
        _capturing[0] -= 1
    found = []
    for index, edge in enumerate(edges):
        values = capture[edge]
        if not values:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {index} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior."
                )
            found.append(None)
            continue
        total = values[0]
        for value in values[1:]:
            total = total + value
        if not create_graph:
            if total.__class__ is not _Batched:
                total = np.array(total, copy=True)
            elif any(total is earlier for earlier in batches):
                total = total.copy()  # (a vmap batch: copied only where shared, it is large)
            batches.append(total)
            total = Tensor._from_array(total)
        found.append(total)
    return tuple(found)


def _grad_batched(grads, outputs, inputs, retain_graph, create_graph, allow_unused):
    """``is_grads_batched=True``: one backward per row of the gradients, stacked.

    PyTorch vmaps a single backward; running it once per row gives the same values. The graph
    is kept until the last row, then freed or not as ``retain_graph`` says.
    """
    from glassgrad.ops.shape.join import stack

    count = next((g.shape[0] for g in grads if g is not None), None)
    if count is None:
        return _grad_once(grads, outputs, inputs, retain_graph, create_graph, allow_unused)
    rows = []
    for row in range(count):
        keep = retain_graph or row < count - 1
        row_grads = tuple(None if g is None else g[row] for g in grads)
        rows.append(_grad_once(row_grads, outputs, inputs, keep, create_graph, allow_unused))
    return tuple(
        None if column[0] is None else stack(list(column)) for column in zip(*rows, strict=True)
    )


def _zeros_like(tensor, requires_grad):
    from glassgrad.creation import zeros_like

    return zeros_like(tensor, requires_grad=requires_grad)


from glassgrad.autograd import (
    anomaly_mode,  # noqa: E402
    forward_ad,  # noqa: E402
    functional,  # noqa: E402
    graph,  # noqa: E402
    profiler,  # noqa: E402 - torch.autograd.profiler, the profiler's older interface
)
from glassgrad.autograd import escapes as _escapes  # noqa: E402
from glassgrad.autograd import provenance as _provenance  # noqa: E402
from glassgrad.autograd.anomaly_mode import detect_anomaly, set_detect_anomaly  # noqa: E402
from glassgrad.autograd.function import Function  # noqa: E402
from glassgrad.autograd.gradcheck import gradcheck, gradgradcheck  # noqa: E402
from glassgrad.tensor import Size, Tensor  # noqa: E402 - this package is imported by tensor
