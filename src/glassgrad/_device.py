"""``torch.device`` and what PyTorch's CPU-only build says when asked for any other device.

glassgrad computes on NumPy arrays in main memory, which is PyTorch's ``cpu`` device. Asking for
another device never quietly gives a CPU tensor: it raises what PyTorch's CPU build raises, by the
same exception type and text, so ``except`` clauses and ``is_available()`` checks written for
PyTorch take the same branch here.
"""

from __future__ import annotations

import warnings

__all__ = ["device", "set_default_device", "get_default_device"]

# c10's DeviceType order: the index feeds the hash, as PyTorch's does.
_TYPES = {
    "cpu": 0, "cuda": 1, "mkldnn": 2, "opengl": 3, "opencl": 4, "ideep": 5, "hip": 6,
    "fpga": 7, "maia": 8, "xla": 9, "vulkan": 10, "metal": 11, "xpu": 12, "mps": 13,
    "meta": 14, "hpu": 15, "ve": 16, "lazy": 17, "ipu": 18, "mtia": 19, "privateuseone": 20,
}  # fmt: skip
_EXPECTED = (
    "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, "
    "xla, lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type at start of device "
    "string: "
)
_UNSET = object()
_WARNED: list = []
_NO_ACCELERATOR = "Cannot access accelerator device when none is available."
_OVERLOADS = " * (torch.device device)\n * (str type, int index = -1)\n"


def _wrap_index(index: int) -> int | None:
    """c10 keeps the index in 8 bits (``cuda:200`` is index 65480 there); -1 means none."""
    small = ((index + 128) % 256) - 128
    if small == -1:
        return None
    return small if small >= 0 else small + 65536


def _parse(text: str):
    """c10's device-string parser: ``type`` or ``type:index``, digits without a leading zero."""
    if not text:
        raise RuntimeError("Device string must not be empty")
    name, sep, digits = text.partition(":")
    bad = (
        not name
        or not all(ch.isascii() and (ch.isalpha() or ch == "_") for ch in name)
        or (sep and not (digits.isascii() and digits.isdigit()))
        or (len(digits) > 1 and digits[0] == "0")
    )
    if bad:
        raise RuntimeError(f"Invalid device string: '{text}'")
    index = None
    if digits:
        if int(digits) > 2**31 - 1:
            raise RuntimeError(f"Could not parse device index '{digits}' in device string '{text}'")
        index = _wrap_index(int(digits))
    if name not in _TYPES or name == "metal":
        raise RuntimeError(_EXPECTED + name)
    if name == "mkldnn" and not _WARNED:
        _WARNED.append(name)  # PyTorch warns once per process
        warnings.warn(
            "'mkldnn' is no longer used as device type. So torch.device('mkldnn') will be "
            "deprecated and removed in the future. Please use other valid device types instead.",
            UserWarning,
            stacklevel=4,
        )
    return name, index


