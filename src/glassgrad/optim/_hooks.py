"""The hooks around every optimizer's ``step()`` and state dict, and the helpers of PyTorch's
``torch.optim.optimizer`` that optimizers written against PyTorch (timm's) import.

As in PyTorch, ``Optimizer.__init__`` wraps its class's ``step`` once, so the step hooks (the
global ones of ``register_optimizer_step_pre_hook`` and each optimizer's own) run around any
``step``, a subclass's own included.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, TypeAlias

from glassgrad.optim._flags import capturable_devices
from glassgrad.tensor import Tensor

ParamsT: TypeAlias = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]
StateDict: TypeAlias = dict[str, Any]
Args: TypeAlias = tuple[Any, ...]
Kwargs: TypeAlias = dict[str, Any]
GlobalOptimizerPreHook: TypeAlias = Callable[[Any, Args, Kwargs], tuple[Args, Kwargs] | None]
GlobalOptimizerPostHook: TypeAlias = Callable[[Any, Args, Kwargs], None]

_global_optimizer_pre_hooks: dict = OrderedDict()
_global_optimizer_post_hooks: dict = OrderedDict()
_foreach_supported_types = [Tensor]


def register_optimizer_step_pre_hook(hook):
    """Register ``hook(optimizer, args, kwargs)`` to run before every optimizer's ``step()``."""
    from glassgrad.utils.hooks import RemovableHandle

    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """Register ``hook(optimizer, args, kwargs)`` to run after every optimizer's ``step()``."""
    from glassgrad.utils.hooks import RemovableHandle

    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _register(hooks: dict, hook, prepend: bool):
    from glassgrad.utils.hooks import RemovableHandle

    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class OptimizerHooks:
    """The hook registries of ``Optimizer`` (mixed into it)."""

    OptimizerPreHook: TypeAlias = Callable[[Any, Args, Kwargs], tuple[Args, Kwargs] | None]
    OptimizerPostHook: TypeAlias = Callable[[Any, Args, Kwargs], None]

    def _init_hooks(self) -> None:
        for name in _HOOK_DICTS:
            self.__dict__.setdefault(name, OrderedDict())
        self._patch_step_function()

    def _patch_step_function(self) -> None:
        step = self.__class__.step
        if not getattr(step, "hooked", None):
            self.__class__.step = self.profile_hook_step(step)
            self.__class__.step.hooked = True

    @staticmethod
    def profile_hook_step(func):
        """Wrap ``func`` (a ``step``) with the global and per-optimizer step hooks."""

        @functools.wraps(func)
        def hooked_step(*args, **kwargs):
            optimizer = args[0]
            before = chain(
                _global_optimizer_pre_hooks.values(), optimizer._optimizer_step_pre_hooks.values()
            )
            for hook in before:
                replaced = hook(optimizer, args, kwargs)
                if replaced is None:
                    continue
                if not (isinstance(replaced, tuple) and len(replaced) == 2):
                    raise RuntimeError(
                        f"{func} must return None or a tuple of (new_args, new_kwargs), "
                        f"but got {replaced}."
                    )
                args, kwargs = replaced
            result = func(*args, **kwargs)
            optimizer._optimizer_step_code()
            after = chain(
                optimizer._optimizer_step_post_hooks.values(), _global_optimizer_post_hooks.values()
            )
            for hook in after:
                hook(optimizer, args, kwargs)
            return result

        return hooked_step

    def _optimizer_step_code(self) -> None:
        """An entry point for profilers, as PyTorch has it; does nothing."""

    def _cuda_graph_capture_health_check(self) -> None:
        """PyTorch checks CUDA graph capture here; there is no CUDA, so nothing to check."""
        import warnings

        warnings.warn(
            "Use _accelerator_graph_capture_health_check instead", DeprecationWarning, stacklevel=2
        )

    def _accelerator_graph_capture_health_check(self) -> None:
        """PyTorch checks accelerator graph capture here; on the CPU there is nothing to check."""

    def register_step_pre_hook(self, hook):
        """Register ``hook(optimizer, args, kwargs)`` to run before each ``step()``."""
        return _register(self._optimizer_step_pre_hooks, hook, False)

    def register_step_post_hook(self, hook):
        """Register ``hook(optimizer, args, kwargs)`` to run after each ``step()``."""
        return _register(self._optimizer_step_post_hooks, hook, False)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False):
        """Register ``hook(optimizer)`` to run before ``state_dict()`` builds its result."""
        return _register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False):
        """Register ``hook(optimizer, state_dict)``; a returned dict replaces the result."""
        return _register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False):
        """Register ``hook(optimizer, state_dict)``; a returned dict is loaded instead."""
        return _register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False):
        """Register ``hook(optimizer)`` to run after ``load_state_dict()``."""
        return _register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    @staticmethod
    def _group_tensors_by_device_and_dtype(tensorlistlist, with_indices: bool = False):
        """Group parallel tensor lists by the first list's device and dtype (PyTorch's layout:
        ``{(device, dtype): (lists, indices)}``, indices empty unless ``with_indices``)."""
        from glassgrad._device import device

        count = len(tensorlistlist[0])
        if not all(len(tensors) in (count, 0) for tensors in tensorlistlist):
            raise RuntimeError(
                "Expected all tensor lists to hold the same number of tensors (or none), got "
                f"{[len(tensors) for tensors in tensorlistlist]}"
            )
        groups: dict = {}
        for index, tensor in enumerate(tensorlistlist[0]):
            key = (device("cpu"), tensor.dtype)
            lists, indices = groups.setdefault(key, ([[] for _ in tensorlistlist], []))
            for grouped, tensors in zip(lists, tensorlistlist, strict=True):
                if tensors:
                    grouped.append(tensors[index])
            if with_indices:
                indices.append(index)
        return groups


