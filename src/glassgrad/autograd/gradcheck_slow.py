"""Slow mode of ``gradcheck``: analytical against numerical Jacobians, and the shared helpers.

Follows PyTorch's ``torch/autograd/gradcheck.py`` step for step (same perturbation order, same
arithmetic in the input's dtype, same checks in the same order), so a passing or failing check
and the text of its ``GradcheckError`` are PyTorch's. Fast mode lives in ``gradcheck_fast``,
the public functions in ``gradcheck_api`` (``gradcheck`` is the module PyTorch's path names).
Complex inputs do not exist in glassgrad, so the real/imaginary split is absent.
"""

from __future__ import annotations

import warnings
from itertools import product

import numpy as np

__all__ = ["GradcheckError"]


class GradcheckError(RuntimeError):
    """Error raised by :func:`gradcheck` and :func:`gradgradcheck`."""


def _as_tuple(value):
    return (
        value if isinstance(value, tuple) else tuple(value) if isinstance(value, list) else (value,)
    )


def _is_tensor(value) -> bool:
    from glassgrad.tensor import Tensor

    return isinstance(value, Tensor)


def _is_float(value) -> bool:
    return _is_tensor(value) and value.is_floating_point()


def _differentiable_outputs(value):
    return tuple(out for out in _as_tuple(value) if out.requires_grad)


def _diff_inputs(inputs):
    return [item for item in inputs if _is_tensor(item) and item.requires_grad]


def _check_inputs(inputs) -> None:
    from glassgrad import dtypes

    found = False
    for index, item in enumerate(inputs):
        if not (_is_tensor(item) and item.requires_grad):
            continue
        if item.dtype != dtypes.float64:
            warnings.warn(
                f"Input #{index} requires gradient and is not a double precision floating point "
                "or complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ",
                stacklevel=4,
            )
        data = item._data
        if not all(st > 0 or sz <= 1 for st, sz in zip(data.strides, data.shape, strict=True)):
            raise RuntimeError(
                f"The {index}th input has a dimension with stride 0. gradcheck only supports "
                "inputs that are non-overlapping to be able to compute the numerical gradients "
                "correctly. You should call .contiguous on the input before passing it to "
                "gradcheck."
            )
        found = True
    if not found:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of them "
            "have requires_grad=True."
        )


# -- numerical Jacobians ------------------------------------------------------------------------
def _perturbed_outputs(fn, inputs, array, index, delta):
    """``(f(x - delta), f(x + delta))`` perturbing ``array[index]`` in place, restored after.

    The arithmetic is the input dtype's, as PyTorch's ``entry.copy_(orig - v)``.
    """
    orig = array[index].copy()
    array[index] = orig - delta
    below = tuple(out.clone() for out in _as_tuple(fn(*inputs)))
    array[index] = orig + delta
    above = tuple(out.clone() for out in _as_tuple(fn(*inputs)))
    array[index] = orig
    return below, above


def _central(below, above, norm, where, eps):
    found = []
    for low, high in zip(below, above, strict=True):
        if low.shape != high.shape:
            raise AssertionError(
                f"Expected `func` to return outputs with the same shape when inputs are "
                f"perturbed {where}by {eps}, but got: shapes {low.shape} and {high.shape}."
            )
        if low.dtype != high.dtype:
            raise AssertionError(
                f"Expected `func` to return outputs with the same dtype when inputs are "
                f"perturbed {where}by {eps}, but got: dtypes {low.dtype} and {high.dtype}."
            )
        found.append(((high - low) / (2 * norm)).detach().reshape(-1))
    return found


def _numerical_jacobian(fn, inputs, outputs, eps):
    """Per differentiable input, per float output: the ``(in_numel, out_numel)`` Jacobian."""
    from glassgrad.creation import zeros

    jacobians = []
    for item in _diff_inputs(inputs):
        array = item._data
        columns = {}
        for flat, index in enumerate(product(*[range(n) for n in array.shape])):
            below, above = _perturbed_outputs(fn, inputs, array, index, eps)
            columns[flat] = _central(below, above, eps, f"on index {index} ", eps)
        per_output = []
        floats = [(i, out) for i, out in enumerate(outputs) if _is_float(out)]
        for position, (_, out) in enumerate(floats):
            jac = zeros((item.numel(), out.numel()), dtype=out.dtype)
            for flat, cols in columns.items():
                jac._data[flat] = cols[position]._data
            per_output.append(jac)
        jacobians.append(tuple(per_output))
    return jacobians


