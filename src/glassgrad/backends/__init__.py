"""``torch.backends``: the flags of PyTorch's CPU build, read and set as there.

glassgrad computes with NumPy/SciPy on the CPU, so no flag here changes a result: cuDNN, MPS and
CUDA are absent (``is_available()`` is False), oneDNN/MKL/OpenMP report what PyTorch's CPU build
reports, and the flags keep what scripts set (``cudnn.benchmark = True``), checked as PyTorch
checks them.
"""

from __future__ import annotations

import contextlib
import sys
import types

from glassgrad import _config

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]


def _bool_setter(key: str, setter_name: str):
    def setter(self, value):
        if not isinstance(value, bool):
            raise RuntimeError(f"{setter_name} expects a bool, but got {type(value).__name__}")
        self._flags[key] = value

    return setter


def _flag(key: str, setter_name: str | None = None):
    getter = lambda self: self._flags[key]  # noqa: E731
    if setter_name is None:
        return property(getter, lambda self, value: self._flags.__setitem__(key, value))
    return property(getter, _bool_setter(key, setter_name))


def _submodule(name: str, cls: type, doc: str, **functions) -> types.ModuleType:
    module = cls(f"{__name__}.{name}", doc)
    for key, value in functions.items():
        if callable(value) and not isinstance(value, type):
            value.__module__ = module.__name__
        setattr(module, key, value)
    sys.modules[module.__name__] = module
    return module


def _flags_context(module, names):
    @contextlib.contextmanager
    def flags(**settings):
        """Set some of the flags for the ``with`` block, then restore them."""
        saved = {name: getattr(module, name) for name in names}
        try:
            for name, value in settings.items():
                if name in names and value is not None:
                    setattr(module, name, value)
            yield
        finally:
            for name, value in saved.items():
                setattr(module, name, value)

    return flags


# -- cudnn ----------------------------------------------------------------------------------------
class _CudnnModule(types.ModuleType):
    _flags = {"enabled": True, "benchmark": False, "deterministic": False, "allow_tf32": True}
    enabled = _flag("enabled", "set_enabled_cudnn")
    benchmark = _flag("benchmark", "set_benchmark_cudnn")
    deterministic = _flag("deterministic", "set_deterministic_cudnn")
    allow_tf32 = _flag("allow_tf32", "set_allow_tf32_cublas")
    benchmark_limit = 10
    fp32_precision = "none"


cudnn = _submodule(
    "cudnn",
    _CudnnModule,
    "cuDNN: absent from PyTorch's CPU build, and from glassgrad.",
    is_available=lambda: False,
    version=lambda: None,
    is_acceptable=lambda tensor: False,
)
cudnn.flags = _flags_context(cudnn, ("enabled", "benchmark", "deterministic", "allow_tf32"))


# -- cuda -----------------------------------------------------------------------------------------
class _MatmulModule(types.ModuleType):
    _flags = {"fp16": True, "bf16": True}

    @property
    def allow_tf32(self) -> bool:
        return _config.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value) -> None:
        if not isinstance(value, bool):
            raise RuntimeError(
                f"set_allow_tf32_cublas expects a bool, but got {type(value).__name__}"
            )
        _config.set_float32_matmul_precision("high" if value else "highest")

    @property
    def fp32_precision(self) -> str:
        if not _config._STATE["matmul_precision_set"]:
            return "none"
        return "ieee" if _config.get_float32_matmul_precision() == "highest" else "tf32"

    def _reduced(key: str, name: str):  # noqa: N805 - a property factory in the class body
        def setter(self, value):
            if not isinstance(value, (bool, tuple, list)):
                raise TypeError(
                    f"{name} expects a bool or a tuple/list of bools, but got {type(value)}"
                )
            self._flags[key] = value

        return property(lambda self: self._flags[key], setter)

    allow_fp16_reduced_precision_reduction = _reduced(
        "fp16", "allow_fp16_reduced_precision_reduction"
    )
    allow_bf16_reduced_precision_reduction = _reduced(
        "bf16", "allow_bf16_reduced_precision_reduction"
    )

    def __getattr__(self, name):
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if not hasattr(type(self), name) and not name.startswith("__"):
            raise AttributeError(f"Unknown attribute {name}")
        super().__setattr__(name, value)


