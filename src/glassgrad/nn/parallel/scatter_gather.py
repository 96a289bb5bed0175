"""``nn.parallel.scatter`` and ``gather`` as PyTorch's CPU build has them: containers are walked
and objects that are not tensors are duplicated per device, while a tensor (which would be split
across GPUs) meets the CPU build's errors, word for word."""

from __future__ import annotations

from glassgrad import _device
from glassgrad.tensor import Tensor

__all__ = ["scatter", "gather"]


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def _scatter_tensor(target_gpus):
    for device in target_gpus:
        if isinstance(device, (str, _device.device)) and _device._as_device(device).type == "cpu":
            raise ValueError(f"Expected a non cpu device, but got: {_device._as_device(device)}")
    raise AttributeError("module 'torch._C' has no attribute '_scatter'")  # (no CUDA here)


def scatter(inputs, target_gpus, dim: int = 0):
    """Split the tensors of ``inputs`` across ``target_gpus``; duplicate everything else."""

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            return _scatter_tensor(list(target_gpus))
        if _is_namedtuple(obj):
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj), strict=False)]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj), strict=False))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj), strict=False)]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()), strict=False)]
        return [obj for _ in target_gpus]

    return scatter_map(inputs)


def gather(outputs, target_device, dim: int = 0):
    """Concatenate per-device ``outputs`` on ``target_device`` (CPU tensors: PyTorch's error)."""

    def gather_map(outputs):
        out = outputs[0]
        if isinstance(out, Tensor):
            raise AssertionError("Gather function not implemented for CPU tensors")
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outputs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outputs])) for k in out)
        if _is_namedtuple(out):
            return type(out)._make(map(gather_map, zip(*outputs, strict=False)))
        return type(out)(map(gather_map, zip(*outputs, strict=False)))

    return gather_map(outputs)
