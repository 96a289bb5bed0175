"""Escapes: values that leave the graph as Python numbers or arrays, and come back as new tensors.

``loss_a.item()``, ``float(h.mean())``, ``h.tolist()`` and ``h.detach().numpy()`` hand out values
that carry no gradient path; ``torch.tensor(array)``, ``torch.as_tensor`` and
``torch.from_numpy`` may bring them back as fresh leaves. PyTorch keeps no trace of either, so a
parameter behind such a value simply gets no gradient. Two small records make that explainable:

- an escape log of tensors that had a gradient path or had been detached from one, each naming
  the mechanism, the user's line and the leaves behind the value: the last ``PER_LINE`` escapes
  of each of the last ``LINES`` source lines (a logging ``loss.item()`` in a loop cannot push
  out the one escape that explains a missing gradient);
- a table of arrays handed out by ``.numpy()`` of a detached tensor, so that re-wrapping one of
  them gives the new tensor a ``detach`` record linked to the first, as ``detach()`` itself would.

Both hold weak references only. ``glassgrad.glass.explain`` reads them through ``escapes_before``.
"""

from __future__ import annotations

import collections
import sys
import weakref

from glassgrad.autograd import provenance as _prov
from glassgrad.autograd.node import next_seq

__all__ = [
    "on_value",
    "on_numpy",
    "on_rewrap",
    "on_backward",
    "escapes_before",
    "LINES",
    "PER_LINE",
]

LINES, PER_LINE = 256, 4
_log: collections.OrderedDict = collections.OrderedDict()  # (code, line) -> [(seq, Record)]
_arrays: dict = {}  # id(ndarray) -> (weak reference to it, the detach record of its tensor)
_ref = weakref.ref


def _detached(tensor, also: str = "detach"):
    """The ``detach`` record a tensor carries (``h.detach()``, ``h.data``...), else None; or a
    record of kind ``also`` (a comparison's, before ``int()``)."""
    extra = tensor._extra
    record = extra.prov if extra is not None else None
    return record if record is not None and record.kind in ("detach", also) else None


def _by_glassgrad(depth: int) -> bool:
    """Whether the code ``depth`` frames above the caller is glassgrad's own (glass reading a
    value is no escape the user made)."""
    code = sys._getframe(depth + 1).f_code
    inside = _prov._internal.get(code)
    return _prov._classify(code) if inside is None else inside


def on_value(tensor, mechanism: str, depth: int = 2) -> None:
    """``tensor.item()``/``.tolist()``/``float()``/``int()``: log it if a gradient path ended
    (``depth``: frames from here to the code that asked for the value)."""
    if not _prov.enabled or _by_glassgrad(depth):
        return
    for root in _roots:
        if root() is tensor:
            return  # a loss read after its backward (``total += loss.item()``): a log
    if tensor._requires_grad or tensor._grad_fn is not None:
        node = tensor._grad_fn
        if _last[0] is not None and _last[0]() is tensor:
            return  # the same tensor read twice in a row (``loss.item()`` then ``float(loss)``)
        record = _new(tensor, mechanism, (_ref(node) if node is not None else _ref(tensor),))
        record.behind = _prov._leaves_behind(node) if node is not None else (_ref(tensor),)
    else:
        earlier = _detached(tensor, "non_differentiable")
        if earlier is None:
            return
        record = _new(tensor, f"{earlier.how} then {mechanism}", earlier.inputs)
        record.behind, record.via = earlier.behind, earlier
    _append(record)


def on_backward(tensor) -> None:
    """``tensor.backward()``: values of it read before (``print(loss.item())``) were logs that
    fed nothing back, so they explain no missing gradient: forget them, and the values read
    after it too."""
    for record in list(_recent) if _recent else ():
        if record.tensor() is tensor:
            _recent.remove(record)
            entries = _log.get((record.code, record.line))
            if entries is not None:
                entries[:] = [entry for entry in entries if entry[1] is not record]
    _roots.append(_ref(tensor))
    _stamps.append(next_seq())


def on_numpy(tensor, array) -> None:
    """``detached.numpy()``: remember the array, so a re-wrap of it can be traced back."""
    earlier = _detached(tensor)
    if earlier is None or not _prov.enabled or _by_glassgrad(2):
        return
    key = id(array)
    try:  # (a 0-d result may be held as a NumPy scalar, which takes no weak reference)
        _arrays[key] = (_ref(array, lambda _, key=key: _arrays.pop(key, None)), earlier)
    except TypeError:
        pass
    record = _new(tensor, f"{earlier.how} then .numpy()", earlier.inputs)
    record.behind, record.via = earlier.behind, earlier
    _append(record)


def on_rewrap(source, out, mechanism: str) -> None:
    """``out = torch.tensor(source)`` (or ``as_tensor``, ``from_numpy``): if ``source`` came out
    of a graph (a tensor with a gradient path, or an array a detached tensor handed out), give
    ``out`` a ``detach`` record saying so."""
    if not _prov.enabled:
        return
    if hasattr(source, "_grad_fn"):  # a tensor: torch.tensor(h) copies it out of the graph
        if source._requires_grad or source._grad_fn is not None:
            record = _prov.on_detach(source, out, mechanism)
            return
        earlier = _detached(source)
    else:
        earlier = None
        for array in (source, getattr(source, "base", None)):
            entry = _arrays.get(id(array)) if array is not None else None
            if entry is not None and entry[0]() is array:
                earlier = entry[1]
                break
    if earlier is None:
        return
    record = _prov._record(out, "detach", earlier.op, earlier.inputs)
    record.mechanism = f"{earlier.how} then {mechanism}"
    record.behind, record.via = earlier.behind, earlier


_last: list = [None]  # weak reference to the tensor of the newest escape
_recent: collections.deque = collections.deque(maxlen=8)  # the newest escapes' records
_roots: collections.deque = collections.deque(maxlen=8)  # the newest backward roots (weak)
_stamps: collections.deque = collections.deque(maxlen=16)  # node numbers at those backwards


def _append(record) -> None:
    key = (record.code, record.line)
    entries = _log.get(key)
    if entries is None:
        entries = _log[key] = []
        if len(_log) > LINES:
            _log.popitem(last=False)
    else:
        _log.move_to_end(key)
    entries.append((next_seq(), record))
    del entries[:-PER_LINE]
    _last[0] = record.tensor
    _recent.append(record)


def _new(tensor, mechanism: str, inputs) -> _prov.Record:
    frame, _ = _prov._user_frame(3)
    code, line = (frame.f_code, frame.f_lineno) if frame is not None else (None, 0)
    record = _prov.Record("escape", mechanism, code, line, _ref(tensor), tuple(inputs))
    record.mechanism = mechanism
    return record


def escapes_before(seq: int | None) -> list:
    """The logged escapes (``Record``s, newest first) that happened before node number ``seq``
    was made and after the last ``backward()`` before it (all of them for ``None``): only those
    can have fed a value into that node (a training loop's earlier steps fed nothing in)."""
    found = [entry for entries in _log.values() for entry in entries]
    found.sort(key=lambda entry: -entry[0])
    if seq is None:
        return [record for _, record in found]
    since = max([stamp for stamp in _stamps if stamp < seq], default=-1)
    return [record for when, record in found if since < when < seq]
