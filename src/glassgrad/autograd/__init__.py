"""``glassgrad.autograd``: ``backward``, ``grad``, grad modes and custom ``Function``."""

from __future__ import annotations

import warnings

import numpy as np

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
    from glassgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return (value,)
    return tuple(value)


def _roots(outputs, grad_outputs, create_graph):
    """Check the outputs and their gradients; return the engine's root list."""
    from glassgrad.tensor import Size, Tensor

    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(
            f"grad requires one gradient per output: got {len(grads)} gradients "
            f"for {len(outputs)} outputs"
        )
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
        if grad is None:
            data = out._data
            if data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if create_graph:
                grad = Tensor._from_array(np.ones(data.shape, dtype=data.dtype))
            elif data.ndim:
                grad = np.ones(data.shape, dtype=data.dtype)
            else:
                grad = one(data.dtype)
        else:
            if not isinstance(grad, Tensor):
                from glassgrad.creation import tensor

                grad = tensor(grad, dtype=out.dtype)
            if grad._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{index}] has a shape of "
                    f"{Size(grad._data.shape)} and output[{index}] has a shape of "
                    f"{Size(out._data.shape)}."
                )
            if grad._data.dtype != out._data.dtype:
                grad = (
                    grad.to(out.dtype)
                    if create_graph
                    else Tensor._from_array(grad._data.astype(out._data.dtype))
                )
            if not create_graph:
                grad = grad._data
        node, output_nr = out._edge()
        roots.append((node, output_nr, grad))
    return roots


_ONES: dict = {}


def one(dtype):
    """A cached NumPy scalar 1 (immutable, so sharing it is safe): the implicit 0-d gradient."""
    found = _ONES.get(dtype)
    if found is None:
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

    outputs = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    roots = _roots(outputs, grad_tensors, create_graph)
    capture = None
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        capture = {}
        for tensor in inputs:
            if not tensor.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            capture.setdefault(tensor._edge(), [])
    run_backward(roots, retain_graph, create_graph, capture, accumulate=True)
    if inputs is not None:
        for tensor in inputs:
            if tensor._grad_fn is not None:
                _store_captured(tensor, capture[tensor._edge()], create_graph)


def _store_captured(tensor, grads, create_graph):
    from glassgrad.autograd.engine import _store_grad
    from glassgrad.tensor import Tensor

    for value in grads:
        _store_grad(tensor, value, create_graph, Tensor)


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
    from glassgrad.autograd.engine import run_backward
    from glassgrad.tensor import Tensor

    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    for tensor in inputs:
        if not tensor.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = _roots(outputs, grad_outputs, create_graph)
    edges = [tensor._edge() for tensor in inputs]
    capture = {edge: [] for edge in edges}
    run_backward(roots, retain_graph, create_graph, capture, accumulate=False)
    found = []
    for index, (tensor, edge) in enumerate(zip(inputs, edges, strict=True)):
        values = capture[edge]
        if not values:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {index} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior."
                )
            found.append(_zeros_like(tensor) if materialize_grads else None)
            continue
        total = values[0]
        for value in values[1:]:
            total = total + value
        found.append(total if create_graph else Tensor._from_array(np.array(total, copy=True)))
    return tuple(found)


def _zeros_like(tensor):
    from glassgrad.creation import zeros_like

    return zeros_like(tensor)


from glassgrad.autograd import graph  # noqa: E402
from glassgrad.autograd.function import Function  # noqa: E402
