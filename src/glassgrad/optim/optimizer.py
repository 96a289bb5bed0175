"""``Optimizer``: parameter groups, per-parameter state and PyTorch's state-dict format.

Updates are written straight into the parameters' arrays (no graph is recorded, parameters stay
leaves) and bump their version counters once per in-place op PyTorch's algorithm performs, so
code that checks ``_version`` sees what it would see with PyTorch.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad.autograd.grad_mode import enable_grad, no_grad
from glassgrad.optim._hooks import (  # noqa: F401 - PyTorch's torch.optim.optimizer names
    _HOOK_DICTS,
    Args,
    GlobalOptimizerPostHook,
    GlobalOptimizerPreHook,
    Kwargs,
    OptimizerHooks,
    ParamsT,
    StateDict,
    _default_to_fused_or_foreach,
    _device_dtype_check_for_fused,
    _disable_dynamo_if_unsupported,
    _foreach_supported_types,
    _get_capturable_supported_devices,
    _get_foreach_kernels_supported_devices,
    _get_fused_kernels_supported_devices,
    _get_scalar_dtype,
    _get_value,
    _global_optimizer_post_hooks,
    _global_optimizer_pre_hooks,
    _stack_if_compiling,
    _to_scalar,
    _use_grad_for_differentiable,
    _view_as_real,
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)
from glassgrad.tensor import Tensor, grad_tensor

__all__ = [
    "Optimizer",
    "register_optimizer_step_post_hook",
    "register_optimizer_step_pre_hook",
    "required",
]


class _RequiredParameter:
    """Singleton marking a hyper-parameter that every group must give."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _update_as_real(optimizer, group) -> None:
    """``optimizer._update_group(group)`` with its complex parameters, their gradients and
    state seen as pairs of reals, as PyTorch's optimizers do (``view_as_real``): an adaptive
    optimizer then scales the real and imaginary parts apart. The views share memory, so the
    updates land in the complex tensors; state made during the step is complex afterwards."""
    params = [p for p in group["params"] if p._data.dtype.kind == "c"]
    swapped = []

    def as_real(tensor):
        data = tensor._data
        if data.dtype.kind == "c":
            tensor._data = (
                np.ascontiguousarray(data).view(data.real.dtype).reshape(data.shape + (2,))
            )
            swapped.append((tensor, data))

    for param in params:
        grad = grad_tensor(param)
        for tensor in (param, grad, *optimizer.state.get(param, {}).values()):
            if isinstance(tensor, Tensor):
                as_real(tensor)
    try:
        optimizer._update_group(group)
    finally:
        for tensor, data in swapped:
            if tensor._data.base is not None and not np.shares_memory(tensor._data, data):
                data[...] = tensor._data.view(data.dtype)[..., 0]  # (a copy had to be made)
            tensor._data = data
        for param in params:
            for value in optimizer.state.get(param, {}).values():
                pairs = value._data if isinstance(value, Tensor) else None
                if pairs is not None and pairs.shape == param._data.shape + (2,):
                    value._data = np.ascontiguousarray(pairs).view(param._data.dtype)[..., 0]


def _write(tensor: Tensor, value) -> None:
    """Store ``value`` into ``tensor``'s array in place and count it as one in-place op."""
    np.copyto(tensor._data, value, casting="unsafe")
    if tensor._vc is not None:
        tensor._vc[0] += 1


def _lerp(start, end, weight):
    """``start.lerp(end, weight)`` with ATen's two-branch formula (exact at both ends)."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def _scalar_dtype():
    from glassgrad import dtypes

    return dtypes.float64 if dtypes.get_default_dtype() == dtypes.float64 else dtypes.float32


def _step_tensor(value: float = 0.0) -> Tensor:
    """The ``state['step']`` counter: a 0-d float tensor, as PyTorch keeps it."""
    from glassgrad.creation import tensor

    return tensor(float(value), dtype=_scalar_dtype())


def _typename(obj) -> str:
    kind = type(obj)
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", None) else f"{module}.{kind.__qualname__}"


class Optimizer(OptimizerHooks):
    """Base class for optimizers: ``param_groups``, ``defaults`` and per-parameter ``state``."""

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._init_hooks()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of "
                "Tensors or dicts, but got " + _tensor_typename(params)
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in _HOOK_DICTS:
            self.__dict__.setdefault(name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # -- parameter groups ----------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own hyper-parameters) to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs. "
                "Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        _split_names(param_group)
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + _typename(param)
                )
            if not self.defaults.get("differentiable", None) and not (
                param.is_leaf or param.retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required "
                    f"optimization parameter {name}"
                )
            param_group.setdefault(name, default)
        self._check_new_group(param_group)
        self.param_groups.append(param_group)

    def _check_new_group(self, param_group: dict[str, Any]) -> None:
        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in "
                "future, this will cause an error; see "
                "github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=4,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                text = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {text} to the optimizer"
                )
        if not seen.isdisjoint(id(p) for p in params):
            raise ValueError("some parameters appear in more than one parameter group")

    # -- gradients and steps -------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = grad_tensor(p)
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                _write(grad, 0)

    def step(self, closure=None):
        """Perform one optimization step; ``closure`` recomputes and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        self._refuse_sparse(group)
        if _dt.COMPLEX_SEEN[0] and any(p._data.dtype.kind == "c" for p in group["params"]):
            _update_as_real(self, group)
        else:
            self._update_group(group)

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- state dicts ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state: ``state`` keyed by integer parameter ids, and ``param_groups``."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        mapping: dict[int, int] = {}
        start = 0
        packed_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            packed_groups.append(packed)
        packed_state = {
            (mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        state_dict = {"state": packed_state, "param_groups": packed_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state produced by ``state_dict()`` (ours or PyTorch's layout)."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        pairs = zip(groups, saved_groups, strict=True)
        if any(len(g["params"]) != len(s["params"]) for g, s in pairs):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match "
                "the size of optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
                strict=True,
            )
        )
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                _check_shapes(param, value)
                state[param] = _cast(param, value)
            else:
                state[key] = value
        for group, new_group in zip(groups, saved_groups, strict=True):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})
        self._after_load()
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # Group keys (with their defaults) that older state dicts may lack, and the state's 0-d
    # tensors (``step``...) that they may hold as numbers: PyTorch's ``__setstate__`` restores
    # both after loading.
    _load_defaults: tuple[tuple[str, Any], ...] = ()
    _scalar_state: tuple[str, ...] = ()
    # PyTorch's refusal of a sparse gradient (None: the optimizer takes them).
    _sparse_error: str | None = None

    def _refuse_sparse(self, group: dict[str, Any]) -> None:
        if self._sparse_error is None:
            return
        for param in group["params"]:
            if has_sparse_grad(param):
                raise RuntimeError(self._sparse_error)

    def _after_load(self) -> None:
        for group in self.param_groups:
            for key, value in self._load_defaults:
                group.setdefault(key, value)
            _scalars_to_tensors(self.state, group, self._scalar_state)


