"""``torch.onnx``: importable, so scripts that import it at the top run; exporting is refused.

glassgrad records no graph that an ONNX exporter could translate, so ``export`` raises
``OnnxExporterError`` (PyTorch's exception for a failed export) saying ONNX export is not
supported, rather than writing a file that is not a faithful model.
"""

from __future__ import annotations

import enum

__all__ = [
    "export",
    "is_in_onnx_export",
    "OnnxExporterError",
    "TrainingMode",
    "OperatorExportTypes",
    "register_custom_op_symbolic",
    "unregister_custom_op_symbolic",
]

producer_name = "pytorch"


class OnnxExporterError(RuntimeError):
    """An ONNX export failed (``torch.onnx.OnnxExporterError``)."""


class TrainingMode(enum.IntEnum):
    """Which mode the exported model is in."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """How operators are exported."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def export(model, args=(), f=None, *unused, **kwargs):
    """Refused: glassgrad does not support ONNX export."""
    raise OnnxExporterError(
        "ONNX export is not supported by glassgrad: it records no graph an ONNX exporter could "
        "translate. Export the model with PyTorch (the weights load there with torch.load)."
    )


def is_in_onnx_export() -> bool:
    """False: no export ever runs."""
    return False


def register_custom_op_symbolic(symbolic_name, symbolic_fn, opset_version) -> None:
    """Register an ONNX translation for an op: kept for scripts that register one up front."""


def unregister_custom_op_symbolic(symbolic_name, opset_version) -> None:
    """Forget an ONNX translation for an op."""
