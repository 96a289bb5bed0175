"""Process-wide settings PyTorch scripts make at the top: threads, determinism, matmul precision.

``set_num_threads`` really sets the BLAS and OpenMP thread pools NumPy and SciPy compute with
(through threadpoolctl); the others are recorded and read back as PyTorch reads them.
"""

from __future__ import annotations

import os
import warnings

__all__ = [
    "set_num_threads",
    "get_num_threads",
    "set_num_interop_threads",
    "get_num_interop_threads",
    "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "set_deterministic_debug_mode",
    "get_deterministic_debug_mode",
    "set_float32_matmul_precision",
    "get_float32_matmul_precision",
]

_STATE = {
    "threads": None,  # None: whatever the pools have (asked from threadpoolctl)
    "interop": None,
    "deterministic": False,
    "warn_only": False,
    "matmul_precision": "highest",
    "matmul_precision_set": False,  # backends' fp32_precision reads 'none' until then
}


def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeError(f"{name} expects an int, but got {type(value).__name__}")
    if value <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return value


def set_num_threads(int) -> None:  # noqa: A002 - PyTorch's argument name
    """Set the threads the BLAS and OpenMP pools use for intra-op work."""
    count = _positive(int, "set_num_threads")
    _controller().limit(limits=count)
    _STATE["threads"] = count


def get_num_threads() -> int:
    """The threads used for intra-op work (the largest of the BLAS/OpenMP pools')."""
    if _STATE["threads"] is not None:
        return _STATE["threads"]
    pools = [info["num_threads"] for info in _controller().info()]
    return max(pools) if pools else os.cpu_count() or 1


def set_num_interop_threads(int) -> None:  # noqa: A002 - PyTorch's argument name
    """Set the threads for inter-op parallelism (glassgrad runs ops one after another)."""
    _STATE["interop"] = _positive(int, "set_num_interop_threads")


def get_num_interop_threads() -> int:
    """The threads for inter-op parallelism (PyTorch's default: the number of cores)."""
    return _STATE["interop"] or os.cpu_count() or 1


def use_deterministic_algorithms(mode, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms (every glassgrad op already is: NumPy on one device)."""
    if not isinstance(mode, bool):
        raise TypeError(
            "_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, "
            f"not {type(mode).__name__}"
        )
    _STATE["deterministic"], _STATE["warn_only"] = mode, bool(warn_only) and mode


def are_deterministic_algorithms_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(True)`` is in effect."""
    return _STATE["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether deterministic mode only warns."""
    return _STATE["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """0/"default", 1/"warn" or 2/"error": the same as ``use_deterministic_algorithms``."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, but "
                f"got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, int) or isinstance(debug_mode, bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn only) or 2 (error)."""
    if not _STATE["deterministic"]:
        return 0
    return 1 if _STATE["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """'highest', 'high' or 'medium' (NumPy computes float32 matmuls in full float32 always)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
            "setFloat32MatmulPrecision call has no effect.",
            UserWarning,
            stacklevel=2,
        )
        return
    _STATE["matmul_precision"] = precision
    _STATE["matmul_precision_set"] = True


def get_float32_matmul_precision() -> str:
    """The last precision set (PyTorch's default: 'highest')."""
    return _STATE["matmul_precision"]
