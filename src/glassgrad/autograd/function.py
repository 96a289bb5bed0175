"""User-defined differentiable functions: ``class F(glassgrad.autograd.Function)``.

As in PyTorch: ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` are static methods (or
``forward(*args)`` plus ``setup_context(ctx, inputs, output)``), ``ctx`` saves tensors with
``save_for_backward`` and reads them back as ``saved_tensors``; call ``F.apply``. The ``ctx`` is
the node itself, so attributes set on it in forward show on ``output.grad_fn``.
"""

from __future__ import annotations

import functools
import inspect
import weakref

import numpy as np

from glassgrad._batched import ACTIVE as _VMAP
from glassgrad._batched import as_data
from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad.autograd import forward_state, grad_mode
from glassgrad.autograd.node import Node, link, next_seq, node_class
from glassgrad.autograd.node import use_counter as _node_counter
from glassgrad.autograd.record import result, saved_record
from glassgrad.tensor import Tensor, _make

# ``forward_under_transforms(cls, ctx, args, kwargs)``, installed by glassgrad.func (which sits
# above this layer): a Function's forward while a torch.func transform is running
VMAP_FORWARD: list = [None]


def _use_counter(counter):
    global next_seq
    next_seq = counter


_node_counter(_use_counter)  # (anomaly mode and saved-tensor hooks swap it)

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` a custom Function's forward and backward share."""

    _to_save = None
    _non_differentiable = frozenset()
    _dirty = ()
    _materialize = True

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` for backward (checked for in-place changes when read back)."""

        for index, tensor in enumerate(tensors):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(
                    "save_for_backward can only save variables, but argument "
                    f"{index} is of type {type(tensor).__name__}"
                )
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Mark outputs that get no gradient (their gradient in backward is zeros)."""
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        """Mark inputs that forward modified in place (they must be returned as outputs)."""
        self._dirty = tensors

    def save_for_forward(self, *tensors) -> None:
        """Keep ``tensors`` for a forward-mode ``jvp`` rule."""

        for tensor in tensors:
            if not (isinstance(tensor, Tensor) or tensor is None):
                raise AssertionError(
                    "save_for_forward expects all arguments to be tensors; you should save "
                    "non-tensors as attributes on ctx."
                )
        self.saved_for_forward = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Whether backward gets zeros (True, the default) or None for outputs without gradient."""
        self._materialize = value


class _FunctionNode(FunctionCtx, Node):
    """The node of a custom Function, and its ``ctx``: calls the user's ``backward``."""

    _custom_apply = True
    _special = True
    _detach_checked = False  # PyTorch unpacks a custom Function's saved input even if detach_()ed

    @property
    def saved_tensors(self) -> tuple:
        """The saved tensors themselves, as PyTorch returns them (errors if freed or modified)."""
        if self.__dict__.get("_in_jvp"):  # inside ``jvp``: what ``save_for_forward`` kept
            return tuple(getattr(self, "saved_for_forward", ()))
        if self._saved is None:
            return ()
        tensors = list(self.saved(False))
        for _counter, _version, owner, index in self._vars or ():
            tensor = owner() if isinstance(owner, weakref.ReferenceType) else owner
            if tensor is None:  # a saved output nobody holds any more: rebuild it on this node
                tensor = _make(self._saved[index], self, 0)
            tensors[index] = tensor
        return tuple(tensors)

    def apply(self, grad, create_graph):
        grads = grad if isinstance(grad, list) else [grad]
        wrapped = [self._grad_in(g, index) for index, g in enumerate(grads)]
        with grad_mode.set_grad_enabled(create_graph):
            out = _user_backward(self.fn)(self, *wrapped)
        grads_out = self._grads_out(out if isinstance(out, tuple) else (out,))
        if create_graph:
            return grads_out
        return tuple(None if g is None else g._data for g in grads_out)

    def _grad_in(self, grad, index):
        """The gradient of output ``index`` as backward sees it: a tensor, zeros or None."""

        if grad is None:
            meta = self._out_meta[index]
            if meta is None or not self._materialize:  # an output that is not a tensor: None
                return None
            shape, dtype = meta
            return Tensor._from_array(np.zeros(shape, dtype=dtype))
        return grad if isinstance(grad, Tensor) else Tensor._from_array(as_data(grad))

    def _grads_out(self, out):
        """PyTorch's checks on what backward returned; one gradient per tensor input."""

        name = type(self).__name__
        expected = len(self._tensor_args)
        if len(out) > expected and all(g is None for g in out[expected:]):
            out = out[:expected]  # extra trailing Nones are allowed
        if len(out) != expected:
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients "
                f"(expected {expected}, got {len(out)})"
            )
        grads = []
        for position, (grad, is_tensor) in enumerate(zip(out, self._tensor_args, strict=True)):
            if not is_tensor:
                if grad is not None:
                    raise RuntimeError(
                        f"function {name} returned a gradient different than None at position "
                        f"{position + 1}, but the corresponding forward input was not a Variable"
                    )
                continue
            if grad is not None and not isinstance(grad, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(grad).__name__})")
            grads.append(grad)
        for index, (grad, meta) in enumerate(zip(grads, self._meta, strict=True)):
            if grad is not None and not _expands_to(meta[0], grad.shape):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {index} - got "
                    f"{_brackets(grad.shape)} but expected shape compatible with "
                    f"{_brackets(meta[0])}"
                )
        return grads


