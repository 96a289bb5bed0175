"""``torch.autograd.functional.jacobian`` and ``hessian``, built from ``autograd.grad``.

``vectorize=True`` asks ``autograd.grad(is_grads_batched=True)`` for every row of the identity at
once, as PyTorch does; glassgrad's batched grad runs one backward per row, so the results are
the same numbers as the unvectorized loop (PyTorch's vmap gives them too).
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd import grad_mode
from glassgrad.autograd.functional import (
    _as_tuple,
    _autograd_grad,
    _check_requires_grad,
    _grad_postprocess,
    _grad_preprocess,
    _tuple_postprocess,
)

__all__ = ["jacobian", "hessian"]

_STRATEGY = (
    'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has '
    'more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer to '
    'use "reverse-mode".'
)


def jacobian(
    func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"
):
    """The Jacobian of ``func`` at ``inputs``: entry ``[i][j]`` has shape ``out_i + in_j``."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(_STRATEGY)
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.'
            )
        return _jacfwd(func, inputs, strict, vectorize)
    with grad_mode.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        outputs = func(*inputs)
        outputs_tuple, outputs = _as_tuple(
            outputs, "outputs of the user-provided function", "jacobian"
        )
        _check_requires_grad(outputs, "outputs", strict=strict)
        if vectorize:
            if strict:
                raise RuntimeError(
                    "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are "
                    "not supported together. Please either set `strict=False` or "
                    "`vectorize=False`."
                )
            found = _jacobian_batched(outputs, inputs, create_graph)
        else:
            found = tuple(
                _jacobian_rows(index, out, inputs, create_graph, strict)
                for index, out in enumerate(outputs)
            )
        found = _grad_postprocess(found, create_graph)
        return _tuple_postprocess(found, (outputs_tuple, inputs_tuple))


def _jacobian_rows(index, out, inputs, create_graph, strict):
    """One output's Jacobians, one backward per output element (PyTorch's loop)."""
    from glassgrad.creation import zeros_like
    from glassgrad.ops.shape.join import stack

    rows = tuple([] for _ in inputs)
    for element in range(out.nelement()):
        grads = _autograd_grad(
            (out.reshape(-1)[element],), inputs, retain_graph=True, create_graph=create_graph
        )
        for position, (row, grad, item) in enumerate(zip(rows, grads, inputs, strict=True)):
            if grad is not None:
                if strict and create_graph and not grad.requires_grad:
                    # PyTorch names the output's index here, not the input's
                    raise RuntimeError(
                        "The jacobian of the user-provided function is independent of input "
                        f"{index}. This is not allowed in strict mode when create_graph=True."
                    )
                row.append(grad)
            else:
                if strict:
                    raise RuntimeError(
                        f"Output {index} of the user-provided function is independent of input "
                        f"{position}. This is not allowed in strict mode."
                    )
                row.append(zeros_like(item))
    return tuple(
        stack(row, dim=0).view(out.size() + item.size())
        for row, item in zip(rows, inputs, strict=True)
    )


def _standard_basis(tensors, numels):
    """PyTorch's ``_construct_standard_basis_for``: the identity, split by columns."""
    from glassgrad.tensor import Tensor

    total = sum(numels)
    chunks, start = [], 0
    for tensor, numel in zip(tensors, numels, strict=True):
        chunk = np.zeros((total, numel), dtype=tensor._data.dtype)
        chunk[np.arange(start, start + numel), np.arange(numel)] = 1
        chunks.append(Tensor._from_array(chunk))
        start += numel
    return tuple(chunks)


def _jacobian_batched(outputs, inputs, create_graph):
    from glassgrad.creation import zeros_like

    numels = tuple(out.nelement() for out in outputs)
    basis = _standard_basis(outputs, numels)
    flat = tuple(out.reshape(-1) for out in outputs)
    grads = list(
        _autograd_grad(flat, inputs, basis, create_graph=create_graph, is_grads_batched=True)
    )
    for index, grad in enumerate(grads):
        if grad is None:
            grads[index] = zeros_like(inputs[index]).expand((sum(numels),) + inputs[index].shape)
    by_input = [
        [
            jac.view(out.shape + item.shape)
            for jac, out in zip(grad.split(numels, dim=0), outputs, strict=True)
        ]
        for grad, item in zip(grads, inputs, strict=True)
    ]
    return tuple(zip(*by_input, strict=True))


def _jacfwd(func, inputs, strict, vectorize):
    """``strategy="forward-mode"``: PyTorch's errors; vectorized, the forward-mode hook."""
    if strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`strict=False` or `strategy="reverse-mode"`.'
        )
    if not vectorize:
        # PyTorch's text, missing space included
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
            "only implemented for `vectorize=True`."
        )
    try:
        from glassgrad.autograd import forward_ad
    except ImportError:
        forward_ad = None
    if forward_ad is None or not hasattr(forward_ad, "_jacobian_forward"):
        raise RuntimeError(
            'torch.autograd.functional.jacobian: strategy="forward-mode" needs forward-mode AD '
            "(glassgrad.autograd.forward_ad), which this glassgrad does not have yet; use "
            'strategy="reverse-mode" (same values).'
        )
    return forward_ad._jacobian_forward(func, inputs)


def hessian(
    func,
    inputs,
    create_graph=False,
    strict=False,
    vectorize=False,
    outer_jacobian_strategy="reverse-mode",
):
    """The Hessian of a scalar ``func``: entry ``[i][j]`` has shape ``in_i + in_j``."""
    from glassgrad.tensor import Tensor

    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*args):
        out = func(*args)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outs, "outputs", strict=strict)
        if out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single "
                "element"
            )
        return out.squeeze()

    def jac_func(*args):
        if outer_jacobian_strategy == "forward-mode":
            args = tuple(t.requires_grad_(True) for t in args)
        jac = jacobian(single_output, args, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    found = jacobian(
        jac_func,
        inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    return _tuple_postprocess(found, (inputs_tuple, inputs_tuple))