def _scalars_to_tensors(state, group, keys) -> None:
    """State dicts from older code (or JSON) may hold ``step`` (and the like) as a number;
    PyTorch converts it."""
    for param in group["params"]:
        param_state = state.get(param, [])
        for key in keys:
            if len(param_state) != 0 and not isinstance(param_state[key], Tensor):
                param_state[key] = _step_tensor(float(param_state[key]))


def _tensor_typename(tensor: Tensor) -> str:
    names = {
        "float32": "FloatTensor",
        "float64": "DoubleTensor",
        "float16": "HalfTensor",
        "int64": "LongTensor",
        "int32": "IntTensor",
        "int16": "ShortTensor",
        "int8": "CharTensor",
        "uint8": "ByteTensor",
        "bool": "BoolTensor",
    }
    return "torch." + names.get(tensor.dtype.name, "Tensor")


_PARAM_SHAPED = (
    "momentum_buffer",
    "exp_avg",
    "exp_avg_sq",
    "max_exp_avg_sq",
    "square_avg",
    "grad_avg",
    "sum",
)


def _check_shapes(param: Tensor, entry) -> None:
    """Refuse, before anything changes, state that cannot belong to ``param`` (a checkpoint of
    another model); PyTorch would accept it and fail at the next ``step()``."""
    if not isinstance(entry, dict):
        return
    for key in _PARAM_SHAPED:
        value = entry.get(key)
        if isinstance(value, Tensor) and value.shape != param.shape:
            raise ValueError(
                f"loaded state dict holds '{key}' of shape {list(value.shape)} for a parameter "
                f"of shape {list(param.shape)}"
            )


def _split_names(param_group: dict[str, Any]) -> None:
    """Accept ``named_parameters()``-style ``(name, tensor)`` pairs as PyTorch does."""
    names, tensors = [], []
    for param in param_group["params"]:
        if isinstance(param, tuple):
            names.append(param[0])
            tensors.append(param[1])
        else:
            tensors.append(param)
    param_group["params"] = tensors
    if names:
        if len(names) != len(tensors):
            raise ValueError(
                "all optimizer params should be with/without names. Some param names are missing"
            )
        param_group["param_names"] = names


def _cast(param: Tensor, value, key=None):
    """PyTorch's load-time cast: float state follows the parameter's dtype; ``step`` is kept."""
    if isinstance(value, Tensor):
        if key == "step" or not param.is_floating_point() or value.dtype == param.dtype:
            return value
        return Tensor._from_array(value._data.astype(param._data.dtype))
    if isinstance(value, dict):
        return {k: _cast(param, v, key=k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value


def _with_grad(group: dict[str, Any]):
    """The parameters of ``group`` that have a gradient; PyTorch skips the others entirely."""
    return [p for p in group["params"] if p._grad is not None]


def _grad_of(param: Tensor, maximize: bool):
    grad = grad_tensor(param)._data
    return -grad if maximize else grad


def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def _zeros_like(param: Tensor) -> Tensor:
    """A fresh zero state buffer shaped and typed like ``param``."""
    return Tensor._from_array(np.zeros_like(param._data))


def _decay(grad, param: Tensor, weight_decay):
    """``grad`` with L2 weight decay added, as ``grad.add(param, alpha=weight_decay)``."""
    return grad + weight_decay * param._data if weight_decay != 0 else grad


def _check_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


def _check_nonnegative(*checks) -> None:
    """Raise PyTorch's ``"<message>: <value>"`` for the first negative ``(value, message)``."""
    for value, message in checks:
        if not 0.0 <= value:
            raise ValueError(f"{message}: {value}")


def has_sparse_grad(param) -> bool:
    """Whether ``param.grad`` is a sparse tensor (read without wrapping: an unread 0-d gradient
    is kept as a NumPy scalar, see ``tensor.grad_tensor``)."""
    return getattr(param._grad, "is_sparse", False) is True