_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_switch(kind: str):
    def enabled() -> bool:
        return _SDP[kind]

    def enable(enabled: bool) -> None:
        _SDP[kind] = enabled

    return enabled, enable


@contextlib.contextmanager
def _sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """Choose scaled-dot-product attention kernels (glassgrad has one, the math one)."""
    import warnings

    warnings.warn(
        "`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager "
        "will be removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context "
        "manager, with updated signature.",
        FutureWarning,
        stacklevel=3,
    )
    saved = dict(_SDP)
    _SDP.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient)
    _SDP["cudnn"] = enable_cudnn
    try:
        yield
    finally:
        _SDP.update(saved)


_switches = {}
for _kind in _SDP:
    _switches[f"{_kind}_sdp_enabled"], _switches[f"enable_{_kind}_sdp"] = _sdp_switch(_kind)

cuda = _submodule(
    "cuda",
    types.ModuleType,
    "CUDA: absent from PyTorch's CPU build, and from glassgrad; its flags are still there.",
    is_built=lambda: False,
    sdp_kernel=_sdp_kernel,
    **_switches,
)
cuda.matmul = _MatmulModule(f"{__name__}.cuda.matmul")


# -- mps, mkldnn, mkl, openmp, opt_einsum, cpu ----------------------------------------------------
mps = _submodule(
    "mps",
    types.ModuleType,
    "Apple's Metal: absent from PyTorch's CPU build, and from glassgrad.",
    is_available=lambda: False,
    is_built=lambda: False,
    is_macos13_or_newer=lambda minor=0: False,
)


class _MkldnnModule(types.ModuleType):
    _flags = {"enabled": True, "deterministic": False}
    enabled = _flag("enabled", "set_enabled_mkldnn")
    deterministic = _flag("deterministic", "set_deterministic_mkldnn")


mkldnn = _submodule(
    "mkldnn", _MkldnnModule, "oneDNN, as PyTorch's CPU build reports it.", is_available=lambda: True
)
mkldnn.flags = _flags_context(mkldnn, ("enabled", "deterministic"))
mkl = _submodule("mkl", types.ModuleType, "MKL, as PyTorch's CPU build reports it.",
                 is_available=lambda: True)  # fmt: skip
openmp = _submodule("openmp", types.ModuleType, "OpenMP, as PyTorch's CPU build reports it.",
                    is_available=lambda: True)  # fmt: skip


class _OptEinsumModule(types.ModuleType):
    _flags = {"enabled": False, "strategy": None}
    enabled = _flag("enabled")
    strategy = _flag("strategy")


opt_einsum = _submodule(
    "opt_einsum",
    _OptEinsumModule,
    "opt_einsum contraction ordering: not installed with PyTorch's CPU build here.",
    is_available=lambda: False,
    get_opt_einsum=lambda: None,
)
cpu = _submodule(
    "cpu",
    types.ModuleType,
    "The CPU backend.",
    get_cpu_capability=lambda: _cpu_capability(),
)


def _cpu_capability() -> str:
    """The widest vector instructions NumPy found on this CPU, in PyTorch's words."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if features.get("AVX512F"):
        return "AVX512"
    return "AVX2" if features.get("AVX2") else "DEFAULT"


def _attention_names() -> None:
    """``torch.backends.cuda.SDPBackend`` and friends are ``torch.nn.attention``'s."""
    from glassgrad.nn import attention

    for name in ("SDPBackend", "SDPAParams", "can_use_flash_attention",
                 "can_use_efficient_attention"):  # fmt: skip
        setattr(cuda, name, getattr(attention, name))
