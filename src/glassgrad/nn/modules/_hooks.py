"""Running a module's forward hooks and wiring its full backward hooks into the graph.

A full backward hook needs the gradients with respect to the module's inputs and outputs. As in
PyTorch, inputs and outputs pass through an identity node (``BackwardHookFunctionBackward``)
whose incoming gradients are exactly those, so nothing else in the graph changes.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import OrderedDict

from glassgrad.autograd.grad_mode import is_grad_enabled
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import results
from glassgrad.tensor import Tensor
from glassgrad.utils.hooks import RemovableHandle

_identity_classes: dict = {}
_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside glassgrad.

    The engine's depth differs from call to call; a fixed level blamed one engine line, so the
    default filter showed the warning once per process instead of once per user call site.
    """
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def _identity_rule(ctx, grad):
    return tuple(grad) if isinstance(grad, list) else (grad,)


def _identity_class(n_outputs: int):
    cls = _identity_classes.get(n_outputs)
    if cls is None:
        if not _identity_classes:
            base = node_class("BackwardHookFunctionBackward", _identity_rule)
            _identity_classes[1] = base
            if n_outputs == 1:
                return base
        base = _identity_classes[1]
        cls = type(
            base.__name__,
            (base,),
            {"__slots__": (), "_n_outputs": n_outputs, "__module__": base.__module__},
        )
        _identity_classes[n_outputs] = cls
    return cls


def _wrap(args, on_node):
    """Pass the tensors in ``args`` through one identity node; ``on_node(node)`` sets it up."""
    index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    tensors = [args[i] for i in index]
    if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
        return args, None
    # Tensors that do not require grad pass through detached, as in PyTorch: routing them
    # through the node would make a module's untracked outputs require grad.
    wanted = [t.requires_grad for t in tensors]
    made = results(
        [t._data for t in tensors], _identity_class(len(tensors)), tensors, None, None, wanted
    )
    on_node(made[0].grad_fn)
    out = list(args)
    for i, tensor in zip(index, made, strict=True):
        out[i] = tensor
    return tuple(out), index


