"""What a module holds, saved and restored: ``state_dict``, ``load_state_dict``, dtype casts.

A mixin of ``Module``, kept apart so each file stays one screenful of one concern.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping
from contextvars import ContextVar

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.nn.parameter import is_lazy
from glassgrad.tensor import Tensor, grad_tensor, set_data

__all__ = ["StateMixin"]

# The copies ``load_state_dict`` has checked but not yet made. While it walks the modules, every
# ``_load_from_state_dict`` (subclasses override it, and call it directly) stages its copies here
# instead of making them, so that a checkpoint with any error leaves the whole module untouched.
_STAGED: ContextVar[list | None] = ContextVar("glassgrad_staged_state_copies", default=None)


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class StateMixin:
    """``state_dict``/``load_state_dict`` and parameter/buffer dtype conversion."""

    def to(self, *args, **kwargs) -> StateMixin:
        """Cast floating-point parameters and buffers to a dtype (and 4-d/5-d ones to a memory
        format); any device but the CPU raises PyTorch's CPU-build error, as there."""
        from glassgrad import _device
        from glassgrad.dtypes import dtype as _dtype
        from glassgrad.dtypes import to_dtype

        target, device = kwargs.get("dtype"), kwargs.get("device")
        fmt = kwargs.get("memory_format")
        for arg in args[:2]:
            if isinstance(arg, Tensor):
                target = arg.dtype
            elif isinstance(arg, (_dtype, type)):
                target = to_dtype(arg)
            elif isinstance(arg, (str, _device.device, int)) and not isinstance(arg, bool):
                device = _device._as_device(arg)  # a bad string raises even without tensors
        if target is not None and not (target.is_floating_point or target.is_complex):
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={target}"
            )
        if device is not None and any(True for _ in self._tensors()):
            _device.check_move(device)
        if target is None and fmt is None:
            return self

        def convert(t):
            keep = target if target is not None and t.is_floating_point() else None
            return t.to(keep, memory_format=fmt if t.ndim in (4, 5) else None)

        return self._apply(convert)

    def _tensors(self):
        for module in self.modules():
            yield from (t for t in module._parameters.values() if t is not None)
            yield from (t for t in module._buffers.values() if t is not None)

    def to_empty(self, *, device, recurse: bool = True) -> StateMixin:
        """Replace every parameter and buffer by an uninitialised one (zeros here) on
        ``device``: the CPU, or PyTorch's CPU-build error for another."""
        from glassgrad import _device
        from glassgrad.creation import empty_like

        if device is not None and any(True for _ in self._tensors()):
            _device.check_move(device)
        return self._apply(lambda t: empty_like(t))

    def cuda(self, device=None) -> StateMixin:
        """PyTorch's CPU build has no CUDA: its error (none for a module without tensors)."""
        from glassgrad import _device

        if any(True for _ in self._tensors()):
            _device.check_cuda(device)
        return self

    def _move(self, name: str) -> StateMixin:
        from glassgrad import _device

        if any(True for _ in self._tensors()):
            _device.check_move(name)
        return self

    def xpu(self, device=None) -> StateMixin:
        """PyTorch's CPU build has no XPU: its error (none for a module without tensors)."""
        return self._move("xpu")

    def ipu(self, device=None) -> StateMixin:
        """PyTorch's CPU build has no IPU: its error (none for a module without tensors)."""
        return self._move("ipu")

    def mtia(self, device=None) -> StateMixin:
        """PyTorch's CPU build has no MTIA: its error (none for a module without tensors)."""
        return self._move("mtia")

    def _apply(self, fn) -> StateMixin:
        for module in self.children():
            module._apply(fn)
        for param in self._parameters.values():
            if param is not None:
                set_data(param, fn(param)._data)
                grad = grad_tensor(param)
                if grad is not None:
                    grad._data = fn(grad)._data
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def float(self) -> StateMixin:
        """Cast floating-point parameters and buffers to float32."""
        from glassgrad import dtypes

        return self.to(dtypes.float32)

    def double(self) -> StateMixin:
        """Cast floating-point parameters and buffers to float64."""
        from glassgrad import dtypes

        return self.to(dtypes.float64)

    def half(self) -> StateMixin:
        """Cast floating-point parameters and buffers to float16."""
        from glassgrad import dtypes

        return self.to(dtypes.float16)

    def bfloat16(self) -> StateMixin:
        """Cast floating-point parameters and buffers to bfloat16."""
        from glassgrad import dtypes

        return self.to(dtypes.bfloat16)

    def cpu(self) -> StateMixin:
        """Nothing to move: the NumPy backend lives on the CPU."""
        return self

    def share_memory(self) -> StateMixin:
        """Move parameters, their gradients and buffers into shared memory
        (``Tensor.share_memory_``), for processes that train one model together."""
        return self._apply(lambda t: t.share_memory_())

    def type(self, dst_type) -> StateMixin:
        """Cast all parameters and buffers to ``dst_type``."""
        return self._apply(lambda t: t.type(dst_type))  # takes typed classes and their names

    # -- state dict ------------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()

    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer, by dotted name."""
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = {"version": self._version}
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars
                )
        return destination

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        persistent = {
            k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set
        }
        local_state = {
            k: v for k, v in [*self._parameters.items(), *persistent.items()] if v is not None
        }
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            copy = _checked_copy(param, value, key, error_msgs)
            if copy is not None and local_metadata.get("assign_to_params_buffers", False):
                _stage(functools.partial(_assign, self, name, param, value))
            elif copy is not None:
                _stage(copy)
        if strict:
            for key in state_dict:
                if key.startswith(prefix):
                    parts = key[len(prefix) :].split(".", 1)
                    if len(parts) > 1:
                        if parts[0] not in self._modules:
                            unexpected_keys.append(key)
                    elif parts[0] not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict``; report missing and unexpected keys.

        Every entry is checked (keys under ``strict``, shapes, dtype casts) before anything is
        copied: on any error the module is left exactly as it was. (PyTorch copies the entries
        that match before it raises; the error text is the same.)
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors, staged = [], [], [], []
        token = _STAGED.set(staged)
        try:
            self._check_state_dict(state_dict, assign, missing, unexpected, errors)
        finally:
            _STAGED.reset(token)
        if strict:
            if unexpected:
                keys = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
            if missing:
                keys = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
        if errors:
            raise RuntimeError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(
                    type(self).__name__, "\n\t".join(errors)
                )
            )
        with no_grad():
            for copy in staged:
                copy()
        return _IncompatibleKeys(missing, unexpected)

    def _check_state_dict(self, state_dict, assign, missing, unexpected, errors) -> None:
        """Walk the modules depth first, as PyTorch recurses, collecting errors and copies."""
        metadata = getattr(state_dict, "_metadata", None)
        stack = [(self, OrderedDict(state_dict), "")]
        while stack:
            module, local, prefix = stack.pop(0)
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(
                local, prefix, local_metadata, True, missing, unexpected, errors
            )
            children = []
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_state = {k: v for k, v in local.items() if k.startswith(child_prefix)}
                    children.append((child, child_state, child_prefix))
            stack[0:0] = children


def _stage(copy) -> None:
    """Defer ``copy`` while ``load_state_dict`` is checking; make it now when called directly."""
    staged = _STAGED.get()
    if staged is None:
        with no_grad():
            copy()
    else:
        staged.append(copy)


def _assign(module, name, param, value) -> None:
    """``assign=True``: the module takes the checkpoint's tensor itself, keeping requires_grad."""
    from glassgrad.nn.parameter import Parameter

    if isinstance(param, Parameter):
        if isinstance(value, Parameter):
            value.requires_grad_(param.requires_grad)
        else:
            value = Parameter(value, requires_grad=param.requires_grad)
    setattr(module, name, value)


