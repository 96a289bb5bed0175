"""Provenance: the small record left where a gradient stops.

A record is taken only when a gradient actually stops (an input required grad, or itself carried
a record): a ``detach()``, an op run under ``no_grad``/``inference_mode``, a non-differentiable op
(``argmax``, comparisons, integer casts), a leaf switched to ``requires_grad=False``. It names the
mechanism and the user's source line, and holds the tensors and nodes it came from only through
weak references, so the memory that ``no_grad`` saves stays saved. A record made under
``no_grad`` links strongly to the records of its inputs (small objects, no arrays), so the chain
behind a no-grad result survives its temporaries.

The graph reaches a record through its edges: an input that does not require grad but carries a
record becomes a ``CutEdge``, a tuple equal to PyTorch's ``(None, 0)`` that also holds the record.
``glassgrad.glass`` reads these; nothing here is needed for gradients to be right.
"""

from __future__ import annotations

import os
import sys
import weakref

import numpy as np

from glassgrad.autograd import grad_mode as _gm
from glassgrad.autograd.node import next_seq
from glassgrad.backend import WRAPPER_CODES

__all__ = [
    "Record",
    "CutEdge",
    "enabled",
    "set_enabled",
    "describe",
    "cut_edge",
    "note_error",
    "count_as_user_code",
]

enabled = True
"""Whether records are taken (``glassgrad.glass.provenance(False)`` switches them off)."""

_state = _gm.state
_ref = weakref.ref
_getframe = sys._getframe
_WRAPPERS = WRAPPER_CODES  # the op's name is the function inside them
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# Layers' ``forward`` and ``Module.__call__`` name no op: the functional call inside them does.
_LAYERS = os.path.join(_PACKAGE, "nn", "modules") + os.sep
_user_files: set = set()  # files inside the package that play the user (count_as_user_code)
_internal: dict = {}  # code object -> whether it belongs to glassgrad (the frame walk's cache)


_gaps: list = []  # [first, last] node numbers of the last spans with records off (last: None = now)


def set_enabled(flag: bool) -> bool:
    """Switch record taking on or off; return the previous setting."""
    global enabled
    previous, enabled = enabled, bool(flag)
    if previous and not enabled:
        _gaps.append([next_seq(), None])
        del _gaps[:-16]
    elif enabled and not previous and _gaps:
        _gaps[-1][1] = next_seq()
    return previous


def off_between(first: int, last: int) -> bool:
    """Whether records were off while some node numbered ``first`` to ``last`` was made (then a
    missing record proves nothing)."""
    return any(start <= last and (end is None or end >= first) for start, end in _gaps)


def count_as_user_code(filename: str) -> None:
    """Report lines of ``filename`` (a module inside glassgrad that plays the user, such as an
    example) as the user's, instead of skipping them as glassgrad's own."""
    _user_files.add(os.path.abspath(filename))
    _internal.clear()


class Record:
    """Why a tensor carries no gradient path: the mechanism, where it happened, what it came from.

    Attributes:
        kind: ``"detach"`` (any way out of the graph that keeps a tensor: ``detach()``,
            ``.data``, ``detach_()``, a re-wrap by ``torch.tensor``), ``"no_grad"``,
            ``"inference_mode"``, ``"non_differentiable"``, ``"frozen"``
            (``requires_grad=False`` on a leaf) or ``"by_hand"`` (``requires_grad=True`` set on
            a tensor by hand).
        op: the function that made the tensor (``mul``, ``argmax``, ...); for ``detach`` the
            source's variable name where it was found (else ``"detach"``).
        mechanism: how the path stopped, as the user wrote it: ``"detach()"``, ``".data"``,
            ``"detach_()"``, ``"torch.tensor()"``, ``"no_grad()"``, ``"argmax"``...
        code, line: the user's code object and line number (outside glassgrad).
        tensor: weak reference to the tensor that carries this record.
        inputs: what the tensor came from, one link per input: a ``Record`` (strong), or a weak
            reference to a ``Node`` (a non-leaf that required grad) or to a leaf tensor.
    """

    __slots__ = (
        "kind",
        "op",
        "code",
        "line",
        "tensor",
        "inputs",
        "behind",
        "mechanism",
        "via",
        "__weakref__",
    )

    def __init__(self, kind, op, code, line, tensor, inputs=()) -> None:
        self.kind = kind
        self.op = op
        self.code = code
        self.line = line
        self.tensor = tensor
        self.inputs = inputs
        self.behind = ()
        self.mechanism = None
        self.via = None  # an earlier record this one continues (``.numpy()`` then re-wrapped)

    @property
    def how(self) -> str:
        """How the path stopped, as written: ``detach()``, ``.data``, ``no_grad()``, ``argmax``."""
        if self.mechanism:
            return self.mechanism
        kind = self.kind
        if kind in ("no_grad", "inference_mode"):
            return f"{kind}()"
        if kind == "detach":
            return "detach()"
        if kind in ("frozen", "by_hand"):
            return f"requires_grad={kind == 'by_hand'}"
        return self.op or kind

    @property
    def where(self) -> str:
        """``file.py:12``: the user's source line, or ``?`` when it is unknown."""
        if self.code is None:
            return "?"
        return f"{os.path.basename(self.code.co_filename)}:{self.line}"

    def __repr__(self) -> str:
        return f"<Record {self.kind} {self.op} at {self.where}>"


