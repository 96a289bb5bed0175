"""``torch.random``: seeding, the generator's state and ``fork_rng``.

The state tensors are PyTorch's: ``uint8`` tensors holding a ``CPUGeneratorImplState`` (the
seed, the Mersenne Twister's words, the cached normal draw), so a state taken in either library
restores the same stream in the other (see ``glassgrad._mt19937``).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Generator as _Iterator

from glassgrad._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = [
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
    "thread_safe_generator",
]

_fork_rng_warned_already = False


def _device_module(device_type: str):
    from glassgrad import cuda, mps, xpu
    from glassgrad._device import _as_device

    modules = {"cuda": cuda, "mps": mps, "xpu": xpu}
    if device_type not in modules:
        _as_device(device_type)  # PyTorch's error for a string that names no device type
    return modules.get(device_type)


def _device_state(device_mod, device_type: str, device):
    getter = getattr(device_mod, "get_rng_state", None)
    if getter is None:  # (the MPS and XPU modules of a CPU build have no generator)
        raise RuntimeError(
            f"Cannot execute getDefaultGenerator() without {device_type.upper()} backend."
        )
    return getter(device)


@contextlib.contextmanager
def fork_rng(
    devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type=None
) -> _Iterator:
    """Restore the generators' states on exit (the CPU's always; ``devices`` of
    ``device_type``, CUDA by default, which this CPU build has none of)."""
    global _fork_rng_warned_already
    if device_type == "meta":
        yield
        return
    device_type = device_type or "cuda"  # PyTorch's default where no accelerator is present
    device_mod = _device_module(device_type)
    if device_mod is None:
        raise RuntimeError(
            f"torch has no module of `{device_type}`, you should register "
            "a module by `torch._register_device_module`."
        )
    if not enabled:
        yield
        return
    if devices is None:
        count = device_mod.device_count()
        if count > 1 and not _fork_rng_warned_already:  # (never on a CPU build)
            warnings.warn(
                f"{device_type.upper()} reports that you have {count} available devices, and "
                f"you have used {_caller} without explicitly specifying which devices are being "
                f"used (set the '{_devices_kw}' keyword argument).",
                stacklevel=2,
            )
            _fork_rng_warned_already = True
        devices = list(range(count))
    else:
        devices = list(devices)  # (a generator would be used up by the first pass)
    cpu_state = get_rng_state()
    device_states = [_device_state(device_mod, device_type, device) for device in devices]
    try:
        yield
    finally:
        set_rng_state(cpu_state)
        for device, state in zip(devices, device_states, strict=True):
            device_mod.set_rng_state(state, device)


def thread_safe_generator() -> Generator | None:
    """The DataLoader thread worker's generator in such a worker, else None (the default)."""
    from glassgrad.utils import data

    # (no worker, no thread worker: glassgrad's DataLoader may not have them yet)
    get_worker_info = getattr(data, "get_worker_info", lambda: None)
    info = get_worker_info()
    if (
        info is not None
        and getattr(info, "worker_method", None) == "thread"
        and getattr(info, "rng", None) is not None
    ):
        return info.rng.torch_generator
    return None
