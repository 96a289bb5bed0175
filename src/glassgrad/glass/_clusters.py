"""A real model's picture: one Graphviz cluster per ``nn.Module``, collapsed below a depth.

Each item of the walk sits in the module that made it (``glass.record_modules``); a parameter
sits in the module that used it. Modules nested ``depth`` deep (and deeper) become one box each,
except those on the way to a module the caller asked to ``expand``. A no-grad region becomes a
grey cluster placed inside the innermost module that holds all of it, as on the seed's graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from glassgrad.autograd.provenance import Record
from glassgrad.glass import _scope
from glassgrad.glass._dot import attrs, quote
from glassgrad.tensor import Tensor

__all__ = [
    "Layout",
    "layout",
    "op_name",
    "emit",
    "box_lines",
    "regions",
    "modules_by_name",
    "module_id",
]

REGION = {
    "no_grad": "no_grad()",
    "inference_mode": "inference_mode()",
    "non_differentiable": "not differentiable",
}
_WORDS = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])")


def op_name(item) -> str:
    """The op's name as the user wrote it: ``softmax`` for ``SoftmaxBackward0``."""
    if isinstance(item, Record):
        return item.op
    name = re.sub(r"Backward\d*$", "", type(item).__name__)
    return _WORDS.sub("_", name).lower() or type(item).__name__


@dataclass
class Layout:
    """Where each item goes: ``paths`` (key -> module path parts), ``boxes`` (key -> the
    collapsed module's path), ``chains`` (unit -> cluster keys, outermost first; a unit is an
    item key or ``("box", path)``) and ``kinds`` (module path -> class name)."""

    paths: dict = field(default_factory=dict)
    boxes: dict = field(default_factory=dict)
    chains: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)
    region_where: dict = field(default_factory=dict)  # region root key -> "no_grad() at f:1"

    def path(self, key) -> str:
        return ".".join(self.paths.get(key, ()))


def layout(
    found, names: dict, regions: dict, region_label, depth, expand, model=None
) -> Layout | None:
    """The module layout of ``found``, or None when no module scope was recorded; ``model``
    (the module whose parameters name the leaves) names the classes of modules never called
    (a ``ModuleList``)."""
    scopes = {}
    for key, item in found.items.items():
        if not isinstance(item, Tensor):
            scope = _scope.scope_of(item)
            if scope is not None:
                scopes[key] = scope
    if not scopes:
        return None
    result = Layout()
    # Paths are relative to ``model``; ops of any other outermost module are prefixed with its
    # class (two models in one loss, a GAN's G and D).
    primary = id(model) if model is not None else None
    if primary not in {scope.root for scope in scopes.values()}:
        roots = {scope.root for scope in scopes.values()}
        primary = roots.pop() if len(roots) == 1 else None
    for key, scope in scopes.items():
        parts = tuple(scope.path.split(".")) if scope.path else ()
        prefix = () if scope.root == primary else (scope.root_kind,)
        result.paths[key] = prefix + parts
        for end in range(len(parts) + 1):
            kind = _scope.kinds.get((scope.root, ".".join(parts[:end])))
            if kind is not None:
                result.kinds[".".join(prefix + parts[:end])] = kind
    if primary is not None and primary == id(model) and hasattr(model, "named_modules"):
        for path, module in model.named_modules():
            result.kinds.setdefault(path, type(module).__name__)
    _place_leaves(found, names, result)
    _collapse(found, result, depth, expand)
    _chains(found, result, regions)
    result.region_where = {root: region_label(root, members) for root, members in regions.items()}
    return result


def _place_leaves(found, names, result: Layout) -> None:
    """A parameter sits in the innermost module holding every op that used it."""
    users: dict = {}
    for edge in found.edges:
        user = found.items.get(edge.dst)
        if isinstance(user, Record) and user.kind == "detach":
            continue  # the leaves behind a freed detached graph: its ops are gone, not its user
        if isinstance(found.items.get(edge.src), Tensor) and edge.dst in result.paths:
            users.setdefault(edge.src, []).append(result.paths[edge.dst])
    for key, item in found.items.items():
        if not isinstance(item, Tensor):
            continue
        if key in users:
            result.paths[key] = _common(users[key])
        else:
            name = names.get(key) or ""
            result.paths[key] = tuple(name.split(".")[:-1])


def _common(paths) -> tuple:
    first = paths[0]
    end = 0
    while end < len(first) and all(len(p) > end and p[end] == first[end] for p in paths):
        end += 1
    return first[:end]


def _is_open(parts: tuple, expand) -> bool:
    path = ".".join(parts)
    return any(e == path or e.startswith(path + ".") or path.startswith(e + ".") for e in expand)


def _collapse(found, result: Layout, depth, expand) -> None:
    if depth is None:
        return
    for key, parts in result.paths.items():
        for end in range(max(depth, 1), len(parts) + 1):
            if not _is_open(parts[:end], expand):
                result.boxes[key] = ".".join(parts[:end])
                break


def _module_chain(parts: tuple) -> tuple:
    return tuple(("m", ".".join(parts[:end])) for end in range(1, len(parts) + 1))