class CutEdge(tuple):
    """``(None, 0)`` as PyTorch shows it, carrying the record of the input whose path stopped."""

    record: Record

    def __new__(cls, record: Record):
        edge = tuple.__new__(cls, (None, 0))
        edge.record = record
        return edge

    def __repr__(self) -> str:
        return "(None, 0)"


def cut_edge(tensor):
    """The edge a recorded op gets for an input that does not require grad (``(None, 0)``)."""
    extra = tensor._extra
    if extra is not None and extra.prov is not None and enabled:
        return CutEdge(extra.prov)
    return (None, 0)


def _classify(code) -> bool:
    """Whether ``code`` is glassgrad's own (skipped when looking for the user's line)."""
    filename = code.co_filename
    inside = filename.startswith(_PACKAGE) and filename not in _user_files
    _internal[code] = inside
    return inside


def _user_frame(depth: int):
    """The first frame outside glassgrad, starting ``depth`` frames up; and the op's name."""
    frame = _getframe(depth)
    op = None
    while frame is not None:
        code = frame.f_code
        inside = _internal.get(code)
        if inside is None:
            inside = _classify(code)
        if not inside:
            return frame, op
        if code not in _WRAPPERS and not code.co_filename.startswith(_LAYERS):
            op = code.co_name
        frame = frame.f_back
    return None, op


