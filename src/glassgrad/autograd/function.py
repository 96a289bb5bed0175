"""User-defined differentiable functions: ``class F(glassgrad.autograd.Function)``.

As in PyTorch: ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` are static methods, ``ctx``
saves tensors with ``save_for_backward`` and reads them back as ``saved_tensors``; call ``F.apply``.
"""

from __future__ import annotations

from glassgrad.autograd import grad_mode
from glassgrad.autograd.node import Node, next_seq


class FunctionCtx:
    """The ``ctx`` a custom Function's forward and backward share."""

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` for backward (checked for in-place changes when read back)."""
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = value


class _FunctionNode(Node):
    """The node of a custom Function: calls the user's ``backward`` with tensors."""

    _custom_apply = True
    _special = True

    def apply(self, grad, create_graph):
        from glassgrad.tensor import Tensor

        ctx = self.ctx
        saved = self.saved(create_graph) if self._saved is not None else ()
        ctx.saved_tensors = tuple(
            s if s is None or isinstance(s, Tensor) else Tensor._from_array(s) for s in saved
        )
        grads = grad if isinstance(grad, list) else [grad]
        wrapped = [
            g if g is None or isinstance(g, Tensor) else Tensor._from_array(g) for g in grads
        ]
        with grad_mode.set_grad_enabled(create_graph):
            out = self.fn.backward(ctx, *wrapped)
        out = out if isinstance(out, tuple) else (out,)
        out = out[: len(self.next_functions)]
        if create_graph:
            return out
        return tuple(None if g is None else g._data for g in out)


class FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._node_cls = type(f"{name}Backward", (_FunctionNode,), {})


class Function(metaclass=FunctionMeta):
    """Base class for differentiable operations with a hand-written backward."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your "
            "custom autograd.Function to use it with backward mode AD."
        )

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` without recording, then record one node whose rule is ``backward``."""
        from glassgrad.ops.registry import _edge
        from glassgrad.tensor import Tensor, _make

        ctx = FunctionCtx()
        with grad_mode.no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        tensors = [a for a in args if isinstance(a, Tensor)]
        if not (grad_mode.state.record and any(t.requires_grad for t in tensors)):
            return outputs
        node = cls._node_cls()
        node._seq = next_seq()
        node.ctx, node.fn = ctx, cls
        node.next_functions = tuple(_edge(t) for t in tensors)
        node._meta = tuple((t._data.shape, t._data.dtype) for t in tensors)
        node._n_outputs = len(outs)
        to_save = getattr(ctx, "_to_save", None)
        skip = getattr(ctx, "_non_differentiable", set())
        made = []
        for index, out in enumerate(outs):
            if isinstance(out, Tensor) and id(out) not in skip and out.is_floating_point():
                made.append(_make(out._data, node, index))
            else:
                made.append(out)
        if to_save is not None:
            from glassgrad.ops.registry import _save

            mapped = [made[outs.index(t)] if any(t is o for o in outs) else t for t in to_save]
            _save(node, mapped, made[0])
        return made[0] if single else tuple(made)
