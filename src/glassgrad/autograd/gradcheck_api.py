"""The public ``gradcheck`` and ``gradgradcheck`` with PyTorch's arguments and checks."""

from __future__ import annotations

from glassgrad.autograd.gradcheck_slow import (
    GradcheckError,
    _as_tuple,
    _check_inputs,
    _diff_inputs,
    _differentiable_outputs,
    _is_tensor,
    _slow_gradcheck,
)

__all__ = ["gradcheck", "gradgradcheck"]


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Check ``func``'s backward against central differences on ``inputs`` (float64 advised).

    Raises:
        GradcheckError: where they differ (unless ``raise_exception=False``: then False).
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True"
        )
    if check_batched_grad and not check_backward_ad:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_backward_ad to be True"
        )
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError(
            "Setting check_batched_forward_grad=True requires check_forward_ad to be True"
        )
    options = (
        eps,
        atol,
        rtol,
        nondet_tol,
        check_undefined_grad,
        check_grad_dtypes,
        check_batched_grad,
        check_forward_ad,
        check_backward_ad,
        fast_mode,
    )
    if not raise_exception:
        try:
            return _gradcheck(func, inputs, *options)
        except GradcheckError:
            return False
    return _gradcheck(func, inputs, *options)


gradcheck.GradcheckError = (
    GradcheckError  # reachable as ``torch.autograd.gradcheck.GradcheckError``
)


def _gradcheck(
    func,
    inputs,
    eps,
    atol,
    rtol,
    nondet_tol,
    check_undefined_grad,
    check_grad_dtypes,
    check_batched_grad,
    check_forward_ad,
    check_backward_ad,
    fast_mode,
):
    from glassgrad.autograd.gradcheck_fast import _fast_gradcheck

    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    func_out = func(*inputs)
    outputs = _differentiable_outputs(func_out)
    if check_forward_ad:
        from glassgrad.autograd import forward_checks

        check = (
            forward_checks.fast_forward_check if fast_mode else forward_checks.slow_forward_check
        )
        check(func, func_out, inputs, outputs, eps, rtol, atol)
    if check_backward_ad:
        run = _fast_gradcheck if fast_mode else _slow_gradcheck
        run(func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol)
    if not check_backward_ad:
        return True
    if check_batched_grad and outputs:
        _needs("vmap", "check_batched_grad=True")
    _test_backward_mul_by_grad_output(outputs, inputs)
    if check_undefined_grad:
        _test_undefined_backward_mode(func, outputs, inputs)
    return True


def _needs(feature, option):
    """Where the checks that need vmap will plug in; a clear error until then."""
    name = "vmap (torch.func)"
    raise RuntimeError(
        f"gradcheck: {option} needs {name}, which glassgrad does not have yet; pass "
        f"{option.split('=')[0]}=False (the default) to check backward mode alone."
    )


def _test_backward_mul_by_grad_output(outputs, inputs):
    from glassgrad.autograd import grad
    from glassgrad.creation import zeros_like

    diff_inputs = _diff_inputs(inputs)
    if not diff_inputs:
        raise GradcheckError("no Tensors requiring grad found in input")
    found = grad(outputs, diff_inputs, [zeros_like(out) for out in outputs], allow_unused=True)
    for value, item in zip(found, diff_inputs, strict=True):
        if value is None:
            continue
        if not bool(value.eq(0).all()):
            raise GradcheckError("backward not multiplied by grad_output")
        if value.dtype != item.dtype:
            raise GradcheckError("grad is incorrect type")
        if value.size() != item.size():
            raise GradcheckError("grad is incorrect size")
    return True


_UNDEFINED_BC = (
    "Backwards compatibility: New undefined gradient support checking feature is enabled by "
    "default, but it may break existing callers of this function. If this is true for you, you "
    'can call this function with "check_undefined_grad=False" to disable the feature'
)


def _undefined_grad(tensor):
    """PyTorch's ``UndefinedGrad()(t)``: the same values, whose gradient arrives undefined."""
    from glassgrad.autograd.function import Function

    class UndefinedGrad(Function):
        @staticmethod
        def forward(ctx, value):
            return value.clone()

        @staticmethod
        def backward(ctx, grad):
            return None

    return UndefinedGrad.apply(tensor)


def _test_undefined_backward_mode(func, outputs, inputs):
    import warnings

    from glassgrad.autograd import grad
    from glassgrad.creation import zeros_like

    diff_inputs = _diff_inputs(inputs)
    if not diff_inputs:
        raise GradcheckError("no Tensors requiring grad found in input")

    def check(to_check):
        try:
            found = grad(
                to_check, diff_inputs, [zeros_like(o) for o in to_check], allow_unused=True
            )
        except RuntimeError as error:
            warnings.warn(_UNDEFINED_BC, stacklevel=2)
            raise GradcheckError(
                "Expected backward function to handle undefined output grads. Please look at "
                '"Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'
            ) from error
        for value in found:
            if value is not None and not bool(value.eq(0).all()):
                warnings.warn(_UNDEFINED_BC, stacklevel=2)
                raise GradcheckError(
                    "Expected all input grads to be undefined or zero when all output grads are "
                    'undefined or zero. Please look at "Notes about undefined output gradients" '
                    'in "tools/autograd/derivatives.yaml"'
                )
        return True

    checks = [[_undefined_grad(o) for o in _differentiable_outputs(func(*inputs)) if _is_tensor(o)]]
    if len(checks[0]) > 1:
        for undefined in range(len(outputs)):
            fresh = _differentiable_outputs(func(*inputs))
            checks.append(
                [_undefined_grad(o) if i == undefined else o for i, o in enumerate(fresh)]
            )
    return all(check(to_check) for to_check in checks)


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """gradcheck of ``func``'s gradient (its backward, with ``create_graph``) as a function."""
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError(
            "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True"
        )
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_undefined_grad=True requires check_rev_over_rev to be True"
        )
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_rev_over_rev to be True"
        )
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = tuple(_random_grad_output(x) for x in _differentiable_outputs(func(*inputs)))
    else:
        grad_outputs = _as_tuple(grad_outputs)
    count = len(grad_outputs)
    diff_args = {i for i, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad}
    diff_grads = {i for i, x in enumerate(grad_outputs) if x.requires_grad}

    def new_func(*args):
        from glassgrad.autograd import grad

        args_in = tuple(
            x.requires_grad_() if i in diff_args else x for i, x in enumerate(args[:-count])
        )
        outs = _differentiable_outputs(func(*args_in))
        grads = tuple(
            x.requires_grad_() if i in diff_grads else x for i, x in enumerate(args[-count:])
        )
        diff = tuple(x for i, x in enumerate(args_in) if i in diff_args)
        found = grad(outs, diff, grads, create_graph=True, allow_unused=True)
        return tuple(g for g in found if g is not None)

    return gradcheck(
        new_func,
        inputs + grad_outputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        nondet_tol=nondet_tol,
        check_undefined_grad=check_undefined_grad,
        check_grad_dtypes=check_grad_dtypes,
        check_batched_grad=check_batched_grad,
        fast_mode=fast_mode,
        check_forward_ad=check_fwd_over_rev,
        check_backward_ad=check_rev_over_rev,
        masked=masked,
    )


def _random_grad_output(out):
    """``torch.testing.make_tensor(low=-1, high=1, requires_grad=True)``: uniform in [-1, 1)."""
    from glassgrad import float64, rand

    dtype = out.dtype if out.is_floating_point() else float64
    return (rand(out.shape, dtype=dtype) * 2 - 1).requires_grad_(True)
