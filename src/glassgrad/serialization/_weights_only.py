"""PyTorch's ``weights_only`` unpickler: an opcode interpreter that builds tensors, containers
and primitive values only, and calls nothing but an allowlist (PyTorch's, plus what the user adds
with ``add_safe_globals``). Its checks and messages follow ``torch._weights_only_unpickler``
(PyTorch 2.13, BSD licence) so that users see PyTorch's errors word for word.
"""

from __future__ import annotations

import pickle
import struct
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from collections import Counter, OrderedDict
from pickle import UnpicklingError

_BLOCKED = ("sys", "os", "posix", "nt")  # never allowed, even when a user allowlists them
_user_globals: set = set()


def _add_safe_globals(safe_globals) -> None:
    global _user_globals
    _user_globals = _user_globals.union(set(safe_globals))


def _remove_safe_globals(safe_globals) -> None:
    global _user_globals
    _user_globals = _user_globals - set(safe_globals)


def get_safe_globals() -> list:
    """The globals added by ``add_safe_globals`` (and live ``safe_globals`` contexts)."""
    return list(_user_globals)


def clear_safe_globals() -> None:
    """Forgets every global added by ``add_safe_globals``."""
    global _user_globals
    _user_globals = set()


def add_safe_globals(safe_globals) -> None:
    """Allows ``weights_only`` loading to build these classes and call these functions.

    Args:
        safe_globals: callables, or ``(callable, "module.qualified_name")`` pairs.
    """
    _add_safe_globals(safe_globals)


class safe_globals:  # noqa: N801 - PyTorch's name
    """Context manager: ``add_safe_globals`` for the duration of a ``with`` block."""

    def __init__(self, safe_globals) -> None:
        self.safe_globals = safe_globals

    def __enter__(self):
        _add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type, exc, tb):
        _remove_safe_globals(self.safe_globals)


def _user_allowed() -> dict:
    allowed = {}
    for entry in _user_globals:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError(
                    "Expected tuple of length 2 (global, str of callable full path), "
                    f"but got tuple of length: {len(entry)}"
                )
            if type(entry[1]) is not str:
                raise TypeError(
                    "Expected second item in tuple to be str of callable full path, "
                    f"but got: {type(entry[1])}"
                )
            allowed[entry[1]] = entry[0]
        else:
            name = f"{entry.__module__}.{entry.__qualname__}"
            allowed[name] = entry
            if name.startswith("glassgrad."):  # a file PyTorch wrote names it torch.<...>
                allowed["torch." + name[len("glassgrad.") :]] = entry
    return allowed


class Missing:
    """A name PyTorch's allowlist has and glassgrad lacks (a dtype): refused with that reason."""


def _builtin_display(path: str) -> str:
    if path.startswith("builtins"):
        rest = path[len("builtins") :]
        return rest[1:] if rest.startswith(".") else "builtins" + rest
    return path


