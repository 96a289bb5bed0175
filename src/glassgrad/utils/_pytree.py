"""``torch.utils._pytree``: nested containers (lists, tuples, dicts, named tuples, deques and
registered classes) flattened into leaves and a ``TreeSpec`` that rebuilds them."""

from __future__ import annotations

import dataclasses
import types
from collections import OrderedDict, defaultdict, deque, namedtuple

__all__ = [
    "GetAttrKey",
    "LeafSpec",
    "MappingKey",
    "SUPPORTED_NODES",
    "SequenceKey",
    "TreeSpec",
    "is_namedtuple",
    "keystr",
    "map_only",
    "register_pytree_node",
    "tree_all",
    "tree_all_only",
    "tree_any",
    "tree_any_only",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_is_leaf",
    "tree_iter",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_",
    "tree_map_only",
    "tree_map_only_",
    "tree_map_with_path",
    "tree_structure",
    "tree_unflatten",
    "treespec_leaf",
    "treespec_pprint",
]


@dataclasses.dataclass(frozen=True)
class NodeDef:
    """How a container type is taken apart and put together again."""

    type: type
    flatten_fn: object
    unflatten_fn: object
    flatten_with_keys_fn: object = None


SUPPORTED_NODES: dict = {}


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    key: object

    def __str__(self) -> str:
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self) -> str:
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp) -> str:
    """A key path as text (``[0]['a'].b``)."""
    return "".join(str(k) for k in kp)


