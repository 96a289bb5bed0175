"""gradcheck's fast mode: one random projection ``v^T J u`` per input and output pair.

The vectors are PyTorch's own: ``torch.rand`` on a fresh ``torch.Generator()`` (the Mersenne
Twister seeded with 67280421310721, 24 bits per float32), drawn in PyTorch's order, so the
numbers in a fast-mode ``GradcheckError`` are the ones PyTorch prints.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.gradcheck_slow import (
    GradcheckError,
    _allclose,
    _analytical_jacobian,
    _as_tuple,
    _central,
    _diff_inputs,
    _is_float,
    _is_tensor,
    _mismatch,
    _numerical_jacobian,
    _perturbed_outputs,
)

_DEFAULT_SEED = 67280421310721

_FAST_FAIL_SLOW_OK = """
Fast gradcheck failed but element-wise differences are small. This means that the
test might've passed in slow_mode!

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck:

If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `fast_mode=False` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_fast_mode=False`
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_fast_mode=False`
""".strip()


class _TorchCpuRand:
    """``torch.rand(n, generator=torch.Generator())`` for float32, draw after draw."""

    def __init__(self) -> None:
        self._bits = np.random.RandomState(_DEFAULT_SEED & 0xFFFFFFFF)._bit_generator

    def vector(self, like):
        from glassgrad.tensor import Tensor

        raw = self._bits.random_raw(like.numel())
        floats = (raw & ((1 << 24) - 1)).astype(np.float32) * np.float32(2.0**-24)
        vec = Tensor._from_array(floats).to(like.dtype)
        return vec / vec.norm()


def _numerical_vju(func, inputs, func_out, all_u, all_v, eps):
    found = []
    outs = _as_tuple(func_out)
    for item, u in zip(_diff_inputs(inputs), all_u, strict=True):
        delta = (u.reshape(item.shape) * eps)._data
        below, above = _perturbed_outputs(func, inputs, item._data, ..., delta)
        jus = _central(below, above, eps, "", eps)
        jus = [ju for ju, out in zip(jus, outs, strict=True) if _is_float(out)]
        found.append([(v * ju).sum() for v, ju in zip(all_v, jus, strict=False)])
    return found


def _analytical_vju(inputs, outputs, nondet_tol, check_grad_dtypes, all_v, all_u):
    found = []
    for output, v in zip(outputs, all_v, strict=True):
        vjs = _analytical_jacobian(inputs, output, nondet_tol, check_grad_dtypes, v=v)
        found.append([vj.T.squeeze(0).dot(u) for vj, u in zip(vjs, all_u, strict=True)])
    return found


def _slow_error(func, inputs, outputs, in_index, out_index, rtol, atol, eps):
    numerical = _numerical_jacobian(func, inputs, outputs, eps)[in_index][out_index]
    analytical = _analytical_jacobian(inputs, outputs[out_index], float("inf"), False)[in_index]
    return slow_mode_message(numerical, analytical, rtol, atol)


def slow_mode_message(numerical, analytical, rtol, atol):
    """PyTorch's text after a fast-mode mismatch: both Jacobians recomputed in slow mode."""
    from glassgrad import allclose

    max_diff = (numerical - analytical).abs().max()
    message = (
        "\nThe above quantities relating the numerical and analytical jacobians are computed \n"
        "in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more background "
        "\nabout fast mode. Below, we recompute numerical and analytical jacobians in slow mode:"
        f"\n\nNumerical:\n {numerical}\nAnalytical:\n{analytical}\n\n"
        f"The max per-element difference (slow mode) is: {max_diff}.\n"
    )
    if allclose(analytical, numerical, rtol, atol):
        message += _FAST_FAIL_SLOW_OK
    return message


def _fast_gradcheck(
    func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol
):
    rand = _TorchCpuRand()
    all_u = [rand.vector(item) for item in _diff_inputs(inputs)]
    all_v = [rand.vector(out) for out in outputs]
    numerical = _numerical_vju(func, inputs, func_out, all_u, all_v, eps)
    if not outputs:
        _check_no_differentiable_outputs_fast(func, inputs, all_u, eps, nondet_tol)
    analytical = _analytical_vju(inputs, outputs, nondet_tol, check_grad_dtypes, all_v, all_u)
    for in_index, per_input in enumerate(numerical):
        for out_index, n in enumerate(per_input):
            a = analytical[out_index][in_index]
            tol = atol * float(all_u[in_index].sum()) * float(all_v[out_index].sum())
            if not _allclose(a, n, rtol, tol):
                slow = _slow_error(func, inputs, outputs, in_index, out_index, rtol, atol, eps)
                raise GradcheckError(_mismatch(a, n, out_index, in_index) + slow)
    return True


def _check_no_differentiable_outputs_fast(func, inputs, all_u, eps, nondet_tol):
    for item, u in zip(_diff_inputs(inputs), all_u, strict=True):
        delta = (u.reshape(item.shape) * eps)._data
        below, above = _perturbed_outputs(func, inputs, item._data, ..., delta)
        for jvp in _central(below, above, eps, "", eps):
            if jvp.numel() and float(jvp.abs().max()) > nondet_tol:
                raise GradcheckError("Numerical gradient for function expected to be zero")
    return True


__all__ = ["_fast_gradcheck", "_is_tensor"]