class Unpickler:
    """Reads one pickle, allowing only what PyTorch's weights-only unpickler allows."""

    def __init__(self, file, allowed: dict, persistent_load, encoding: str = "utf-8") -> None:
        self.read, self.readline = file.read, file.readline
        self.allowed, self.persistent_load = allowed, persistent_load
        self.encoding = encoding
        self.memo: dict = {}

    def _global(self):
        module = self.readline()[:-1].decode("utf-8")
        name = self.readline()[:-1].decode("utf-8")
        if (module, name) in NAME_MAPPING:  # protocol 2 names Python 2's modules
            module, name = NAME_MAPPING[(module, name)]
        elif module in IMPORT_MAPPING:
            module = IMPORT_MAPPING[module]
        path = f"{module}.{name}"
        if module in _BLOCKED:
            raise UnpicklingError(
                f"Trying to load unsupported GLOBAL {path} whose module {module} is blocked."
            )
        if path in self.allowed:
            if isinstance(self.allowed[path], Missing):
                raise RuntimeError(
                    f"glassgrad.load: the checkpoint uses {path}, which glassgrad does not have"
                )
            return self.allowed[path]
        user = _user_allowed()
        if path in user:
            return user[path]
        shown = _builtin_display(path)
        raise UnpicklingError(
            f"Unsupported global: GLOBAL {shown} was not an allowed global by default. "
            f"Please use `torch.serialization.add_safe_globals([{shown}])` or the "
            f"`torch.serialization.safe_globals([{shown}])` context manager to allowlist this "
            "global if you trust this class/function."
        )

    def _known(self, value) -> bool:
        return any(value is v for v in self.allowed.values()) or any(
            value is v for v in _user_allowed().values()
        )

    def load(self):
        self.metastack: list = []
        self.stack: list = []
        while True:
            key = self.read(1)
            if not key:
                raise EOFError
            op = key[0]
            handler = _HANDLERS.get(op)
            if handler is None:
                raise UnpicklingError(f"Unsupported operand {op}")
            if handler is _stop:
                return self.stack.pop()
            handler(self)

    def pop_mark(self):
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def build(self, state, inst) -> None:
        from glassgrad.nn.parameter import Parameter
        from glassgrad.tensor import Tensor

        if type(inst) is Parameter or type(inst) is OrderedDict or self._known(type(inst)):
            if hasattr(inst, "__setstate__") and type(inst) is not OrderedDict:
                inst.__setstate__(state)
                return
            slotstate = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slotstate = state
            if state:
                inst.__dict__.update(state)
            for name, value in (slotstate or {}).items():
                setattr(inst, name, value)
            return
        if type(inst) is Tensor:
            raise UnpicklingError("glassgrad cannot rebuild a legacy Tensor by set_")
        raise UnpicklingError(
            "Can only build Tensor, Parameter, OrderedDict or types allowlisted "
            f"via `add_safe_globals`, but got {type(inst)}"
        )


def _reduce(u: Unpickler) -> None:
    args = u.stack.pop()
    func = u.stack[-1]
    if not u._known(func):
        message = f"Trying to call reduce for unrecognized function {func}"
        if hasattr(func, "__self__"):
            message += f" which belongs to {func.__self__}"
        raise UnpicklingError(message)
    u.stack[-1] = func(*args)


def _newobj(u: Unpickler) -> None:
    from glassgrad.nn.parameter import Parameter

    args = u.stack.pop()
    cls = u.stack.pop()
    if cls is Parameter:
        u.stack.append(Parameter(*args))
    elif u._known(cls):
        u.stack.append(cls.__new__(cls, *args))
    else:
        raise UnpicklingError(
            "Can only create new object for nn.Parameter or classes allowlisted "
            f"via `add_safe_globals` but got {cls}"
        )


def _build(u: Unpickler) -> None:
    state = u.stack.pop()
    u.build(state, u.stack[-1])


def _setitems_target(u: Unpickler, opcode: str) -> None:
    if type(u.stack[-1]) not in (dict, OrderedDict, Counter):
        raise UnpicklingError(
            f"Can only {opcode} for dict, collections.OrderedDict, "
            f"collections.Counter, but got {type(u.stack[-1])}"
        )


def _append(u: Unpickler) -> None:
    item = u.stack.pop()
    if type(u.stack[-1]) is not list:
        raise UnpicklingError(f"Can only append to lists, but got {type(u.stack[-1])}")
    u.stack[-1].append(item)


def _appends(u: Unpickler) -> None:
    items = u.pop_mark()
    if type(u.stack[-1]) is not list:
        raise UnpicklingError(f"Can only extend lists, but got {type(u.stack[-1])}")
    u.stack[-1].extend(items)


def _setitem(u: Unpickler) -> None:
    value, key = u.stack.pop(), u.stack.pop()
    _setitems_target(u, "SETITEM")
    u.stack[-1][key] = value


def _setitems(u: Unpickler) -> None:
    items = u.pop_mark()
    _setitems_target(u, "SETITEMS")
    for i in range(0, len(items), 2):
        u.stack[-1][items[i]] = items[i + 1]


def _mark(u: Unpickler) -> None:
    u.metastack.append(u.stack)
    u.stack = []


def _binpersid(u: Unpickler) -> None:
    pid = u.stack.pop()
    if type(pid) is not tuple and type(pid) is not int:
        raise UnpicklingError(f"persistent_load id must be tuple or int, but got {type(pid)}")
    if type(pid) is tuple and len(pid) > 0 and _ascii(pid[0]) != "storage":
        raise UnpicklingError(f"Only persistent_load of storage is allowed, but got {type(pid[0])}")
    u.stack.append(u.persistent_load(pid))