def _chains(found, result: Layout, regions: dict) -> None:
    box_members: dict = {}
    for key, box in result.boxes.items():
        box_members.setdefault(box, []).append(key)
    region_of = {key: root for root, members in regions.items() for key in members}
    used_in: dict = {}  # a leaf used only inside one no-grad region is drawn inside it
    for edge in found.edges:
        if isinstance(found.items.get(edge.src), Tensor):
            used_in.setdefault(edge.src, set()).add(region_of.get(edge.dst))
    for key, regions_used in used_in.items():
        if len(regions_used) == 1 and None not in regions_used:
            region_of[key] = next(iter(regions_used))
    units: dict = {}  # unit -> (module chain, region root or None)
    for key in found.items:
        box = result.boxes.get(key)
        if box is None:
            units[key] = (_module_chain(result.paths.get(key, ())), region_of.get(key))
        elif ("box", box) not in units:
            inside = {region_of.get(member) for member in box_members[box]}
            region = inside.pop() if len(inside) == 1 else None
            units[("box", box)] = (_module_chain(tuple(box.split("."))[:-1]), region)
    prefixes: dict = {}
    for chain, region in units.values():
        if region is not None:
            prefixes.setdefault(region, []).append(chain)
    for unit, (chain, region) in units.items():
        if region is not None:
            cut = len(_common(prefixes[region]))
            chain = (*chain[:cut], ("r", region), *chain[cut:])
        result.chains[unit] = chain


def emit(result: Layout, lines_of) -> list:
    """Nested ``subgraph cluster_...`` blocks; ``lines_of(unit, indent)`` draws one unit."""
    tree: dict = {}
    for unit, chain in result.chains.items():
        branch = tree
        for key in chain:
            branch = branch.setdefault(key, {})
        branch.setdefault(None, []).append(unit)
    lines: list = []
    stack = [(tree, "  ", None)]
    count = 0
    while stack:  # iterative: a stack of subtrees, closing braces pushed as plain strings
        branch, indent, close = stack.pop()
        if isinstance(branch, str):
            lines.append(branch)
            continue
        for unit in branch.get(None, []):
            lines += lines_of(unit, indent)
        for key in reversed([k for k in branch if k is not None]):
            count += 1
            stack.append((f"{indent}}}", None, None))
            stack.append((branch[key], indent + "  ", None))
            stack.append((_open(result, key, indent, count), None, None))
    return lines


def _open(result: Layout, key, indent: str, count: int) -> str:
    kind, name = key
    if kind == "r":
        label = result.region_where.get(name, "no_grad()")
        style = "style=filled; fillcolor=grey90; color=grey60;"
        return f"{indent}subgraph cluster_{count} {{ label={quote(label)}; {style}"
    kind_name = result.kinds.get(name)
    label = f"{name} ({kind_name})" if kind_name else name
    style = 'style="rounded"; color=steelblue; fontcolor=steelblue4;'
    return f"{indent}subgraph cluster_{count} {{ label={quote(label)}; {style}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def box_lines(found, result: Layout, box: str, summary: dict) -> list:
    """One collapsed module: its path and class, what it holds, what is frozen or cut in it."""
    keys = [key for key, path in result.boxes.items() if path == box]
    leaves = [found.items[k] for k in keys if isinstance(found.items[k], Tensor)]
    records = [found.items[k] for k in keys if isinstance(found.items[k], Record)]
    frozen = sum(not leaf.requires_grad for leaf in leaves)
    kind = result.kinds.get(box)
    text = [f"{box} ({kind})" if kind else box, _count(len(keys) - len(leaves), "op") + ", "]
    text[1] += _count(len(leaves), "parameter") + (f", {frozen} frozen" if frozen else "")
    grey = {r.kind for r in records if r.kind in ("no_grad", "inference_mode")}
    text += [f"{kind}() at {', '.join(sorted({r.where for r in records}))}" for kind in grey]
    all_frozen = leaves and frozen == len(leaves)
    if all_frozen:
        summary["frozen"].append(box)
    if grey:
        summary["grey"].append(box)
    fill = "grey80" if all_frozen else "grey90" if grey else None
    classes = "module" + (" frozen" if all_frozen else "") + (" nograd" if grey else "")
    return [
        attrs(
            label="\n".join(text),
            shape="box3d",
            style="filled" if fill else None,
            fillcolor=fill,
            class_=classes,
        )
    ]


def regions(found) -> dict:
    """Records of ops run without a graph, grouped into connected regions: root key -> keys."""
    parent: dict = {}

    def root(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for key, item in found.items.items():
        if isinstance(item, Record) and item.kind in REGION:
            parent[key] = key
    for edge in found.edges:
        if edge.src in parent and edge.dst in parent:
            a, b = root(edge.src), root(edge.dst)
            if a != b and found.items[a].kind == found.items[b].kind:
                parent[a] = b
    regions: dict = {}
    for key in parent:
        regions.setdefault(root(key), []).append(key)
    return regions


def modules_by_name(found, names: dict, depth: int) -> dict:
    """Item key -> module prefix, for parameters named ``a.b.c`` and the ops that use them."""
    group = {}
    for key, item in found.items.items():
        name = names.get(key)
        if isinstance(item, Tensor) and name and "." in name:
            parts = name.split(".")[:-1][:depth]
            if parts:
                group[key] = ".".join(parts)
    for edge in found.edges:
        if edge.src in group and not isinstance(found.items[edge.dst], (Tensor, Record)):
            group.setdefault(edge.dst, group[edge.src])
    return group


def module_id(module: str) -> str:
    return quote(f"module:{module}")