class _BackwardHook:
    """One forward call's bookkeeping: output gradients wait here for the input gradients."""

    def __init__(self, module) -> None:
        self.module = module
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_index = self.output_index = None

    @staticmethod
    def _pack(index, values, size):
        packed = [None] * size
        for i, value in zip(index, values, strict=True):
            packed[i] = value
        return tuple(packed)

    def setup_input(self, args):
        def on_node(node):
            node.register_prehook(self._input_hook)

        wrapped, self.input_index = _wrap(args, on_node)
        self.n_inputs = len(args)
        return wrapped

    def _input_hook(self, grad_input):
        if self.grad_outputs is None:
            return None
        packed = self._pack(self.input_index, grad_input, self.n_inputs)
        for hook in self.module._backward_hooks.values():
            out = hook(self.module, packed, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(packed):
                raise RuntimeError(
                    "Backward hook returned an invalid number of grad_input, "
                    f"got {len(out)}, but expected {len(packed)}"
                )
            packed = out
        self.grad_outputs = None
        return tuple(packed[i] for i in self.input_index)

    def setup_output(self, output):
        single = not isinstance(output, tuple)
        args = (output,) if single else output

        def on_node(node):
            node.register_prehook(self._output_hook)

        wrapped, self.output_index = _wrap(args, on_node)
        self.n_outputs = len(args)
        return wrapped[0] if single else wrapped

    def _output_hook(self, grad_output):
        self.grad_outputs = self._pack(self.output_index, grad_output, self.n_outputs)
        for hook in self.module._backward_pre_hooks.values():
            replaced = hook(self.module, self.grad_outputs)
            if replaced is None:
                continue
            if len(replaced) != len(self.grad_outputs):
                raise RuntimeError(
                    "Backward pre hook returned an invalid number of grad_output, "
                    f"got {len(replaced)}, but expected {len(self.grad_outputs)}"
                )
            self.grad_outputs = tuple(replaced)
        local = self.grad_outputs
        if self.input_index is None:
            self._fire_without_inputs()
        return tuple(local[i] for i in self.output_index)

    def _fire_without_inputs(self):
        warnings.warn(
            "Full backward hook is firing when gradients are computed with respect to "
            "module outputs since no inputs require gradients. See "
            "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
            "#torch.nn.Module.register_full_backward_hook for more details.",
            stacklevel=_user_stacklevel(),
        )
        grad_inputs = (None,) * self.n_inputs
        for hook in self.module._backward_hooks.values():
            out = hook(self.module, grad_inputs, self.grad_outputs)
            if out is not None and not (isinstance(out, tuple) and all(g is None for g in out)):
                raise RuntimeError(
                    "Backward hook for Modules where no input requires gradient "
                    "should always return None or None for all gradients."
                )
        self.grad_outputs = None


def _run_pre_hooks(module, args, kwargs):
    for key, hook in list(module._forward_pre_hooks.items()):
        if key in module._forward_pre_hooks_with_kwargs:
            out = hook(module, args, kwargs)
            if out is not None:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError(
                        "forward pre-hook must return None or a tuple of "
                        f"(new_args, new_kwargs), but got {out}."
                    )
                args, kwargs = out
        else:
            out = hook(module, args)
            if out is not None:
                args = out if isinstance(out, tuple) else (out,)
    return args, kwargs


# Hooks common to every module (PyTorch's ``register_module_forward_pre_hook`` and
# ``register_module_forward_hook``): they run before each module's own hooks, as in PyTorch.
global_forward_pre_hooks: OrderedDict = OrderedDict()
global_forward_hooks: OrderedDict = OrderedDict()
global_forward_hooks_with_kwargs: dict = {}


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """Register a forward pre-hook common to all modules: ``hook(module, args)`` before each
    ``forward``; it may return replacement args. Meant for debugging and profiling."""
    handle = RemovableHandle(global_forward_pre_hooks)
    global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(
    hook, *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """Register a forward hook common to all modules: ``hook(module, args, output)`` after each
    ``forward``; it may return a replacement output. Meant for debugging and profiling."""
    handle = RemovableHandle(global_forward_hooks)
    global_forward_hooks[handle.id] = hook
    if with_kwargs:
        global_forward_hooks_with_kwargs[handle.id] = True
    return handle


def call_with_hooks(module, args, kwargs):
    """``module(*args, **kwargs)`` with its forward pre-hooks, forward hooks and backward hooks."""
    for hook in list(global_forward_pre_hooks.values()):
        out = hook(module, args)
        if out is not None:
            args = out if isinstance(out, tuple) else (out,)
    args, kwargs = _run_pre_hooks(module, args, kwargs)
    backward = None
    if module._backward_hooks or module._backward_pre_hooks:
        backward = _BackwardHook(module)
        args = backward.setup_input(args)
    output = module.forward(*args, **kwargs)
    for key, hook in list(global_forward_hooks.items()):
        if key in global_forward_hooks_with_kwargs:
            out = hook(module, args, kwargs, output)
        else:
            out = hook(module, args, output)
        if out is not None:
            output = out
    for key, hook in list(module._forward_hooks.items()):
        if key in module._forward_hooks_with_kwargs:
            out = hook(module, args, kwargs, output)
        else:
            out = hook(module, args, output)
        if out is not None:
            output = out
    if backward is not None:
        output = backward.setup_output(output)
    return output


class HookMixin:
    """Registration of forward, forward-pre, full backward and backward-pre hooks."""

    # -- hooks -----------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Run ``hook(module, args)`` before ``forward``; it may return replacement args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        _insert(self._forward_pre_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Run ``hook(module, args, output)`` after ``forward``; it may replace the output."""
        handle = RemovableHandle(self._forward_hooks)
        _insert(self._forward_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        return handle

    def register_full_backward_hook(self, hook, prepend: bool = False):
        """Run ``hook(module, grad_input, grad_output)`` once the inputs' gradients are known."""
        handle = RemovableHandle(self._backward_hooks)
        _insert(self._backward_hooks, handle.id, hook, prepend)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend: bool = False):
        """Run ``hook(module, grad_output)`` before the module's gradients are computed."""
        handle = RemovableHandle(self._backward_pre_hooks)
        _insert(self._backward_pre_hooks, handle.id, hook, prepend)
        return handle


def _insert(table: OrderedDict, key, hook, prepend: bool) -> None:
    table[key] = hook
    if prepend:
        table.move_to_end(key, last=False)
