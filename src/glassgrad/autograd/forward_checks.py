"""Forward-mode Jacobians: ``autograd.functional.jacobian(strategy="forward-mode")`` and
``gradcheck(check_forward_ad=True)``, one JVP per input element (PyTorch batches the same JVPs
with vmap; the numbers are the same)."""

from __future__ import annotations

import numpy as np

from glassgrad.autograd import forward_ad as fw

__all__ = ["jacobian_forward", "jacobian_columns", "jvp_outputs"]


def jvp_outputs(func, inputs, tangents):
    """``func(*inputs)``'s outputs and their tangents (zeros where none) for ``tangents``, one
    per input (None: no tangent). A level of its own, nested inside any the caller has."""
    from glassgrad.creation import zeros_like

    level = fw._enter()
    try:
        duals = tuple(
            item if tangent is None else fw._make_dual(item, tangent, level)
            for item, tangent in zip(inputs, tangents, strict=True)
        )
        outputs = func(*duals)
        single = not isinstance(outputs, (tuple, list))
        outs = (outputs,) if single else tuple(outputs)
        primals, found = [], []
        for out in outs:
            primal, tangent = fw.unpack_dual(out, level=level)
            primals.append(primal)
            found.append(zeros_like(primal) if tangent is None else tangent)
        return outputs, primals, found
    finally:
        fw._exit(level)


def _unit(item, index):
    from glassgrad.tensor import Tensor

    unit = np.zeros(item._data.size, dtype=item._data.dtype)
    unit[index] = 1
    return Tensor._from_array(unit.reshape(item._data.shape))


def jacobian_columns(func, inputs, position):
    """The outputs' tangents for each unit tangent of ``inputs[position]``: one list of output
    tangents per element of that input."""
    item = inputs[position]
    columns = []
    for index in range(item._data.size):
        tangents = [None] * len(inputs)
        tangents[position] = _unit(item, index)
        columns.append(jvp_outputs(func, inputs, tangents)[2])
    return columns


def jacobian_forward(func, inputs):
    """``jacobian(func, inputs, strategy="forward-mode", vectorize=True)``."""
    from glassgrad.autograd.functional import _as_tuple, _tuple_postprocess
    from glassgrad.creation import zeros
    from glassgrad.ops.shape.join import stack

    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    outputs, primals, _ = jvp_outputs(func, inputs, [None] * len(inputs))
    outputs_tuple, _ = _as_tuple(outputs, "outputs of the user-provided function", "jacobian")
    jacobians = [[] for _ in primals]
    for position, item in enumerate(inputs):
        columns = jacobian_columns(func, inputs, position)
        for out_index, primal in enumerate(primals):
            shape = tuple(primal.shape) + tuple(item.shape)
            if not columns:
                jacobians[out_index].append(zeros(shape, dtype=primal.dtype))
                continue
            stacked = stack([column[out_index] for column in columns], dim=-1)
            jacobians[out_index].append(stacked.reshape(shape).detach())
    return _tuple_postprocess(tuple(tuple(row) for row in jacobians), (outputs_tuple, inputs_tuple))


# -- gradcheck(check_forward_ad=True) ---------------------------------------------------------
def _forward_mismatch(analytical, numerical, output_index, input_index) -> str:
    return (
        f"Jacobian computed with forward mode mismatch for output {output_index:d} with respect "
        f"to input {input_index:d},\nnumerical:{numerical}\nanalytical:{analytical}\n"
    )


def _diff_positions(inputs):
    from glassgrad.autograd.gradcheck_slow import _is_tensor

    return [i for i, item in enumerate(inputs) if _is_tensor(item) and item.requires_grad]


def _float_positions(func_out):
    from glassgrad.autograd.gradcheck_slow import _as_tuple, _is_float

    return [i for i, out in enumerate(_as_tuple(func_out)) if _is_float(out)]


def _detached(inputs):
    from glassgrad.autograd.gradcheck_slow import _is_tensor

    return tuple(item.detach() if _is_tensor(item) else item for item in inputs)


def _slow_jacobian(func, inputs, func_out, in_index, out_index, eps):
    """(numerical, forward-mode) Jacobian of float output ``out_index`` with respect to
    differentiable input ``in_index``, as slow mode computes them."""
    from glassgrad.autograd.gradcheck_slow import _as_tuple, _numerical_jacobian
    from glassgrad.creation import zeros

    func_out = _as_tuple(func_out)
    n = _numerical_jacobian(func, inputs, func_out, eps)[in_index][out_index]
    position = _diff_positions(inputs)[in_index]
    a = zeros(tuple(n.shape), dtype=n.dtype)
    for row, column in enumerate(jacobian_columns(func, _detached(inputs), position)):
        a._data[row] = column[_float_positions(func_out)[out_index]]._data.reshape(-1)
    return n, a


def _slow_error(func, inputs, func_out, in_index, out_index, rtol, atol, eps):
    from glassgrad.autograd.gradcheck_fast import slow_mode_message

    numerical, analytical = _slow_jacobian(func, inputs, func_out, in_index, out_index, eps)
    return slow_mode_message(numerical, analytical, rtol, atol)


def slow_forward_check(func, func_out, inputs, outputs, eps, rtol, atol):
    """PyTorch's slow gradcheck with ``use_forward_ad``: every Jacobian entry by forward mode
    against central differences."""
    from glassgrad.autograd.gradcheck_slow import GradcheckError, _allclose, _as_tuple

    if not outputs:
        return True
    func_out = _as_tuple(func_out)
    floats = _float_positions(func_out)
    keep = [k for k, i in enumerate(floats) if func_out[i].requires_grad]
    for in_index in range(len(_diff_positions(inputs))):
        for out_index, k in enumerate(keep):
            n, a = _slow_jacobian(func, inputs, func_out, in_index, k, eps)
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_forward_mismatch(a, n, out_index, in_index))
    return True


def fast_forward_check(func, func_out, inputs, outputs, eps, rtol, atol):
    """PyTorch's fast gradcheck with ``use_forward_ad``: ``J u`` for a random ``u`` per input,
    by forward mode and by central differences."""
    from glassgrad.autograd.gradcheck_fast import _TorchCpuRand
    from glassgrad.autograd.gradcheck_slow import (
        GradcheckError,
        _allclose,
        _as_tuple,
        _central,
        _diff_inputs,
        _perturbed_outputs,
    )

    if not outputs:
        return True
    rand = _TorchCpuRand()
    diff = _diff_inputs(inputs)
    all_u = [rand.vector(item) for item in diff]
    floats = _float_positions(func_out)
    plain = _detached(inputs)
    for in_index, (position, item, u) in enumerate(
        zip(_diff_positions(inputs), diff, all_u, strict=True)
    ):
        delta = (u.reshape(item.shape) * eps)._data
        below, above = _perturbed_outputs(func, inputs, item._data, ..., delta)
        numerical = _central(below, above, eps, "", eps)
        tangents = [None] * len(inputs)
        tangents[position] = u.reshape(item.shape)
        found = jvp_outputs(func, plain, tangents)[2]
        for out_index, k in enumerate(floats):
            if not _as_tuple(func_out)[k].requires_grad:
                continue
            a, n = found[k].reshape(-1), numerical[out_index]
            tol = atol * float(u.sum())
            if not _allclose(a, n, rtol, tol):
                slow = _slow_error(func, inputs, func_out, in_index, out_index, rtol, atol, eps)
                raise GradcheckError(_forward_mismatch(a, n, out_index, in_index) + slow)
    return True
