"""``torch.autograd.graph``: the graph's parts (what ``grad_fn`` objects are) and its hooks."""

from __future__ import annotations

import functools

from glassgrad.autograd import bound
from glassgrad.autograd.node import AccumulateGrad, Node
from glassgrad.autograd.saved_hooks import (
    disable_saved_tensors_hooks,
    save_on_cpu,
    saved_tensors_hooks,
)

__all__ = [
    "Node",
    "AccumulateGrad",
    "saved_tensors_hooks",
    "save_on_cpu",
    "disable_saved_tensors_hooks",
    "register_multi_grad_hook",
]


class _MultiHandle:
    """The handle ``register_multi_grad_hook`` returns: removes every hook it placed."""

    def __init__(self, handles) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __enter__(self):
        return self

    def __exit__(self, *args) -> None:
        self.remove()


def _grad_fn_or_accumulator(tensor):
    if tensor.grad_fn is not None:
        return tensor.grad_fn
    return tensor._edge()[0]


def register_multi_grad_hook(tensors, fn, *, mode: str = "all"):
    """Call ``fn`` once per backward pass for ``tensors``: with all their gradients (``"all"``,
    None for those the pass does not compute) or with the first one computed (``"any"``)."""
    from glassgrad.autograd import engine_entry

    supported = ("all", "any")
    if mode not in supported:
        raise ValueError(f"Expects mode to be one of {supported} but got {mode}")
    engine_entry.install()
    if mode == "all":
        return _all_mode(tensors, fn, engine_entry)
    ran: dict = {}

    @functools.wraps(fn)
    def wrapped(grad):
        task = engine_entry.current_task()
        if ran.get(task):
            return
        ran[task] = True
        fn(grad)

    return _MultiHandle(tuple(t.register_hook(wrapped) for t in tensors if t.requires_grad))


def _all_mode(tensors, fn, engine_entry):
    count: dict = {}
    buffer: dict = {}
    expected: dict = {}
    nodes = [_grad_fn_or_accumulator(t) for t in tensors]

    def inner_hook(index):
        def hook(grad):
            task = engine_entry.current_task()
            seen = count.get(task, 0)
            count[task] = seen + 1
            buffer.setdefault(task, [None] * len(tensors))[index] = grad
            if seen == 0:
                expected[task] = sum(engine_entry.will_execute(node) for node in nodes)
            if seen == expected[task] - 1:
                found = buffer.pop(task)
                del count[task], expected[task]
                fn(found)

        return hook

    return _MultiHandle(tuple(t.register_hook(inner_hook(i)) for i, t in enumerate(tensors)))


# -- Node.register_hook -------------------------------------------------------------------------
class _PostHooks:
    """``node.apply`` once hooks are registered: run the rule, then each hook in order."""

    __slots__ = ("node", "inner", "hooks")

    def __init__(self, node, inner) -> None:
        self.node, self.inner, self.hooks = node, inner, {}

    def __call__(self, grad, create_graph):
        Tensor = bound.Tensor
        node = self.node
        grad_inputs = (
            self.inner(grad, create_graph)
            if self.inner is not None
            else type(node).apply(node, grad, create_graph)
        )
        if not self.hooks:
            return grad_inputs
        grads = grad if isinstance(grad, (list, tuple)) else [grad]
        outs = tuple(_as_tensor(g) for g in grads)
        ins = tuple(_as_tensor(g) for g in grad_inputs)
        for hook in list(self.hooks.values()):
            found = hook(ins, outs)
            if found is not None:
                ins = tuple(found)
        if create_graph:
            return ins
        return tuple(g._data if isinstance(g, Tensor) else g for g in ins)


def _as_tensor(value):
    Tensor = bound.Tensor
    if value is None or isinstance(value, Tensor):
        return value
    import numpy as np

    return Tensor._from_array(np.asarray(value))


def register_node_hook(node, hook):
    """``Node.register_hook``: register ``hook(grad_inputs, grad_outputs) -> grad_inputs |
    None``, run after the node."""
    from glassgrad.utils.hooks import RemovableHandle

    if isinstance(node, AccumulateGrad):  # called with ((), (grad,)) after accumulating
        if node._post_hooks is None:
            node._post_hooks = {}
            node._special = True  # the plain engine then takes the leaf the general way
        handle = RemovableHandle(node._post_hooks)
        node._post_hooks[handle.id] = hook
        return handle
    post = node.__dict__.get("apply")
    if not isinstance(post, _PostHooks):
        post = _PostHooks(node, post)
        node.apply = post
        node._custom_apply = node._special = True  # the engines then call ``node.apply``
    handle = RemovableHandle(post.hooks)
    post.hooks[handle.id] = hook
    return handle


Node.register_hook = register_node_hook  # (a Node method, installed where node hooks live)
