"""The ops whose backward PyTorch runs as one fused kernel that takes forward inputs.

``max_pool2d_with_indices_backward(grad, self, ...)``, ``convolution_backward(grad, input,
weight, ...)``, ``reflection_pad2d_backward(grad, self, ...)``...: under ``create_graph`` the
outputs of such a kernel require grad as soon as one of the inputs it takes does, even where
they do not depend on it. glassgrad's rules compute the same gradients from elementary ops, so
each node class listed here names (by edge index) the inputs PyTorch's kernel takes, and
``Node.apply`` ties the rule's outputs to them (``autograd.node.tie_fused``).

Classes are found by name once every op family has registered; names not defined (yet) are
skipped, so a family added later only needs its line here.
"""

from __future__ import annotations

from glassgrad.autograd.node import _CLASSES, zero_rule


def _no_gradient(ctx, grad):
    """The kernel's derivative PyTorch leaves undefined (``None`` from ``autograd.grad``)."""
    return (None,) * len(ctx.next_functions)


def _no_derivative(kernel):
    def rule(ctx, grad):
        raise RuntimeError(f"derivative for aten::{kernel} is not implemented")

    rule.node_name = "NotImplemented"  # PyTorch's node for a kernel without derivative
    return rule


_HARDSIGMOID = _no_derivative("hardsigmoid_backward")
_MULTI_MARGIN = _no_derivative("multi_margin_loss_backward")

# node class -> (the edges of the inputs PyTorch's kernel takes, its derivative for them)
FUSED = {
    "ConvolutionBackward0": ((0, 1), _no_gradient),
    "PreluKernelBackward0": ((0, 1), zero_rule),
    "GridSampler2DBackward0": ((0, 1), _no_gradient),
    "GridSampler3DBackward0": ((0, 1), _no_gradient),
    "HardsigmoidBackward0": ((0,), _HARDSIGMOID),
    "HardshrinkBackward0": ((0,), zero_rule),
    "SoftshrinkBackward0": ((0,), zero_rule),
    "MultiMarginLossBackward0": ((0,), _MULTI_MARGIN),
    **{
        f"{kind}{dims}DBackward0": ((0,), zero_rule)
        for kind in ("AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "ReflectionPad")
        + ("ReplicationPad",)
        for dims in (1, 2, 3)
    },
    **{f"MaxPool{dims}DWithIndicesBackward0": ((0,), zero_rule) for dims in (1, 2, 3)},
}


def install() -> None:
    """Mark the fused-backward node classes that exist."""
    for name, tie in FUSED.items():
        cls = _CLASSES.get(name)
        if cls is not None:
            cls._tie = tie
