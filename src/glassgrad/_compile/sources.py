"""Where a compiled function's other tensors come from, so that guards can check them again.

A tensor the function reads that is not an argument (a parameter, a buffer, a tensor in a
closure or a global) is *lifted*: the compiled plan reads its current values at each call, and a
guard checks that the same path (``self.fc.weight``, the closure cell ``w``, the global ``W``)
still leads to the same tensor object, as PyTorch's identity guards do. A path is a tuple of
steps from a root: ``("cell", i)``, ``("global", name)``, ``("attr", name)``, ``("item", key)``.
"""

from __future__ import annotations

import types

from glassgrad.tensor import Tensor

_SCALARS = (int, float, bool, str, type(None))
_DEPTH = 4


def find_tensors(roots) -> dict:
    """``{id(tensor): (root_index, steps)}`` for every tensor reachable from ``roots``."""
    found: dict = {}
    seen: set = set()
    for index, root in enumerate(roots):
        _walk(root, (index,), found, seen, 0)
    return found


def _walk(obj, path, found, seen, depth) -> None:
    if isinstance(obj, Tensor):
        found.setdefault(id(obj), path)
        return
    if depth > _DEPTH or id(obj) in seen or isinstance(obj, _SCALARS):
        return
    seen.add(id(obj))
    if isinstance(obj, types.FunctionType):
        code = obj.__code__
        for i, cell in enumerate(obj.__closure__ or ()):
            try:
                content = cell.cell_contents
            except ValueError:
                continue
            _walk(content, path + (("cell", i),), found, seen, depth + 1)
        globals_ = obj.__globals__
        for name in _names(code):
            if name in globals_:
                _walk(globals_[name], path + (("global", name),), found, seen, depth + 1)
        return
    if isinstance(obj, types.MethodType):
        _walk(obj.__func__, path + (("attr", "__func__"),), found, seen, depth)
        _walk(obj.__self__, path + (("attr", "__self__"),), found, seen, depth + 1)
        return
    if isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            _walk(item, path + (("item", i),), found, seen, depth + 1)
        return
    if isinstance(obj, dict):
        for key, item in list(obj.items()):
            if isinstance(key, (str, int)):
                _walk(item, path + (("item", key),), found, seen, depth + 1)
        return
    from glassgrad.nn import Module

    if isinstance(obj, Module):
        for name, item in vars(obj).items():
            _walk(item, path + (("attr", name),), found, seen, depth + 1)
        forward = type(obj).forward
        if isinstance(forward, types.FunctionType):
            _walk(forward, path + (("class_forward",),), found, seen, depth + 1)


def _names(code) -> list:
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.extend(_names(const))
    return names


def resolve(roots, path):
    """Follow ``path`` from ``roots`` again (a guard); raises on a path that no longer exists."""
    obj = roots[path[0]]
    for step in path[1:]:
        kind = step[0]
        if kind == "cell":
            obj = obj.__closure__[step[1]].cell_contents
        elif kind == "global":
            obj = obj.__globals__[step[1]]
        elif kind == "attr":
            obj = (
                getattr(obj, step[1]) if step[1] in ("__func__", "__self__") else vars(obj)[step[1]]
            )
        elif kind == "item":
            obj = obj[step[1]]
        else:  # class_forward
            obj = type(obj).forward
    return obj


def scalar_guards(fn) -> list:
    """``(path, value)`` for each Python scalar in ``fn``'s closure cells and the globals it
    names: a later call whose scalars differ recompiles (they may be op arguments)."""
    out = []
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    if not isinstance(fn, types.FunctionType):
        return out
    for i, cell in enumerate(fn.__closure__ or ()):
        try:
            content = cell.cell_contents
        except ValueError:
            continue
        if isinstance(content, _SCALARS):
            out.append((("cell", i), content))
    globals_ = fn.__globals__
    for name in set(_names(fn.__code__)):
        value = globals_.get(name, _MISSING)
        if value is not _MISSING and isinstance(value, _SCALARS):
            out.append((("global", name), value))
    return out


_MISSING = object()


def scalar_now(fn, step):
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    if step[0] == "cell":
        try:
            return fn.__closure__[step[1]].cell_contents
        except ValueError:
            return _MISSING
    return fn.__globals__.get(step[1], _MISSING)
