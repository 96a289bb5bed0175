"""What ``explain`` explains: named tensors from modules, dicts (nested), ModuleDicts and lists.

A tensor reachable under several names (a tied weight: nanoGPT's ``lm_head.weight`` and
``transformer.wte.weight``) is one entry with every name; each entry also knows the module that
owns it, for per-module gradient norms.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Entry", "entries", "named_tensors"]


@dataclass
class Entry:
    """One tensor to explain: its names (first found first), owning module path and itself."""

    names: list
    module: str
    tensor: object
    owner: object = None  # the nn.Module holding it, where found through one


def _is_module(value) -> bool:
    return hasattr(value, "named_parameters") and hasattr(value, "named_modules")


def _walk(params, prefix: str, found: list) -> None:
    """``(name, module path, tensor, module or None)`` for everything in ``params``, depth
    first."""
    if params is None:
        return
    if _is_module(params):
        modules = dict(params.named_modules(remove_duplicate=False))
        for name, tensor in params.named_parameters(remove_duplicate=False):
            owner = name.rpartition(".")[0]
            path = prefix + owner if owner else prefix.rstrip(".")
            found.append((prefix + name, path, tensor, modules.get(owner)))
        return
    if hasattr(params, "items"):
        for key, value in params.items():
            name = f"{prefix}{key}"
            if _is_module(value) or hasattr(value, "items") or isinstance(value, (list, tuple)):
                _walk(value, name + ".", found)
            else:
                found.append((name, prefix.rstrip("."), value, None))
        return
    for index, value in enumerate(params):
        name = f"{prefix}{index}" if prefix else f"param[{index}]"
        if _is_module(value) or hasattr(value, "items") or isinstance(value, (list, tuple)):
            _walk(value, name + ".", found)
        else:
            found.append((name, prefix.rstrip("."), value, None))


def entries(params) -> list[Entry]:
    """The tensors in ``params``, one ``Entry`` per tensor, in the order first found."""
    found: list = []
    if params is not None and not _is_module(params) and not hasattr(params, "items"):
        params = list(params)  # (a generator: model.parameters())
        if params and all(
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            for item in params
        ):
            params = dict(params)  # model.named_parameters()
    _walk(params, "", found)
    by_id: dict = {}
    for name, module, tensor, owner in found:
        if not hasattr(tensor, "requires_grad"):
            raise TypeError(
                f"explain: {name} is a {type(tensor).__name__}, not a tensor or nn.Module"
            )
        entry = by_id.get(id(tensor))
        if entry is None:
            by_id[id(tensor)] = Entry([name], module, tensor, owner)
        elif name not in entry.names:
            entry.names.append(name)
    return list(by_id.values())


def named_tensors(params) -> dict:
    """``{name: tensor}`` with every name of every tensor in ``params`` (tied weights twice)."""
    return {name: e.tensor for e in entries(params) for name in e.names}