# -- analytical Jacobians -----------------------------------------------------------------------
def _stack_columns(rows, diff_inputs, numel_output):
    from glassgrad.creation import zeros

    jacobians, sizes_ok, types_ok = [], True, True
    for grads, item in zip(rows, diff_inputs, strict=True):
        jac = zeros((item.numel(), numel_output), dtype=item.dtype)
        for column, grad in enumerate(grads):
            if grad is not None and grad.size() != item.size():
                sizes_ok = False
            elif grad is not None and grad.dtype != item.dtype:
                types_ok = False
            if grad is not None:
                if grad.numel() != item.numel():
                    raise AssertionError(
                        f"Expected out_jacobian column to have {grad.numel()} elements, but got "
                        f"{item.numel()}"
                    )
                jac._data[:, column] = grad._data.reshape(-1)
        jacobians.append(jac)
    return jacobians, sizes_ok, types_ok


def _vjp_rows(output, diff_inputs, grad_outputs):
    from glassgrad.autograd import grad

    rows = [[] for _ in diff_inputs]
    for grad_output in grad_outputs:
        found = grad(output, diff_inputs, grad_output, retain_graph=True, allow_unused=True)
        for row, value in zip(rows, found, strict=True):
            row.append(None if value is None else value.clone())
    return rows


def _unit_grad_outputs(output):
    from glassgrad.tensor import Tensor

    for index in range(output.numel()):
        unit = np.zeros(output.numel(), dtype=output._data.dtype)
        unit[index] = 1
        yield Tensor._from_array(unit.reshape(output._data.shape))


_NONDET = """\n
NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `nondet_tol=<tol>` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_nondet_tol=<tol>`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_nondet_tol=<tol>`
"""


def _analytical_jacobian(inputs, output, nondet_tol, check_grad_dtypes, v=None):
    """The Jacobian rows by backward (twice, for the reentrancy check), PyTorch's checks."""
    diff_inputs = _diff_inputs(inputs)
    grad_outputs = (v.reshape(output.shape),) if v is not None else None
    numel = 1 if v is not None else output.numel()
    stacked = []
    for _ in range(2):
        grads = grad_outputs or _unit_grad_outputs(output)
        stacked.append(_stack_columns(_vjp_rows(output, diff_inputs, grads), diff_inputs, numel))
    (first, types_ok, sizes_ok), (second, _, _) = stacked
    # PyTorch unpacks (sizes, types) into (types_ok, sizes_ok): the two flags trade places
    reentrant = all(
        a.numel() == 0 or float(np.abs(a._data - b._data).max()) <= nondet_tol
        for a, b in zip(first, second, strict=True)
    )
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not reentrant:
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with same input and grad_output "
            "multiple times gives different values, although analytical gradient matches "
            f"numerical gradient.The tolerance for nondeterminism was {nondet_tol}." + _NONDET
        )
    return first


def _allclose(a, b, rtol, atol) -> bool:
    from glassgrad import allclose, promote_types

    common = promote_types(a.dtype, b.dtype)
    return bool(allclose(a.to(common), b.to(common), rtol, atol))


def _mismatch(analytical, numerical, output_index, input_index) -> str:
    return (
        f"Jacobian mismatch for output {output_index:d} with respect to input "
        f"{input_index:d},\nnumerical:{numerical}\nanalytical:{analytical}\n"
    )


def _slow_gradcheck(
    func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol
):
    func_out = _as_tuple(func_out)
    if not outputs:
        return _check_no_differentiable_outputs(func, inputs, func_out, eps)
    numerical = list(zip(*_numerical_jacobian(func, inputs, func_out, eps), strict=True))
    numerical = [n for out, n in zip(func_out, numerical, strict=False) if out.requires_grad]
    for out_index, out in enumerate(outputs):
        analytical = _analytical_jacobian(inputs, out, nondet_tol, check_grad_dtypes)
        for in_index, (a, n) in enumerate(zip(analytical, numerical[out_index], strict=False)):
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_mismatch(a, n, out_index, in_index))
    return True


def _check_no_differentiable_outputs(func, inputs, func_out, eps):
    for per_input in _numerical_jacobian(func, inputs, func_out, eps):
        for jac in per_input:
            if np.count_nonzero(jac._data) > 0:
                raise GradcheckError("Numerical gradient for function expected to be zero")
    return True