def _user_backward(fn):
    """``backward`` or ``vjp``, whichever the Function defines (PyTorch's ``_get_user_fn``)."""
    backward, vjp = fn.backward, fn.vjp
    if backward is not Function.backward and vjp is not Function.vjp:
        raise RuntimeError(
            "Implementing both 'backward' and 'vjp' for a custom Function is not allowed. You "
            "should only implement one of them."
        )
    return vjp if vjp is not Function.vjp else backward


def _expands_to(shape, grad_shape) -> bool:
    """Whether an input of ``shape`` broadcasts to ``grad_shape`` (the engine then sums)."""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(grad_shape)) == tuple(grad_shape)
    except ValueError:
        return False


def _brackets(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


class FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._node_cls = type(f"{name}Backward", (_FunctionNode,), {})


class Function(metaclass=FunctionMeta):
    """Base class for differentiable operations with a hand-written backward."""

    def __init__(self, *args, **kwargs) -> None:
        import warnings

        warnings.warn(
            f"{self.__class__} should not be instantiated. Methods on autograd functions are all "
            "static, so you should invoke them on the class itself. Instantiating an autograd "
            "function will raise an error in a future version of PyTorch.",
            DeprecationWarning,
            stacklevel=2,
        )

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your "
            "custom autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )

    # torch.func's batching hooks (see glassgrad.func._function_vmap)
    generate_vmap_rule = False

    @staticmethod
    def vmap(info, in_dims, *args):
        raise NotImplementedError(
            "To use autograd.Function with vmap, you must either override the vmap staticmethod "
            "or set generate_vmap_rule=True."
        )

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` without recording, then record one node whose rule is ``backward``."""

        if cls.setup_context is not Function.setup_context:
            # as PyTorch: bind to forward's signature, so setup_context sees defaults positionally
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs
        ctx = cls._node_cls()
        ctx.fn = cls
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        dual = forward_state.ACTIVE[0]
        forward_state.ACTIVE[0] = 0  # as PyTorch: forward runs without forward AD too
        try:
            with grad_mode.no_grad():
                if _VMAP.levels or _VMAP.transforms:  # (torch.func's rules for Functions)
                    outputs = VMAP_FORWARD[0](cls, ctx, args, kwargs)
                    cls.setup_context(ctx, args, outputs)
                elif cls.setup_context is Function.setup_context:
                    outputs = cls.forward(ctx, *args, **kwargs)
                else:
                    outputs = cls.forward(*args, **kwargs)
                    cls.setup_context(ctx, args, outputs)
        finally:
            forward_state.ACTIVE[0] = dual
        tracked = grad_mode.state.record and any(ctx.needs_input_grad)
        made = _wrap_outputs(ctx, args, outputs, tracked)
        if dual:
            _forward_mode(cls, ctx, args, made)
        return made


def _zero_tangent(arg):

    if isinstance(arg, Tensor) and (arg.is_floating_point() or arg.is_complex()):
        from glassgrad.creation import zeros_like

        return zeros_like(arg)
    return None


def _forward_mode(cls, ctx, args, made) -> None:
    """Run the Function's ``jvp`` on its inputs' tangents, at each active level, and give the
    outputs the tangents it returns (PyTorch's ``_process_forward_mode_AD``)."""

    outs = made if isinstance(made, tuple) else (made,)
    active = forward_state.ACTIVE[0]
    for position in range(active):
        token = forward_state.LEVELS[position]
        tangents = [forward_state.get(a, token) if isinstance(a, Tensor) else None for a in args]
        if all(t is None for t in tangents):
            continue
        if ctx._materialize:  # as PyTorch: float inputs without a tangent get zeros
            pairs = zip(args, tangents, strict=True)
            tangents = [_zero_tangent(a) if t is None else t for a, t in pairs]
        forward_state.ACTIVE[0] = position
        ctx._in_jvp = True
        try:
            found = cls.jvp(ctx, *tangents)
        finally:
            forward_state.ACTIVE[0] = active
            ctx._in_jvp = False
        found = found if isinstance(found, tuple) else (found,)
        if len(found) != len(outs):
            raise RuntimeError(
                f"jvp function {cls.__name__}Backward returned an incorrect number of forward "
                f"gradients (expected {len(outs)}, got {len(found)})"
            )
        for out, tangent in zip(outs, found, strict=True):
            if (
                tangent is None
                or not isinstance(out, Tensor)
                or not _differentiable(out._data)
                or id(out) in ctx._non_differentiable
            ):
                continue
            forward_state.drop(out, token)
            forward_state.put(out, token, tangent)


def _wrap_outputs(node, args, outputs, tracked):
    """Connect ``outputs`` to ``node`` (when ``tracked``): PyTorch's ``_wrap_outputs``."""

    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    if any(not any(d is o for o in outs) for d in node._dirty):
        raise RuntimeError(
            "Some elements marked as dirty during the forward method were not returned as "
            "output. The inputs that are modified inplace must all be outputs of the Function."
        )
    if not tracked:
        return outputs
    tensors = [a for a in args if isinstance(a, Tensor)]
    node._seq = next_seq()
    link(node, tensors)
    node._tensor_args = tuple(isinstance(a, Tensor) for a in args)
    node._n_outputs = len(outs)
    node._out_meta = tuple(
        (o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outs
    )
    made = [_wrap_one(node, index, out) for index, out in enumerate(outs)]
    if node._to_save is not None:
        _save_for_backward(node, outs, made)
    return made[0] if single else tuple(made)


_LEAF_DIRTY = "a leaf Variable that requires grad has been used in an in-place operation."


def _wrap_one(node, index, out):

    if not isinstance(out, Tensor):
        return out
    if any(out is d for d in node._dirty):
        if out._grad_fn is None and out._requires_grad:
            raise RuntimeError(_LEAF_DIRTY)
        # the modified input itself becomes the output, now produced by this node
        out._grad_fn, out._output_nr, out._requires_grad = node, index, True
        if out._vc is not None:
            out._vc[0] += 1
        return out
    if id(out) in node._non_differentiable or not _differentiable(out._data):
        return out
    return _make(out._data, node, index)


def _save_for_backward(node, outs, made):
    """Record what ``ctx.save_for_backward`` got: outputs weakly (no cycle), inputs as is."""

    values, records = [], []
    for index, item in enumerate(node._to_save):
        if item is None:
            values.append(None)
            continue
        position = next((i for i, o in enumerate(outs) if o is item), None)
        if position is not None and made[position]._grad_fn is node:
            tensor = made[position]
            owner = weakref.ref(tensor)
        else:
            tensor = owner = item
        records.append(saved_record(tensor, index, owner))
        values.append(tensor._data)
    node._saved = tuple(values)
    node._vars = tuple(records) or None
    node._to_save = None


Error = node_class("Error", lambda ctx, grad: _raise_twice())


def _raise_twice():
    raise RuntimeError(
        "trying to differentiate twice a function that was marked with @once_differentiable"
    )


def once_differentiable(fn):
    """Run a custom ``backward`` without recording; differentiating its result again raises."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):

        with grad_mode.no_grad():
            outputs = fn(ctx, *args)
        if not grad_mode.is_grad_enabled():
            return outputs
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        wrapped = []
        for out in (outputs,) if single else outputs:
            if out is None:
                wrapped.append(None)
                continue
            stand_in = out.detach().requires_grad_(True)  # so the Error node gets an edge
            wrapped.append(result(out._data, Error, (stand_in,)))
        return wrapped[0] if single else tuple(wrapped)

    return wrapper
