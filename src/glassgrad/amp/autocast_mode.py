"""``torch.autocast`` on the CPU: the ops on PyTorch's lists run in bfloat16/float16 or float32.

``with torch.autocast('cpu', dtype=torch.bfloat16):`` (a context manager or a decorator, nested
and ``enabled=False`` as in PyTorch) turns on the policy of ``_policy``. Asking for CUDA gives
PyTorch's CPU-build warning and a disabled context.
"""

from __future__ import annotations

import functools
import warnings

from glassgrad import _device
from glassgrad import dtypes as _dt
from glassgrad.amp import _policy

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

_DEFAULT_DTYPE = {"cpu": None}  # None: bfloat16 (read late: it needs ml_dtypes)


def _cpu_default():
    return _DEFAULT_DTYPE["cpu"] or _dt.bfloat16


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can run on ``device_type`` here: the CPU only."""
    return device_type == "cpu"


class autocast:  # noqa: N801 - PyTorch's name
    """Run the ops on PyTorch's CPU autocast lists in lower precision (or float32)."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = _device._as_device(device_type).type  # a bad name raises PyTorch's error
        self.fast_dtype = _cpu_default() if dtype is None or self.device != "cpu" else dtype
        if self.device == "cpu" and dtype is not None:
            self.fast_dtype = dtype
        self._cache_enabled = cache_enabled
        if self.device == "cuda" and enabled:
            warnings.warn(
                "CUDA is not available or torch_xla is imported. Disabling autocast.",
                stacklevel=2,
            )
            enabled = False
        elif self.device == "cpu" and enabled is True:
            if self.fast_dtype not in (_dt.bfloat16, _dt.float16):
                warnings.warn(
                    "In CPU autocast, but the target dtype is not supported. Disabling "
                    "autocast.\nCPU Autocast only supports dtypes of torch.bfloat16, "
                    "torch.float16 currently.",
                    stacklevel=2,
                )
                enabled = False
        elif self.device != "cpu":
            enabled = False  # no such device here: nothing to change on the CPU
        if enabled is True and self.fast_dtype is _dt.bfloat16:
            _dt.bfloat16.np  # noqa: B018 - without ml_dtypes, the ImportError saying so
        self._enabled = enabled

    def __enter__(self):
        if not isinstance(self._enabled, bool):
            raise TypeError(
                "set_autocast_enabled(): argument 'enabled' (position 2) must be bool, not "
                f"{type(self._enabled).__name__}"
            )
        state = _policy.current()
        self._previous = list(state)
        if self.device == "cpu":
            if self._enabled:
                _policy.ensure()
            state[0], state[1] = self._enabled, self.fast_dtype
            _policy._ACTIVE[0] += int(self._enabled) - int(self._previous[0])
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> bool:
        if self.device == "cpu":
            state = _policy.current()
            _policy._ACTIVE[0] += int(self._previous[0]) - int(state[0])
            state[0], state[1] = self._previous
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self.__class__(
                self.device, dtype=self.fast_dtype, enabled=self._enabled,
                cache_enabled=self._cache_enabled,
            ):  # fmt: skip
                return func(*args, **kwargs)

        return decorated


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (no argument: CUDA's, never on here)."""
    if device_type is None or device_type != "cpu":
        return False
    return _policy.current()[0]


def get_autocast_dtype(device_type: str):
    """The dtype autocast lowers to on ``device_type`` (bfloat16 on the CPU by default)."""
    state = _policy.current()
    if device_type == "cpu":
        return state[1] if state[1] is not None else _cpu_default()
    return _dt.float16


def set_autocast_dtype(device_type: str, dtype) -> None:
    """Set the dtype autocast lowers to when none is given."""
    if device_type == "cpu":
        _DEFAULT_DTYPE["cpu"] = dtype


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorate a custom ``Function.forward``: with ``cast_inputs``, floating tensor arguments
    are cast to it and autocast is off inside, as in PyTorch."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        if cast_inputs is None or not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)
        args = [_cast(a, cast_inputs) for a in args]
        kwargs = {k: _cast(v, cast_inputs) for k, v in kwargs.items()}
        with autocast(device_type, enabled=False):
            return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate a custom ``Function.backward`` (runs under the forward's autocast state)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd


def _cast(value, dtype):
    from glassgrad.tensor import Tensor

    if isinstance(value, Tensor) and value.is_floating_point() and value.dtype is not _dt.float64:
        return value.to(dtype)
    return value
