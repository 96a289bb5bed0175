"""``torch.autograd.functional``: vjp, jvp, hvp, vhp (this file), jacobian and hessian.

Built from ``autograd.grad`` exactly as PyTorch builds them, so values, output shapes, the
``strict`` errors and ``create_graph`` behave as PyTorch's. ``jvp`` and ``hvp`` use PyTorch's
double-backward trick (a vjp of a vjp), which needs no forward mode.
"""

from __future__ import annotations

from glassgrad.autograd import grad_mode

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(value, arg_name=None, fn_name=None):
    """PyTorch's ``_as_tuple``: ``(was_tuple, tuple)``, checking every item is a tensor."""
    from glassgrad.tensor import Tensor

    if arg_name is None and fn_name is None:
        return (
            value
            if isinstance(value, tuple)
            else tuple(value)
            if isinstance(value, list)
            else (value,)
        )
    was_tuple = isinstance(value, tuple)
    items = value if was_tuple else (value,)
    for index, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"value at index {index}" if was_tuple else f"given {arg_name}"
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                f"but the {where} has type {type(item)}."
            )
    return was_tuple, items


def _tuple_postprocess(found, to_unpack):
    """Undo ``_as_tuple``: one level per argument that was not a tuple."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            found = tuple(item[0] for item in found)
        if not to_unpack[0]:
            found = found[0]
    elif not to_unpack:
        found = found[0]
    return found


def _grad_preprocess(inputs, create_graph, need_graph):
    """Fresh inputs to differentiate against: views (keeping the graph) or detached copies."""
    return tuple(
        item.view_as(item)
        if create_graph and item.requires_grad
        else item.detach().requires_grad_(need_graph)
        for item in inputs
    )


def _grad_postprocess(inputs, create_graph):
    from glassgrad.tensor import Tensor

    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(item.detach() for item in inputs)
    return tuple(_grad_postprocess(item, create_graph) for item in inputs)


def _validate_v(v, other, other_was_tuple):
    if len(other) != len(v):
        if other_was_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (item, ref) in enumerate(zip(v, other, strict=True)):
        if item.size() != ref.size():
            prepend = f"Entry {index} in " if other_was_tuple else ""
            raise RuntimeError(
                f"{prepend}v has invalid size: should be {ref.size()} but got {item.size()}."
            )


_INDEPENDENT = {
    "hessian": "The hessian of the user-provided function with respect to input {i} is "
    "independent of the input. This is not allowed in strict mode. You should ensure that your "
    "function is thrice differentiable and that the hessian depends on the inputs.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided "
    "function with respect to input {i} is independent of the input. This is not allowed in "
    "strict mode. You should ensure that your function is twice differentiable and that the "
    "jacobian depends on the inputs (this would be violated by a linear function for example).",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the "
    "user-provided function. This is not allowed in strict mode.",
    "outputs": "Output {i} of the user-provided function does not require gradients. The "
    "outputs must be computed in a differentiable manner from the input when running in strict "
    "mode.",
}


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    for index, item in enumerate(inputs):
        if item is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {index}. "
                "This is not allowed in strict mode."
            )
        if not item.requires_grad:
            raise RuntimeError(_INDEPENDENT[input_type].format(i=index))


def _autograd_grad(
    outputs,
    inputs,
    grad_outputs=None,
    create_graph=False,
    retain_graph=None,
    is_grads_batched=False,
):
    """``autograd.grad`` over the outputs that require grad; all None if none does."""
    from glassgrad.autograd import grad

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [
        (out, g)
        for out, g in zip(outputs, grad_outputs, strict=True)
        if out is not None and out.requires_grad
    ]
    if not pairs:
        return (None,) * len(inputs)
    return grad(
        tuple(p[0] for p in pairs),
        inputs,
        tuple(p[1] for p in pairs),
        allow_unused=True,
        create_graph=create_graph,
        retain_graph=retain_graph,
        is_grads_batched=is_grads_batched,
    )


_FILL_STRICT = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
    "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
    "grad_outputs when using the double backward trick to compute forward mode gradients. This "
    "is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
    "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} "
    "in the grad_jacobian. This is not allowed in strict mode as it prevents from using the "
    "double backward trick to replace forward mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    from glassgrad.creation import zeros_like

    found = ()
    for index, value in enumerate(grads):
        if value is None:
            if strict:
                raise RuntimeError(_FILL_STRICT[stage].format(i=index))
            value = zeros_like(refs[index])
        elif strict and create_graph and not value.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {index}. "
                "This is not allowed in strict mode when create_graph=True."
            )
        found += (value,)
    return found


def _prepare(func, inputs, v, create_graph, strict, fn_name, v_is_for_inputs):
    """The shared first half of vjp/jvp/hvp/vhp: preprocessed inputs, v, and the outputs."""
    was_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
    if v_is_for_inputs:
        v = _read_v(v, inputs, was_tuple, create_graph, fn_name, _V_NONE_INPUT)
    outputs = func(*inputs)
    outs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    if not v_is_for_inputs:
        v = _read_v(v, outputs, outs_tuple, create_graph, fn_name, _V_NONE_OUTPUT)
    return was_tuple, inputs, v, outs_tuple, outputs


_V_NONE_OUTPUT = (
    "The vector v can only be None if the user-provided function returns a single Tensor with a "
    "single element."
)
_V_NONE_INPUT = (
    "The vector v can only be None if the input to the user-provided function is a single "
    "Tensor with a single element."
)


def _read_v(v, refs, refs_tuple, create_graph, fn_name, none_message):
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, refs, refs_tuple)
        return v
    if len(refs) != 1 or refs[0].nelement() != 1:
        raise RuntimeError(none_message)
    return None


def _finish(outputs, outs_tuple, found, found_tuple, create_graph):
    outputs = _grad_postprocess(outputs, create_graph)
    found = _grad_postprocess(found, create_graph)
    return _tuple_postprocess(outputs, outs_tuple), _tuple_postprocess(found, found_tuple)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    with grad_mode.enable_grad():
        prepared = _prepare(func, inputs, v, create_graph, strict, "vjp", False)
        was_tuple, inputs, v, outs_tuple, outputs = prepared
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        found = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        found = _fill_in_zeros(found, inputs, strict, create_graph, "back")
    return _finish(outputs, outs_tuple, found, was_tuple, create_graph)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``, by PyTorch's double-backward trick."""
    from glassgrad.creation import zeros_like

    with grad_mode.enable_grad():
        was_tuple, inputs, v, outs_tuple, outputs = _prepare(
            func, inputs, v, create_graph, strict, "jvp", True
        )
        grad_outputs = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        found = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        found = _fill_in_zeros(found, outputs, strict, create_graph, "back_trick")
    return _finish(outputs, outs_tuple, found, outs_tuple, create_graph)


