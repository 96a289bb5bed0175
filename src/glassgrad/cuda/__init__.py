"""``torch.cuda`` as PyTorch's CPU build has it: no device, and the same answers and errors.

Scripts written for GPUs ask ``torch.cuda.is_available()`` and take the CPU branch; they seed
(``manual_seed_all`` does nothing, as there), query memory (0, as there) and synchronise (an
``AssertionError``, as there). Each function below answers what PyTorch 2.13's CPU build answers,
with its exception type and text, so code that works there works here.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import OrderedDict

from glassgrad import _device

__all__ = [
    "is_available", "device_count", "manual_seed", "manual_seed_all", "seed", "seed_all",
    "initial_seed", "synchronize", "set_device", "current_device", "get_device_name",
    "get_device_capability", "get_device_properties", "memory_allocated", "max_memory_allocated",
    "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats", "empty_cache",
    "is_initialized", "is_bf16_supported", "OutOfMemoryError", "device", "device_of", "stream",
]  # fmt: skip

_NOT_COMPILED = "Torch not compiled with CUDA enabled"


class OutOfMemoryError(RuntimeError):
    """Raised when a device runs out of memory (``torch.OutOfMemoryError``)."""

    __module__ = "glassgrad"


class CudaError(RuntimeError):
    """A CUDA runtime error (never raised: there is no CUDA here)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"CUDA error {code}")


def _not_compiled(*args, **kwargs):
    raise AssertionError(_NOT_COMPILED)


def _missing_binding(name: str):
    """PyTorch's CPU build lacks the C binding these call, and says so with AttributeError."""

    def call(*args, **kwargs):
        raise AttributeError(f"module 'torch._C' has no attribute '{name}'")

    return call


def is_available() -> bool:
    """False: no CUDA device (PyTorch's CPU build says the same)."""
    return False


def is_initialized() -> bool:
    """False: CUDA is never initialised here."""
    return False


def device_count() -> int:
    """0 CUDA devices."""
    return 0


def _seed_value(seed) -> int:
    return int(seed)  # PyTorch converts first: 'a' raises int()'s ValueError


def manual_seed(seed) -> None:
    """Seed the current GPU's generator: there is none, so nothing happens (as on the CPU build)."""
    _seed_value(seed)


def manual_seed_all(seed) -> None:
    """Seed every GPU's generator: there are none, so nothing happens."""
    _seed_value(seed)


def seed() -> None:
    """Seed the current GPU from entropy: nothing to seed."""


def seed_all() -> None:
    """Seed every GPU from entropy: nothing to seed."""


def get_rng_state_all() -> list:
    """One state per GPU: none."""
    return []


def set_rng_state(new_state, device="cuda") -> None:
    """Set a GPU's generator state: there is none (the CPU build defers it, then drops it)."""


def set_rng_state_all(new_states) -> None:
    """Set every GPU's generator state: there are none."""


initial_seed = get_rng_state = synchronize = current_device = _not_compiled
get_device_name = get_device_capability = get_device_properties = _not_compiled
init = ipc_collect = mem_get_info = set_per_process_memory_fraction = _not_compiled
get_per_process_memory_fraction = current_stream = default_stream = _not_compiled
get_sync_debug_mode = set_sync_debug_mode = can_device_access_peer = _not_compiled
caching_allocator_alloc = current_blas_handle = _not_compiled


def set_device(device) -> None:
    """Select a GPU: PyTorch's CPU build fails the same way for any real index."""
    if isinstance(device, (str, _device.device)):
        resolved = _device._as_device(device)
        if resolved.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {resolved}")
        if resolved.index is None:
            raise ValueError(
                f"Expected a torch.device with a specified index or an integer, but got:{device}"
            )
        index = resolved.index
    else:
        index = int(device)
    if index >= 0:
        raise AttributeError("module 'torch._C' has no attribute '_cuda_setDevice'")


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by tensors: 0."""
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def memory_cached(device=None) -> int:
    """The old name of ``memory_reserved``: 0, with PyTorch's FutureWarning."""
    warnings.warn(
        "`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`",
        FutureWarning,
        stacklevel=2,
    )
    return 0


def max_memory_cached(device=None) -> int:
    """The old name of ``max_memory_reserved``: 0, with PyTorch's FutureWarning."""
    warnings.warn(
        "`torch.cuda.max_memory_cached` has been renamed to `torch.cuda.max_memory_reserved`",
        FutureWarning,
        stacklevel=2,
    )
    return 0


def memory_stats(device=None) -> OrderedDict:
    """The caching allocator's statistics: none."""
    return OrderedDict()


def memory_stats_as_nested_dict(device=None) -> dict:
    """The caching allocator's statistics, nested: none."""
    return {}


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A table of the allocator's statistics: the CPU build fails on the missing first key."""
    raise KeyError("allocated_bytes.all.current")


