"""Tensor methods for hooks: ``retain_grad``, ``register_hook`` and
``register_post_accumulate_grad_hook`` (a base class of ``Tensor``; split from tensor.py), and
``_Extra``, the per-tensor state that hooks, views and provenance records keep off the hot path.

Hooks on a leaf live in its ``_Extra`` (``hooks``, ``post_hooks``); on a non-leaf, in its
``grad_fn`` (``_pre_hooks``, ``_retain``), which then carries the ``_special`` flag the engine's
fast path checks.
"""

from __future__ import annotations

import weakref


class _Extra:
    """Rarely used per-tensor state, kept off the hot path: hooks, views, names, provenance."""

    __slots__ = (
        "hooks",
        "retains_grad",
        "base",
        "view_key",
        "view_no_grad",
        "view_version",
        "view_meta",
        "inference_alias",
        "prov",
        "post_hooks",
        "fw",
        "no_grad_views",
        "detached_at",
        "__dict__",
    )

    def __init__(self) -> None:
        self.hooks = None
        self.retains_grad = False
        self.base = None
        self.view_key = None
        self.view_no_grad = False
        self.view_version = 0  # the shared version counter's value when grad_fn was last set
        # PyTorch's CreationMeta of a view: None (default), "no_grad", "inference" or "multi"
        # (an output of split/chunk/unbind); it decides which in-place writes are refused
        self.view_meta = None
        self.inference_alias = False  # detach() or .data of an inference tensor (tensor.py)
        self.prov = None
        self.post_hooks = None  # register_post_accumulate_grad_hook's, run after .grad is set
        self.fw = None  # forward-mode tangents: {level token: tangent tensor} (forward_ad)
        # views taken under no_grad while this base required grad: their flag follows the base's
        self.no_grad_views = None
        self.detached_at = None  # when detach_() took its grad_fn away (node.detached_now)


class TensorHooks:
    """The hook-registering part of ``Tensor``'s API."""

    __slots__ = ()

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf on which ``retain_grad()`` was called."""
        extra = self._extra
        return extra is not None and extra.retains_grad and self._grad_fn is not None

    def retain_grad(self) -> None:
        """Make backward populate ``.grad`` of this non-leaf tensor."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None:
            return
        self._x().retains_grad = True
        node = self._grad_fn
        if node._retain is None:
            node._retain = {}
            node._special = True
        node._retain[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook):
        """Register ``hook(grad) -> grad | None``, run when this tensor's gradient is computed."""
        from glassgrad.utils.hooks import RemovableHandle

        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            extra = self._x()
            if extra.hooks is None:
                extra.hooks = {}
            handle = RemovableHandle(extra.hooks)
            extra.hooks[handle.id] = hook
            return handle
        node = self._grad_fn
        if node._pre_hooks is None:
            node._pre_hooks = {}
            node._special = True
        handle = RemovableHandle(node._pre_hooks)
        node._pre_hooks[handle.id] = (self._output_nr, hook)
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """Register ``hook(tensor) -> None``, run on a leaf once its ``.grad`` has been updated."""
        from glassgrad.utils.hooks import RemovableHandle

        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        extra = self._x()
        if extra.post_hooks is None:
            extra.post_hooks = {}
        handle = RemovableHandle(extra.post_hooks)
        extra.post_hooks[handle.id] = hook
        return handle