def locate(node, out) -> None:
    """Note the user's source line on ``node`` (for the classes in ``node.LOCATED``), and for an
    activation whose every output has derivative 0 (a dead ReLU)
    that it is ``quiet``: backward frees the output, explain may ask after."""
    if not enabled:
        return
    name = type(node).__name__
    saturated = _SATURATED.get(name)
    if saturated is not None:  # sigmoid, tanh: the line only where three outputs are saturated
        if not (isinstance(out, _PLAIN) and out.size and out.dtype.kind == "f"):
            return
        flat = out.reshape(-1)
        if not (saturated(flat[0]) and saturated(flat[flat.size // 2]) and saturated(flat[-1])):
            return
    frame, _ = _user_frame(2)
    if frame is not None:
        node._where = (frame.f_code, frame.f_lineno)
    tests = _QUIET.get(name)
    # (plain arrays only: under vmap a batch's elements are no Python values)
    if tests is not None and isinstance(out, _PLAIN) and out.size and out.dtype.kind == "f":
        flat = out.reshape(-1)
        alive, quiet = tests
        # three elements, then about 256 spread over the output, and only then all of it: a
        # live layer, even a mostly saturated one (a deep tanh chain), is told apart cheaply
        size = flat.size
        if alive(flat[0]) or alive(flat[size // 2]) or alive(flat[-1]):
            return
        if size > 1024 and not quiet(flat[:: size // 256]):
            return
        if quiet(flat):
            node._quiet = out.shape[1] if out.ndim > 1 else 1


def locate_mask(node, out, constant) -> None:
    """``locate`` for a product with a tensor that does not require grad (``loss * mask``):
    the line, and whether that tensor is all zeros (explain may ask after backward freed it)."""
    locate(node, out)
    data = constant._data
    if enabled and isinstance(data, _PLAIN) and data.size and not data.any():
        node._quiet = data.size


_PLAIN = (np.ndarray, np.generic)
# activations whose output says where the derivative is zero: (one output has a nonzero
# derivative, every output has derivative zero)
_QUIET = {
    "ReluBackward0": (lambda v: v > 0, lambda a: not (a > 0).any()),
}
# (sigmoid and tanh are not checked: a deep tanh chain such as W3 is mostly saturated, so the
# samples rarely settle it and the check costs more than the op; after backward freed the graph
# their saturation is known only from glass.record_flows())
# Sigmoid and tanh note their line only when three sampled outputs sit where the derivative is
# exactly 0 (a saturated layer, or a mostly saturated one such as W3's deeper tanh): three
# element reads per op otherwise, and no pass over the output.
_SATURATED = {
    "SigmoidBackward0": lambda v: v == 0.0 or v == 1.0,
    "TanhBackward0": lambda v: v == 1.0 or v == -1.0,
}


def created_at(node) -> str | None:
    """``file.py:12``: where ``node`` was made, if it noted it (``LOCATED`` classes, or anomaly
    mode's traceback); None otherwise."""
    where = node._where
    if where is not None:
        return f"{os.path.basename(where[0].co_filename)}:{where[1]}"
    frame = getattr(node._seq, "frame", None)
    if frame is not None:
        return f"{os.path.basename(frame.filename)}:{frame.lineno}"
    return None


def _link(tensor):
    """What a record keeps of one input: its record, or a weak reference into the live graph."""
    extra = tensor._extra
    if extra is not None and extra.view_no_grad and extra.base is not None:
        tensor = extra.base  # a view taken under no_grad (``weight.t()``): link its base
    if tensor._requires_grad or tensor._grad_fn is not None:
        node = tensor._grad_fn
        return _ref(node) if node is not None else _ref(tensor)
    extra = tensor._extra
    return extra.prov if extra is not None else None


def _record(tensor, kind, op, inputs=()) -> Record:
    frame, name = _user_frame(3)
    if frame is None:
        record = Record(kind, op or name, None, 0, _ref(tensor), inputs)
    else:
        record = Record(kind, op or name, frame.f_code, frame.f_lineno, _ref(tensor), inputs)
    tensor._x().prov = record
    return record


def on_detach(source, out, mechanism: str = "detach()") -> Record:
    """Record that ``out`` was made by ``source.detach()`` (or ``.data``, ``detach_()``: the
    ``mechanism``); ``source`` requires grad."""
    record = _record(out, "detach", "detach", (_link(source),))
    record.mechanism = mechanism
    record.behind = _leaves_behind(source._grad_fn)
    if mechanism == ".data":
        # (weight init and hand-written optimizer steps use ``p.data`` on every parameter: the
        # name is looked up only if an explanation needs it)
        return record
    frame, _ = _user_frame(2)
    if frame is not None:
        # The variable name is looked up now: the user's frame may be gone when explaining.
        for key, value in frame.f_locals.items():
            if value is source:
                record.op = key
                break
    return record


def on_detach_(tensor, node) -> None:
    """Record ``tensor.detach_()``: a result cut from its graph (``node``), or a leaf frozen."""
    if node is None:
        _record(tensor, "frozen", "detach_", ()).mechanism = "detach_()"
        return
    record = _record(tensor, "detach", "detach", (_ref(node),))
    record.mechanism = "detach_()"
    record.behind = _leaves_behind(node)


_BEHIND_LIMIT = 10_000  # nodes walked per detach; beyond it explain may say "not used"


def _leaves_behind(node) -> tuple:
    """Weak references to the leaves behind ``node``: the graph itself may be freed before
    anyone asks what a ``detach()`` cut off (``model(x).detach()`` drops it at once)."""
    if node is None:
        return ()
    leaves, stack, seen = [], [node], set()
    while stack and len(seen) < _BEHIND_LIMIT:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.append(_ref(variable))
        stack += [edge[0] for edge in node.next_functions if edge[0] is not None]
    return tuple(leaves)


def on_requires_grad(tensor, flag: bool) -> None:
    """Record who switched ``requires_grad`` of a leaf, and where."""
    if not enabled:
        return
    extra = tensor._extra
    earlier = extra.prov if extra is not None else None
    # requires_grad=True on a result whose path had stopped (a loss computed under no_grad):
    # keep that record behind the new one, so explain can still say where the path stopped.
    inputs = (earlier,) if flag and isinstance(earlier, Record) else ()
    _record(tensor, "by_hand" if flag else "frozen", "requires_grad", inputs)


def on_not_recorded(result, inputs) -> None:
    """Record that ``result`` was computed without recording (no_grad, inference_mode, or a
    non-differentiable op such as a comparison), if one of its inputs had a gradient path."""
    # Hot under no_grad (every op of an eval loop on a model): one pass, no helper calls.
    links = []
    stopped = False
    for t in inputs:
        if t is None:
            continue
        node = t._grad_fn
        if node is not None:
            links.append(_ref(node))
            stopped = True
        elif t._requires_grad:
            extra = t._extra
            if extra is not None and extra.view_no_grad and extra.base is not None:
                t = extra.base  # a view taken under no_grad (``weight.t()``): link its base
            links.append(_ref(t))
            stopped = True
        else:
            extra = t._extra
            prov = None if extra is None else extra.prov
            links.append(prov)
            stopped = stopped or prov is not None
    if not stopped:
        return
    state = _state
    if state.inference:
        kind = "inference_mode"
    elif not state.grad_enabled:
        kind = "no_grad"
    else:
        kind = "non_differentiable"
    # Callers are ``_stopped`` <- ``result``/``results`` <- the op: start at the op.
    frame = _getframe(3)
    op = None
    internal = _internal
    while frame is not None:
        code = frame.f_code
        inside = internal.get(code)
        if inside is None:
            inside = _classify(code)
        if not inside:
            break
        if code not in _WRAPPERS and not code.co_filename.startswith(_LAYERS):
            op = code.co_name
        frame = frame.f_back
    if frame is None:
        record = Record(kind, op, None, 0, _ref(result), tuple(links))
    else:
        record = Record(kind, op, code, frame.f_lineno, _ref(result), tuple(links))
    if kind == "non_differentiable":
        if op is None or op.startswith(("<", "_")) or op in _GENERIC:
            record.op = _GENERIC.get(op) or f"cast to {result._data.dtype}"
        # ``model(x).argmax()``: the graph behind goes as soon as the temporary does; keep
        # which leaves it reached (as ``detach`` does), so explain can still name them
        record.behind = tuple(
            leaf
            for t in inputs
            if t is not None and t._grad_fn is not None
            for leaf in _leaves_behind(t._grad_fn)
        )
    result._x().prov = record


# internal function names that say less than what the user wrote
_GENERIC = {"compare": "comparison"}


def on_propagate(result, inputs):
    """An op on a tensor whose path had stopped: ``result`` inherits the cause, linked back."""
    for t in inputs:
        if t is not None and t._extra is not None and t._extra.prov is not None:
            cause = t._extra.prov
            break
    links = tuple([_link(t) for t in inputs if t is not None])
    record = Record(cause.kind, cause.op, cause.code, cause.line, _ref(result), links)
    record.mechanism = cause.mechanism
    if cause.kind == "detach":
        record.inputs = (cause,)
    result._x().prov = record
    return result


def describe(record: Record, name: str | None = None) -> str:
    """One clause saying how ``record``'s tensor lost its gradient path, with the source line."""
    subject = name or "the tensor"
    kind = record.kind
    if kind == "detach":
        source = _source_name(record) or "a tensor"
        return f"passes `{source}.detach()` at {record.where}"
    if kind == "no_grad":
        return f"computed inside `no_grad()` at {record.where} (by {record.op})"
    if kind == "inference_mode":
        return f"computed inside `inference_mode()` at {record.where} (by {record.op})"
    if kind == "non_differentiable":
        return f"reaches it only through {record.op} (not differentiable) at {record.where}"
    if kind == "frozen":
        return f"frozen: requires_grad=False (set at {record.where})"
    return f"{subject} had requires_grad=True set by hand at {record.where}"


def _source_name(record: Record) -> str | None:
    """The variable name of a detached tensor's source, found in the user's frames if alive."""
    if record.op != "detach":
        return record.op
    link = record.inputs[0] if record.inputs else None
    while isinstance(link, Record):  # an op on a detached tensor links to the detach's record
        if link.op != "detach":
            return link.op
        link = link.inputs[0] if link.inputs else None
    target = link() if isinstance(link, weakref.ReferenceType) else None
    if target is None:
        return None
    return _find_name(target)


def _find_name(target) -> str | None:
    frame, _ = _user_frame(2)
    while frame is not None:
        for key, value in frame.f_locals.items():
            if value is target or getattr(value, "_grad_fn", 0) is target:
                return key
        frame = frame.f_back
    return None


def note_error(exc: BaseException, tensor) -> BaseException:
    """Add glassgrad's explanation of why ``tensor`` has no gradient path as an exception note."""
    extra = tensor._extra
    record = extra.prov if extra is not None else None
    if record is None:
        if tensor._grad_fn is None and not tensor._requires_grad:
            exc.add_note(
                "glassgrad: this tensor depends on no tensor that requires grad (it is "
                "a leaf with requires_grad=False, or made only from such leaves)."
            )
        return exc
    exc.add_note(f"glassgrad: this tensor has no gradient path: {describe(record)}.")
    return exc
