"""Anomaly mode: ``detect_anomaly``, ``set_detect_anomaly``, ``is_anomaly_enabled``.

While it is on, every node records the traceback of the forward call that made it
(``node.metadata["traceback_"]``, as PyTorch), and backward runs each node through a check:
an error in a node's backward is preceded by PyTorch's warning "Error detected in XBackward0.
Traceback of forward call that caused the error: ...", gradients holding NaN raise PyTorch's
"Function 'XBackward0' returned nan values in its 0th output.", and glassgrad adds the user's
source line as a note. Off, it costs nothing: the traced creation counter and the engine's
checking entry points are swapped in only while the mode is on.
"""

from __future__ import annotations

import traceback
import warnings

import numpy as np

from glassgrad.autograd import node as _node

__all__ = ["detect_anomaly", "set_detect_anomaly"]

_state = [False, True]  # enabled, check_nan (process-wide, as PyTorch's AnomalyMode)
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


def _creation_sites():
    from glassgrad.autograd import accumulate, function
    from glassgrad.ops import registry

    return ((registry, "_next_seq"), (accumulate, "next_seq"), (function, "next_seq"))


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``torch.set_anomaly_enabled``)."""
    _state[0], _state[1] = bool(enabled), bool(check_nan)
    counter = _traced_seq if _state[0] else _plain_seq
    for module, name in _creation_sites():
        setattr(module, name, counter)
    if _state[0]:
        _install_engine_entry()


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
_entry: dict = {}


def _install_engine_entry() -> None:
    """Route backward through ``_arm`` (once; it passes straight through while the mode is off)."""
    from glassgrad.autograd import engine

    if getattr(engine.run_backward, "_anomaly", False):
        return
    plain_run, plain_one = engine.run_backward, engine.backward_one

    def run_backward(roots, *args, **kwargs):
        if _state[0]:
            _arm([root[0] for root in roots])
        return plain_run(roots, *args, **kwargs)

    def backward_one(node, output_nr, grad, retain_graph):
        if _state[0]:
            _arm([node])
        return plain_one(node, output_nr, grad, retain_graph)

    run_backward._anomaly = True
    engine.run_backward, engine.backward_one = run_backward, backward_one


def _arm(roots) -> None:
    """Make every node of the graph behind ``roots`` run through ``_checked_apply``."""
    stack, seen = list(roots), set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or node.__class__ is _node.AccumulateGrad:
            continue
        seen.add(id(node))
        if "apply" not in node.__dict__:
            node.apply = _CheckedApply(node)
            node._custom_apply = node._special = True  # the engines then call ``node.apply``
        stack += [edge[0] for edge in node.next_functions]


class _CheckedApply:
    """``node.apply`` under anomaly mode: warn with the forward traceback, check for NaN."""

    __slots__ = ("node",)

    def __init__(self, node) -> None:
        self.node = node

    def __call__(self, grad, create_graph):
        node = self.node
        try:
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