_HOOK_DICTS = (
    "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks",
    "_optimizer_state_dict_pre_hooks",
    "_optimizer_state_dict_post_hooks",
    "_optimizer_load_state_dict_pre_hooks",
    "_optimizer_load_state_dict_post_hooks",
)


def _use_grad_for_differentiable(func):
    """Run an optimizer method with grad enabled exactly when ``differentiable`` is set."""
    from glassgrad.autograd.grad_mode import is_grad_enabled, set_grad_enabled

    @functools.wraps(func)
    def _use_grad(*args, **kwargs):
        self = args[0]
        previous = is_grad_enabled()
        try:
            set_grad_enabled(self.defaults["differentiable"])
            return func(*args, **kwargs)
        finally:
            set_grad_enabled(previous)

    return _use_grad


def _get_foreach_kernels_supported_devices() -> list[str]:
    """Device types with foreach kernels in PyTorch (the CPU runs the per-tensor loop)."""
    return ["cuda", "xpu", "mtia", "privateuseone"]


def _get_fused_kernels_supported_devices() -> list[str]:
    """Device types with fused optimizer kernels in PyTorch."""
    return ["mps", "cuda", "xpu", "hpu", "cpu", "mtia", "privateuseone"]


_get_capturable_supported_devices = capturable_devices


def _default_to_fused_or_foreach(params, differentiable: bool, use_fused: bool = False):
    """PyTorch's default implementation choice: on the CPU never foreach, fused if asked."""
    if differentiable:
        return False, False
    fused = use_fused and all(
        p is None or (isinstance(p, Tensor) and p.is_floating_point()) for p in params
    )
    foreach = not fused and all(p is None for p in params)
    return fused, foreach


def _device_dtype_check_for_fused(p: Tensor, cuda_unsupported: bool = False) -> None:
    """PyTorch's check that ``fused=True`` gets floating-point tensors on a supported device."""
    devices = _get_fused_kernels_supported_devices()
    if cuda_unsupported:
        devices.remove("cuda")
    if not p.is_floating_point():
        raise RuntimeError(
            "`fused=True` requires all the params to be floating point Tensors of "
            f"supported devices: {devices} but {p.dtype} and cpu"
        )


def _get_value(x):
    """A 0-d tensor's number (``item()``), anything else as it is."""
    return x.item() if isinstance(x, Tensor) else x


def _get_scalar_dtype(is_fused=None):
    """The dtype of ``state['step']``: float64 under a float64 default dtype, else float32."""
    from glassgrad import dtypes

    if is_fused:
        return dtypes.float32
    return dtypes.float64 if dtypes.get_default_dtype() == dtypes.float64 else dtypes.float32


def _stack_if_compiling(x):
    """``x`` unchanged (PyTorch stacks it only while compiling)."""
    return x


def _view_as_real(params, *state_and_grads) -> None:
    """Complex tensors as real views; glassgrad's tensors are real, so nothing changes."""


def _disable_dynamo_if_unsupported(single_tensor_fn=None):
    """A decorator PyTorch's functional optimizers carry for its compiler; here it returns the
    function unchanged."""

    def wrapper(func):
        return func

    return wrapper


def _to_scalar(x):
    """A 1-element hyper-parameter tensor squeezed to 0-d; anything else unchanged (PyTorch's)."""
    if isinstance(x, Tensor) and x.dim() != 0:
        return x.squeeze()
    return x