def register_pytree_node(
    cls,
    flatten_fn,
    unflatten_fn,
    *,
    serialized_type_name=None,
    to_dumpable_context=None,
    from_dumpable_context=None,
    flatten_with_keys_fn=None,
) -> None:
    """Make ``cls`` a container: ``flatten_fn(obj) -> (children, context)`` and
    ``unflatten_fn(children, context) -> obj``."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)


def _sequence_keys(values):
    return [(SequenceKey(i), v) for i, v in enumerate(values)]


def _register_builtins() -> None:
    def mapping_keys(flatten):
        def with_keys(d):
            values, context = flatten(d)
            keys = context[1] if isinstance(d, defaultdict) else context
            return [(MappingKey(k), v) for k, v in zip(keys, values, strict=True)], context

        return with_keys

    def sequence_keys(flatten):
        def with_keys(d):
            values, context = flatten(d)
            return _sequence_keys(values), context

        return with_keys

    def dict_flatten(d):
        return list(d.values()), list(d.keys())

    def defaultdict_flatten(d):
        return list(d.values()), [d.default_factory, list(d.keys())]

    def namedtuple_flatten(d):
        return list(d), type(d)

    def namedtuple_keys(d):
        return [(GetAttrKey(f), v) for f, v in zip(d._fields, d, strict=True)], type(d)

    nodes = [
        (tuple, lambda d: (list(d), None), lambda v, c: tuple(v), sequence_keys),
        (list, lambda d: (list(d), None), lambda v, c: list(v), sequence_keys),
        (dict, dict_flatten, lambda v, c: dict(zip(c, v, strict=True)), mapping_keys),
        (namedtuple, namedtuple_flatten, lambda v, c: c(*v), None),
        (OrderedDict, dict_flatten, lambda v, c: OrderedDict(zip(c, v, strict=True)), None),
        (defaultdict, defaultdict_flatten, _defaultdict_unflatten, mapping_keys),
        (deque, lambda d: (list(d), d.maxlen), lambda v, c: deque(v, maxlen=c), sequence_keys),
    ]
    for cls, flatten, unflatten, keys in nodes:
        if cls is namedtuple:
            with_keys = namedtuple_keys
        elif cls is OrderedDict:
            with_keys = mapping_keys(flatten)
        else:
            with_keys = keys(flatten)
        SUPPORTED_NODES[cls] = NodeDef(cls, flatten, unflatten, with_keys)


def _defaultdict_unflatten(values, context):
    factory, keys = context
    return defaultdict(factory, zip(keys, values, strict=True))


_register_builtins()


def is_namedtuple(obj) -> bool:
    """Whether ``obj`` (an instance or a class) is a named tuple."""
    cls = obj if isinstance(obj, type) else type(obj)
    return issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)


def _node_type(tree):
    if is_namedtuple(tree):
        return namedtuple
    return type(tree)


def tree_is_leaf(tree, is_leaf=None) -> bool:
    """Whether ``tree`` is a leaf (not a registered container, or ``is_leaf`` says so)."""
    if is_leaf is not None and is_leaf(tree):
        return True
    return _node_type(tree) not in SUPPORTED_NODES


class TreeSpec:
    """The structure of a pytree: the container type, its context (dict keys, the named tuple
    class...) and one spec per child (a leaf's spec is ``*``)."""

    def __init__(self, type, context, children_specs) -> None:
        self.type = type
        self._context = context
        self._children = list(children_specs)
        self.num_nodes = 1 + sum(c.num_nodes for c in self._children)
        self.num_leaves = sum(c.num_leaves for c in self._children)
        self.num_children = len(self._children)

    @property
    def context(self):
        return self._context

    @property
    def children_specs(self) -> list:
        return self._children

    def is_leaf(self) -> bool:
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self) -> list:
        return list(self._children)

    def child(self, index: int) -> TreeSpec:
        return self._children[index]

    def __repr__(self, indent: int = 0) -> str:
        text = f"TreeSpec({self.type.__name__}, {self._context}, ["
        if self.num_children > 0:
            indent += 2
            text += self._children[0].__repr__(indent)
            text += "," if self.num_children > 1 else ""
            text += ",".join("\n" + " " * indent + c.__repr__(indent) for c in self._children[1:])
        return text + "])"

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (
            str(self.type) == str(other.type)
            and self._context == other._context
            and self._children == other._children
        )

    def __hash__(self):
        return hash((str(self.type), self.num_nodes, self.num_leaves))

    def flatten_up_to(self, tree) -> list:
        """The subtrees of ``tree`` that this spec's leaves stand for."""
        if self.is_leaf():
            return [tree]
        node = SUPPORTED_NODES.get(_node_type(tree))
        if _node_type(tree) is not self.type or node is None:
            raise ValueError(f"Node type mismatch; expected {self.type!r}, but got {type(tree)!r}.")
        children, context = node.flatten_fn(tree)
        if len(children) != self.num_children or context != self._context:
            raise ValueError(f"Node context mismatch for {self.type!r}: {tree!r}.")
        out = []
        for spec, child in zip(self._children, children, strict=True):
            out.extend(spec.flatten_up_to(child))
        return out

    def unflatten(self, leaves):
        """The pytree of this structure holding ``leaves``."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
                f"refers to a pytree that holds {self.num_leaves} items ({self})."
            )
        return self._build(iter(leaves))

    def _build(self, leaves):
        if self.is_leaf():
            return next(leaves)
        children = [spec._build(leaves) for spec in self._children]
        return SUPPORTED_NODES[self.type].unflatten_fn(children, self._context)


class LeafSpec(TreeSpec):
    """The spec of a leaf."""

    def __init__(self) -> None:
        super().__init__(None, None, [])
        self.num_nodes = self.num_leaves = 1

    def __repr__(self, indent: int = 0) -> str:
        return "*"


_LEAF_SPEC = LeafSpec()


def treespec_leaf() -> LeafSpec:
    """The spec of a leaf."""
    return _LEAF_SPEC


def tree_flatten(tree, is_leaf=None):
    """``(leaves, treespec)`` of ``tree``, leaves in depth-first order."""
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _flatten(tree, is_leaf, leaves):
    if tree_is_leaf(tree, is_leaf):
        leaves.append(tree)
        return _LEAF_SPEC
    node = SUPPORTED_NODES[_node_type(tree)]
    children, context = node.flatten_fn(tree)
    return TreeSpec(node.type, context, [_flatten(c, is_leaf, leaves) for c in children])


def tree_unflatten(leaves, treespec):
    """The pytree ``treespec`` describes, holding ``leaves``."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance of "
            f"TreeSpec but got item of type {type(treespec)}."
        )
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    """The leaves of ``tree``, one at a time."""
    yield from tree_flatten(tree, is_leaf)[0]


