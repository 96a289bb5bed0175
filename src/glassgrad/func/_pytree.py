"""The nested containers torch.func walks: tuples, lists, dicts and named tuples of leaves."""

from __future__ import annotations


class Spec:
    """The structure of a pytree: its container type and children (None for a leaf)."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind, keys, children) -> None:
        self.kind = kind
        self.keys = keys
        self.children = children

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Spec)
            and self.kind == other.kind
            and self.keys == other.keys
            and self.children == other.children
        )

    def __hash__(self):
        return hash((self.kind, self.keys))

    @property
    def is_leaf(self) -> bool:
        return self.kind is None

    def count(self) -> int:
        return 1 if self.kind is None else sum(c.count() for c in self.children)

    def __str__(self) -> str:
        if self.kind is None:
            return "*"
        parts = [str(c) for c in self.children]
        if self.kind is dict:
            return (
                "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(self.keys, parts, strict=True)) + "}"
            )
        if self.kind is list:
            return "[" + ", ".join(parts) + "]"
        if self.kind is tuple:
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        return f"{self.kind.__name__}(" + ", ".join(parts) + ")"

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        inner = ",\n  ".join(repr(c) for c in self.children)
        return (
            f"TreeSpec({self.kind.__name__}, {list(self.keys) if self.keys else None}, [{inner}])"
        )


LEAF = Spec(None, None, None)


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def tree_flatten(tree):
    """(leaves, spec) of ``tree``."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, (list, tuple)):
        children = [_flatten(item, leaves) for item in tree]
        return Spec(type(tree), None, children)
    if type(tree) is dict:
        keys = list(tree)
        children = [_flatten(tree[key], leaves) for key in keys]
        return Spec(dict, tuple(keys), children)
    leaves.append(tree)
    return LEAF


def tree_unflatten(leaves, spec):
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec.kind is None:
        return next(it)
    children = [_build(child, it) for child in spec.children]
    if spec.kind is dict:
        return dict(zip(spec.keys, children, strict=True))
    if spec.kind in (list, tuple):
        return spec.kind(children)
    try:
        return spec.kind(*children)  # a named tuple, torch.return_types
    except TypeError:
        return spec.kind(children)  # a structseq


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(leaf) for leaf in leaves], spec)


def broadcast_prefix(prefix, tree_spec, name="in_dims"):
    """The leaves of ``prefix`` repeated over ``tree_spec``'s leaves (a leaf of ``prefix``
    covers a whole subtree), or None if the structures do not match."""
    out = []
    if not _broadcast(prefix, tree_spec, out):
        return None
    return out


def _broadcast(prefix, spec, out) -> bool:
    if spec.kind is None or not isinstance(prefix, (list, tuple, dict)):
        if isinstance(prefix, (list, tuple, dict)):
            return False
        out.extend([prefix] * spec.count())
        return True
    if spec.kind is dict:
        if not isinstance(prefix, dict) or set(prefix) != set(spec.keys):
            return False
        return all(
            _broadcast(prefix[k], c, out) for k, c in zip(spec.keys, spec.children, strict=True)
        )
    if not isinstance(prefix, (list, tuple)) or len(prefix) != len(spec.children):
        return False
    if isinstance(prefix, list) != (spec.kind is list):
        return False
    return all(_broadcast(p, c, out) for p, c in zip(prefix, spec.children, strict=True))