def _ascii(value):
    return value.decode("ascii") if isinstance(value, bytes) else value


def _binunicode(u: Unpickler) -> None:
    (size,) = struct.unpack("<I", u.read(4))
    u.stack.append(str(u.read(size), "utf-8", "surrogatepass"))


def _short_binstring(u: Unpickler) -> None:
    data = u.read(u.read(1)[0])
    u.stack.append(data if u.encoding == "bytes" else data.decode(u.encoding, "strict"))


def _get(size: int):
    def handler(u: Unpickler) -> None:
        index = u.read(1)[0] if size == 1 else struct.unpack("<I", u.read(4))[0]
        u.stack.append(u.memo[index])

    return handler


def _put(size: int):
    def handler(u: Unpickler) -> None:
        index = u.read(1)[0] if size == 1 else struct.unpack("<I", u.read(4))[0]
        u.memo[index] = u.stack[-1]

    return handler


def _proto(u: Unpickler) -> None:
    proto = u.read(1)[0]
    if proto != 2:
        import warnings

        warnings.warn(
            f"Detected pickle protocol {proto} in the checkpoint, which was not the default "
            "pickle protocol used by `torch.load` (2). The weights_only Unpickler might not "
            "support all instructions implemented by this protocol, please file an issue for "
            "adding support if you encounter this.",
            stacklevel=2,
        )


def _stop(u: Unpickler) -> None:  # (handled in ``load``)
    pass


def _push(make):
    return lambda u: u.stack.append(make(u))


def _tuple_mark(u: Unpickler) -> None:
    items = u.pop_mark()  # (before naming ``u.stack``: popping the mark replaces it)
    u.stack.append(tuple(items))


def _tuple(n: int):
    def handler(u: Unpickler) -> None:
        u.stack[-n:] = [tuple(u.stack[-n:])]

    return handler


_HANDLERS = {
    pickle.GLOBAL[0]: lambda u: u.stack.append(u._global()),
    pickle.NEWOBJ[0]: _newobj,
    pickle.REDUCE[0]: _reduce,
    pickle.BUILD[0]: _build,
    pickle.APPEND[0]: _append,
    pickle.APPENDS[0]: _appends,
    pickle.SETITEM[0]: _setitem,
    pickle.SETITEMS[0]: _setitems,
    pickle.MARK[0]: _mark,
    pickle.TUPLE[0]: _tuple_mark,
    pickle.TUPLE1[0]: _tuple(1),
    pickle.TUPLE2[0]: _tuple(2),
    pickle.TUPLE3[0]: _tuple(3),
    pickle.NONE[0]: _push(lambda u: None),
    pickle.NEWFALSE[0]: _push(lambda u: False),
    pickle.NEWTRUE[0]: _push(lambda u: True),
    pickle.EMPTY_TUPLE[0]: _push(lambda u: ()),
    pickle.EMPTY_LIST[0]: _push(lambda u: []),
    pickle.EMPTY_DICT[0]: _push(lambda u: {}),
    pickle.EMPTY_SET[0]: _push(lambda u: set()),
    pickle.BININT[0]: _push(lambda u: struct.unpack("<i", u.read(4))[0]),
    pickle.BININT1[0]: _push(lambda u: u.read(1)[0]),
    pickle.BININT2[0]: _push(lambda u: struct.unpack("<H", u.read(2))[0]),
    pickle.BINFLOAT[0]: _push(lambda u: struct.unpack(">d", u.read(8))[0]),
    pickle.BINUNICODE[0]: _binunicode,
    pickle.SHORT_BINSTRING[0]: _short_binstring,
    pickle.BINPERSID[0]: _binpersid,
    pickle.BINGET[0]: _get(1),
    pickle.LONG_BINGET[0]: _get(4),
    pickle.BINPUT[0]: _put(1),
    pickle.LONG_BINPUT[0]: _put(4),
    pickle.LONG1[0]: _push(lambda u: pickle.decode_long(u.read(u.read(1)[0]))),
    pickle.PROTO[0]: _proto,
    pickle.STOP[0]: _stop,
}