def _checked_copy(param, value, key, error_msgs):
    """Check a state-dict entry against a parameter or buffer and cast it to the parameter's
    dtype now, so the copy itself cannot fail; return the copy to make, or record why not."""
    if not isinstance(value, Tensor):
        error_msgs.append(
            f'While copying the parameter named "{key}", expected torch.Tensor or '
            f"Tensor-like object from checkpoint but received {type(value)}"
        )
        return None
    if is_lazy(param):  # a lazy module's placeholder takes another placeholder: nothing to copy
        return lambda: None
    if param.ndim == 0 and value.ndim == 1 and value.shape[0] == 1:
        value = value[0]
    if value.shape != param.shape:
        error_msgs.append(
            f"size mismatch for {key}: copying a param with shape {value.shape} "
            f"from checkpoint, the shape in current model is {param.shape}."
        )
        return None
    try:
        data = _cast(value._data, param._data.dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        error_msgs.append(
            f'While copying the parameter named "{key}", whose dimensions in the model are '
            f"{param.size()} and whose dimensions in the checkpoint are {value.size()}, "
            f"an exception occurred : {exc.args}."
        )
        return None
    return lambda: param.copy_(Tensor._from_array(data))


def _cast(data, dtype):
    """A private copy of ``data`` in ``dtype``: later edits to the checkpoint cannot leak in."""
    if data.dtype.kind == "c" and dtype.kind != "c":
        warnings.warn("Casting complex values to real discards the imaginary part", stacklevel=5)
        data = data.real
    with warnings.catch_warnings():
        # nan/inf into an integer buffer: PyTorch casts silently, so NumPy's warning is noise here.
        warnings.simplefilter("ignore", RuntimeWarning)
        return data.astype(dtype, copy=True)