reset_peak_memory_stats = _missing_binding("_cuda_resetPeakMemoryStats")
reset_accumulated_memory_stats = _missing_binding("_cuda_resetAccumulatedMemoryStats")
memory_snapshot = _missing_binding("_cuda_memorySnapshot")
caching_allocator_delete = _missing_binding("_cuda_cudaCachingAllocator_raw_delete")
get_allocator_backend = _missing_binding("_cuda_getAllocatorBackend")


def _reset_max(old: str):
    def reset(device=None) -> None:
        warnings.warn(
            f"torch.cuda.{old} now calls torch.cuda.reset_peak_memory_stats, which resets /all/ "
            "peak memory stats.",
            FutureWarning,
            stacklevel=2,
        )
        reset_peak_memory_stats(device)

    reset.__name__ = old
    reset.__doc__ = "The old name of ``reset_peak_memory_stats`` (the same error here)."
    return reset


reset_max_memory_allocated = _reset_max("reset_max_memory_allocated")
reset_max_memory_cached = _reset_max("reset_max_memory_cached")


def empty_cache() -> None:
    """Release cached GPU memory: there is none."""


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: no CUDA device."""
    return False


def is_tf32_supported() -> bool:
    """False: no CUDA device."""
    return False


def get_arch_list() -> list:
    """The CUDA architectures compiled for: none."""
    return []


def get_gencode_flags() -> str:
    """The CUDA gencode flags compiled with: none."""
    return ""


def _nvml(*args, **kwargs):
    raise ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be imported.")


utilization = temperature = power_draw = clock_rate = memory_usage = device_memory_used = _nvml


def list_gpu_processes(device=None) -> str:
    """What NVML says about GPU processes: PyTorch's CPU build has no NVML either."""
    return "pynvml module not found, please install nvidia-ml-py"


def _is_compiled() -> bool:
    return False


has_half = True
has_magma = False
default_generators: tuple = ()


def set_stream(stream) -> None:
    """Make ``stream`` current: ``None`` does nothing, as in PyTorch."""
    if stream is not None:
        _not_compiled()


class device:  # noqa: N801 - PyTorch's name
    """``with torch.cuda.device(i):``: index -1 (or None) does nothing; any real index fails as
    on PyTorch's CPU build."""

    def __init__(self, device) -> None:
        if device is None:
            self.idx = None  # PyTorch compares it with 0 on entering, and fails
        elif isinstance(device, (str, _device.device)):
            resolved = _device._as_device(device)
            self.idx = -1 if resolved.index is None else resolved.index
        else:
            self.idx = int(device)

    def __enter__(self):
        if self.idx is None:
            raise TypeError("'<' not supported between instances of 'NoneType' and 'int'")
        if self.idx != -1:
            raise RuntimeError("PyTorch was compiled without CUDA support")

    def __exit__(self, *exc):
        return False


class device_of(device):  # noqa: N801 - PyTorch's name
    """``with torch.cuda.device_of(tensor):``: a CPU tensor selects no GPU."""

    def __init__(self, obj) -> None:
        super().__init__(-1)


class StreamContext:
    """``with torch.cuda.stream(s):``: ``None`` does nothing, as in PyTorch."""

    def __init__(self, stream) -> None:
        self.stream = stream
        if stream is not None:
            _not_compiled()

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def stream(stream) -> StreamContext:
    """A context that makes ``stream`` current (``None``: no change)."""
    return StreamContext(stream)


class Stream:
    """A CUDA stream: PyTorch's CPU build cannot create one."""

    def __new__(cls, *args, **kwargs):
        raise RuntimeError("torch.cuda.Stream requires CUDA support")


class Event:
    """A CUDA event: PyTorch's CPU build cannot create one."""

    def __new__(cls, *args, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class Event")


def _typed(name: str):
    class _Meta(type):
        def __call__(cls, *args, **kwargs):
            raise TypeError(f"type torch.cuda.{name} not available. {_NOT_COMPILED}.")

        def __instancecheck__(cls, obj) -> bool:
            return False

        def __repr__(cls) -> str:
            return f"<class 'torch.cuda.{name}'>"

    return _Meta(name, (), {"__module__": "glassgrad.cuda"})


for _name in ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte",
              "Bool"):  # fmt: skip
    globals()[f"{_name}Tensor"] = _typed(f"{_name}Tensor")


def _nvtx_absent(*args, **kwargs):
    raise RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build?")


@contextlib.contextmanager
def _nvtx_range(msg, *args, **kwargs):
    _nvtx_absent()  # PyTorch pushes the range on entering
    yield


class _Nvtx:
    """``torch.cuda.nvtx``: marks for NVIDIA's profiler, absent from PyTorch's CPU build."""

    _absent = staticmethod(_nvtx_absent)

    range_push = range_pop = mark = range_start = range_end = _absent
    range = staticmethod(_nvtx_range)


nvtx = _Nvtx()


from glassgrad.cuda import amp  # noqa: E402, F401 - torch.cuda.amp's deprecated names