def tree_leaves(tree, is_leaf=None) -> list:
    """The leaves of ``tree``."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None) -> TreeSpec:
    """The ``TreeSpec`` of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func, tree, *rests, is_leaf=None):
    """``tree`` with each leaf ``x`` replaced by ``func(x, *matching leaves of rests)``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    flat = [leaves] + [spec.flatten_up_to(rest) for rest in rests]
    return spec.unflatten(func(*xs) for xs in zip(*flat, strict=True))


def tree_map_(func, tree, *rests, is_leaf=None):
    """Call ``func`` on each leaf (for its effect); return ``tree``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    flat = [leaves] + [spec.flatten_up_to(rest) for rest in rests]
    for xs in zip(*flat, strict=True):
        func(*xs)
    return tree


def _predicate(type_or_types_or_pred):
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        return lambda x: isinstance(x, type_or_types_or_pred)
    if callable(type_or_types_or_pred):
        return type_or_types_or_pred
    raise TypeError("Argument must be a type, a tuple of types, or a callable.")


def _only(type_or_types_or_pred, func):
    pred = _predicate(type_or_types_or_pred)

    def wrapped(x):
        return func(x) if pred(x) else x

    return wrapped


def tree_map_only(type_or_types, func, tree, is_leaf=None):
    """``tree_map`` on the leaves of the given type(s); other leaves stay."""
    return tree_map(_only(type_or_types, func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types, func, tree, is_leaf=None):
    """``tree_map_`` on the leaves of the given type(s)."""
    return tree_map_(_only(type_or_types, func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None) -> bool:
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred, tree, is_leaf=None) -> bool:
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, pred, tree, is_leaf=None) -> bool:
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types, pred, tree, is_leaf=None) -> bool:
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def map_only(type_or_types_or_pred):
    """A decorator: the function applies to matching leaves only, others pass through."""
    return lambda func: _only(type_or_types_or_pred, func)


def tree_flatten_with_path(tree, is_leaf=None):
    """``([(key path, leaf), ...], treespec)``."""
    pairs: list = []
    _with_path(tree, is_leaf, (), pairs)
    return pairs, tree_structure(tree, is_leaf)


def _with_path(tree, is_leaf, path, pairs) -> None:
    if tree_is_leaf(tree, is_leaf):
        pairs.append((path, tree))
        return
    node = SUPPORTED_NODES[_node_type(tree)]
    if node.flatten_with_keys_fn is None:
        raise ValueError(
            f"Did not find a flatten_with_keys_fn for type: {node.type}. Please pass a "
            "flatten_with_keys_fn argument to register_pytree_node."
        )
    keyed, _ = node.flatten_with_keys_fn(tree)
    for key, child in keyed:
        _with_path(child, is_leaf, (*path, key), pairs)


def tree_leaves_with_path(tree, is_leaf=None) -> list:
    """``[(key path, leaf), ...]``."""
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(func, tree, *rests, is_leaf=None):
    """``tree_map`` whose ``func`` also gets each leaf's key path first."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    flat = [spec.flatten_up_to(rest) for rest in rests]
    return spec.unflatten(
        func(path, leaf, *others) for (path, leaf), *others in zip(pairs, *flat, strict=True)
    )


class _Asterisk(str):
    def __repr__(self) -> str:
        return "*"


def treespec_pprint(treespec) -> str:
    """The structure with ``*`` for each leaf (``[*, (*, *)]``)."""
    return repr(tree_unflatten([_Asterisk("*")] * treespec.num_leaves, treespec))