def _scalar_output(outputs, outs_tuple, fn_name):
    from glassgrad.tensor import Tensor

    if outs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)`` for a scalar ``func``."""
    with grad_mode.enable_grad():
        was_tuple, inputs, v, outs_tuple, outputs = _prepare(
            func, inputs, v, create_graph, strict, "vhp", True
        )
        _scalar_output(outputs, outs_tuple, "vhp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        found = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        found = _fill_in_zeros(found, inputs, strict, create_graph, "double_back")
    return _finish(outputs, outs_tuple, found, was_tuple, create_graph)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a scalar ``func``, by the double-backward trick."""
    from glassgrad.creation import zeros_like

    with grad_mode.enable_grad():
        was_tuple, inputs, v, outs_tuple, outputs = _prepare(
            func, inputs, v, create_graph, strict, "hvp", True
        )
        _scalar_output(outputs, outs_tuple, "hvp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        grad_jac = tuple(zeros_like(item, requires_grad=True) for item in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        # PyTorch checks ``jac`` here again (not ``double_back``): same errors as PyTorch's
        _check_requires_grad(jac, "hessian", strict=strict)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        found = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        found = _fill_in_zeros(found, inputs, strict, create_graph, "double_back_trick")
    return _finish(outputs, outs_tuple, found, was_tuple, create_graph)


from glassgrad.autograd.functional_jacobian import hessian, jacobian  # noqa: E402
