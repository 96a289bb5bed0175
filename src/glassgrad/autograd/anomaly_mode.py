"""Anomaly mode: ``detect_anomaly``, ``set_detect_anomaly``, ``is_anomaly_enabled``.

While it is on, every node records the traceback of the forward call that made it
(``node.metadata["traceback_"]``, as PyTorch), and backward runs each node through a check:
an error in a node's backward is preceded by PyTorch's warning "Error detected in XBackward0.
Traceback of forward call that caused the error: ...", gradients holding NaN raise PyTorch's
"Function 'XBackward0' returned nan values in its 0th output.", and glassgrad adds the user's
source line as a note. Off, it costs nothing: the traced creation counter is swapped in only
while the mode is on, and the engine's watched entry (``engine_entry``) only once it was used.
"""

from __future__ import annotations

import traceback
import warnings

import numpy as np

from glassgrad.autograd import node as _node

__all__ = ["detect_anomaly", "set_detect_anomaly"]

_state = _node.ANOMALY  # enabled, check_nan (process-wide, as PyTorch's AnomalyMode)
_plain_seq = _node.next_seq
# PyTorch's C++ warning carries its source position; kept so the text is PyTorch's word for word
_TRIGGERED = (
    " (Triggered internally at /__w/pytorch/pytorch/torch/csrc/autograd/"
    "python_anomaly_mode.cpp:{}.)"
)


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _state[0]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks gradients for NaN."""
    return _state[1]


class _Seq(int):
    """A node's creation number that also carries the forward traceback that made the node."""

    stack: list = ()
    frame = None  # the user's frame summary (file, line, function, source)


def _traced_seq():
    from glassgrad.autograd.provenance import _user_frame

    seq = _Seq(_plain_seq())
    frame, _ = _user_frame(2)
    if frame is not None:
        frames = traceback.extract_stack(frame)
        seq.stack = traceback.format_list(frames)
        seq.frame = frames[-1]
    return seq


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``torch.set_anomaly_enabled``)."""
    from glassgrad.autograd import engine_entry, saved_hooks

    _state[0], _state[1] = bool(enabled), bool(check_nan)
    saved_hooks.tracing[0] = _traced_seq if _state[0] else None
    saved_hooks.refresh()
    if _state[0] and _arm not in engine_entry.on_backward:
        engine_entry.on_backward.append(_arm)
        engine_entry.install()


class detect_anomaly:
    """Context manager that turns anomaly detection on (and warns that it is); PyTorch's is not a
    decorator, nor is this one."""

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:
    """Set anomaly detection on or off now; as a context manager, restore it on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


# -- backward ---------------------------------------------------------------------------------
def _arm(roots, capture=None) -> None:
    """Before a backward pass: make every node behind ``roots`` run through ``_CheckedApply``."""
    if not _state[0]:
        return
    stack, seen = list(roots), set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or node.__class__ is _node.AccumulateGrad:
            continue
        seen.add(id(node))
        inner = node.__dict__.get("apply")
        if not isinstance(inner, _CheckedApply):
            node.apply = _CheckedApply(node, inner)
            node._custom_apply = node._special = True  # the engines then call ``node.apply``
        stack += [edge[0] for edge in node.next_functions]


class _CheckedApply:
    """``node.apply`` under anomaly mode: warn with the forward traceback, check for NaN."""

    __slots__ = ("node", "inner")

    def __init__(self, node, inner) -> None:
        self.node, self.inner = node, inner

    def __call__(self, grad, create_graph):
        node = self.node
        try:
            if self.inner is not None:
                outputs = self.inner(grad, create_graph)
            else:
                outputs = type(node).apply(node, grad, create_graph)
            if _state[0] and _state[1]:
                _check_nan(node, outputs)
        except Exception as error:
            if _state[0]:
                _report(node, error)
            raise
        return outputs


def _check_nan(node, outputs) -> None:
    for index, value in enumerate(outputs if isinstance(outputs, (tuple, list)) else (outputs,)):
        if value is None:
            continue
        data = getattr(value, "_data", value)
        if np.isnan(data).any():
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {index}th output."
            )


def _report(node, error) -> None:
    name = node.name()
    stack = getattr(node._seq, "stack", ())
    if not stack:
        warnings.warn(
            f"Error detected in {name}. No forward pass information available. Enable detect "
            "anomaly during forward pass for more information." + _TRIGGERED.format(100),
            stacklevel=4,
        )
        return
    warnings.warn(
        f"Error detected in {name}. Traceback of forward call that caused the error:\n"
        + "".join(stack)
        + _TRIGGERED.format(122),
        stacklevel=4,
    )
    where = node._seq.frame
    error.add_note(
        f"glassgrad: {name} was recorded at {where.filename}:{where.lineno} in {where.name}: "
        f"{(where.line or '').strip()}"
    )