def _type_name(value) -> str:
    return "torch.device" if isinstance(value, device) else type(value).__name__


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor lives: ``device('cpu')``, ``device('cuda', 0)``, ``device('cuda:1')``.

    Every device PyTorch names can be described; only ``cpu`` holds tensors here.
    """

    __slots__ = ("type", "index")
    __module__ = "glassgrad"

    def __init__(self, type=_UNSET, index=_UNSET, **extra):  # noqa: A002 - PyTorch's names
        if extra or type is _UNSET:
            given = ([_type_name(type)] if type is not _UNSET else []) + [
                f"{key}={_type_name(value)}" for key, value in extra.items()
            ]
            raise TypeError(
                "device() received an invalid combination of arguments - got "
                f"({', '.join(given)}{', ' if extra else ''}), but expected one of:\n" + _OVERLOADS
            )
        if isinstance(type, device) and index is _UNSET:
            name, number = type.type, type.index
        elif isinstance(type, bool) or not isinstance(type, (str, bytes, int, device)):
            raise TypeError(
                "device() received an invalid combination of arguments - got "
                f"({_type_name(type)}), but expected one of:\n * (torch.device device)\n"
                f"      didn't match because some of the arguments have invalid types: "
                f"(!{_type_name(type)}!)\n * (str type, int index = -1)\n"
            )
        elif isinstance(type, int):
            raise RuntimeError("Device index must not be negative" if type < 0 else _NO_ACCELERATOR)
        elif isinstance(type, device):
            raise TypeError("device(): argument 'type' (position 1) must be str, not torch.device")
        else:
            name, number = _parse(type.decode() if isinstance(type, bytes) else type)
            if index is not _UNSET:
                number = self._explicit_index(name, number, index, type)
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", number)

    @staticmethod
    def _explicit_index(name, number, index, text):
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise TypeError(
                f"device(): argument 'index' (position 2) must be int, not {type(index).__name__}"
            )
        if number is not None:
            raise RuntimeError(
                "type (string) must not include an index because index was passed explicitly: "
                f"{text}"
            )
        if index is None:
            return None
        if index < 0:
            raise RuntimeError("Device index must not be negative")
        return _wrap_index(index)

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'torch.device' objects is not writable")

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if not isinstance(other, device):
            return False  # PyTorch: device('cpu') == 'cpu' is False
        return self.type == other.type and self.index == other.index

    def __ne__(self, other) -> bool:
        return not self == other

    def __lt__(self, other):
        raise TypeError("comparison not implemented")

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self) -> int:
        index = -1 if self.index is None else self.index
        return (_TYPES[self.type] << 16) | (index & 0xFF)

    def __reduce__(self):
        return (device, (self.type,) if self.index is None else (self.type, self.index))

    def __enter__(self):
        _EXITS.append(_DEFAULT[0])
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        _DEFAULT[0] = _EXITS.pop()

    def __init_subclass__(cls, **kwargs):
        raise TypeError("type 'torch.device' is not an acceptable base type")


_EXITS: list = []  # what ``with device(...)`` restores, innermost last
_DEFAULT: list = [None]  # the default device (None: cpu), set by ``set_default_device``
_STRING_CACHE: dict = {}

_MTIA = (
    "Torch not compiled with MTIA enabled. Ensure you have `import "
    "mtia.host_runtime.torch_mtia.dynamic_library` in your python src file and include "
    "`//mtia/host_runtime/torch_mtia:torch_mtia` as your target dependency!"
)
_CAFFE2 = (
    '0 INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/c10/core/TensorOptions.h":663, please '
    "report a bug to PyTorch. This is a grandfathered Caffe2 device type {}, it shouldn't ever "
    "convert to a DispatchKey.  File a bug describing what you were doing if you think this is "
    "in error."
)
_DISPATCH = {"ipu": "IPU", "hip": "HIP", "ve": "VE", "fpga": "FPGA", "maia": "MAIA", "xla": "XLA",
             "lazy": "Lazy", "vulkan": "Vulkan", "mps": "MPS"}  # fmt: skip
_NO_KERNEL = (
    "Could not run 'aten::empty.memory_format' with arguments from the '{}' backend. This could "
    "be because the operator doesn't exist for this backend, or was omitted during the "
    "selective/custom build process (if using custom build). If you are a Facebook employee "
    "using PyTorch on mobile, please visit https://fburl.com/ptmfixes for possible resolutions. "
    "'aten::empty.memory_format' is only available for these backends: [CPU, Meta, ...]."
)


def _meta_error() -> NotImplementedError:
    return NotImplementedError(
        "glassgrad has no 'meta' device: its tensors always hold data (NumPy arrays on the CPU)"
    )


def _shared_error(name: str) -> BaseException | None:
    """What both a factory and ``.to()`` raise for device type ``name`` on the CPU build."""
    if name == "cuda":
        return AssertionError("Torch not compiled with CUDA enabled")
    if name == "xpu":
        return AssertionError("Torch not compiled with XPU enabled")
    if name == "mtia":
        return AssertionError(_MTIA)
    if name in ("hpu", "privateuseone"):
        return ModuleNotFoundError(f"No module named 'torch.{name}'", name=f"torch.{name}")
    if name == "meta":
        return _meta_error()
    return None


def _as_device(value) -> device:
    if value.__class__ is device:
        return value
    if value.__class__ is str:
        found = _STRING_CACHE.get(value)
        if found is None:
            found = _STRING_CACHE[value] = device(value)
        return found
    return device(value)


def check_factory(value) -> None:
    """Raise PyTorch's error unless a factory's ``device=`` (or the default device) is the CPU."""
    if value is None:
        value = _DEFAULT[0]
        if value is None:
            return
    elif value == "cpu":
        return
    name = _as_device(value).type
    if name == "cpu":
        return
    error = _shared_error(name)
    if error is None:
        error = (
            RuntimeError(_CAFFE2.format(name))
            if name in ("mkldnn", "opengl", "opencl", "ideep")
            else NotImplementedError(_NO_KERNEL.format(_DISPATCH[name]))
        )
    raise error


def check_move(value) -> None:
    """Raise PyTorch's error unless ``.to(device)`` (tensor or module) targets the CPU."""
    if value is None or value == "cpu":
        return
    name = _as_device(value).type
    if name == "cpu":
        return
    error = _shared_error(name)
    if error is None:
        error = (
            NotImplementedError(_NO_KERNEL.format("Lazy"))
            if name == "lazy"
            else RuntimeError(f"PyTorch is not linked with support for {name} devices")
        )
    raise error


def check_cuda(value=None) -> None:
    """``tensor.cuda(device)``/``module.cuda(device)``: PyTorch's CPU build refuses each form."""
    if value is not None and not isinstance(value, (str, device)):
        raise RuntimeError(_NO_ACCELERATOR)
    if value is not None and _as_device(value).type != "cuda":
        raise RuntimeError("Invalid device, must be cuda device")
    raise AssertionError("Torch not compiled with CUDA enabled")


def set_default_device(device_) -> None:
    """The device factories use when given none (``None`` resets it to the CPU)."""
    if device_ is None:
        _DEFAULT[0] = None
        return
    resolved = _as_device(device_)
    _DEFAULT[0] = None if resolved.type == "cpu" and resolved.index is None else resolved


def get_default_device() -> device:
    """The device factories use when given none."""
    value = _DEFAULT[0]
    if value is None:
        return _as_device("cpu")
    if value.index is None and value.type != "cpu":
        check_move(value)  # PyTorch asks the backend for its current index here
    return value
