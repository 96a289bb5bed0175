"""``draw``: the graph as the seed article draws it, with what PyTorch's graph cannot show.

Leaves and named tensors are circles, ops are small circles with their symbol, and after
``backward()`` every edge carries the gradient that flowed along it (``∂w/∂θ``). What stops a
gradient is drawn too: a ``detach()`` is a red cut edge, ops run under ``no_grad`` sit in a grey
region labelled with the mechanism and the source line, and frozen leaves are grey.
"""

from __future__ import annotations

import sys

import numpy as np

from glassgrad.autograd import introspect
from glassgrad.autograd.provenance import Record
from glassgrad.glass import _clusters
from glassgrad.glass._clusters import REGION, module_id, modules_by_name, regions
from glassgrad.glass._dot import Graph, attrs, quote
from glassgrad.glass._walk import Walk, _deref, walk
from glassgrad.glass.explain import _caller_names, named_tensors
from glassgrad.tensor import Tensor

__all__ = ["draw"]

SYMBOLS = {
    "Mul": "×",
    "Add": "+",
    "Sub": "−",
    "Div": "÷",
    "Mm": "@",
    "Matmul": "@",
    "Neg": "−x",
    "Pow": "^",
    "mul": "×",
    "add": "+",
    "sub": "−",
    "div": "÷",
    "matmul": "@",
    "mm": "@",
    "neg": "−x",
    "pow": "^",
}
LEGEND = (
    '<<table border="0" cellborder="1" cellspacing="0" cellpadding="4">'
    '<tr><td colspan="2"><b>legend</b></td></tr>'
    "<tr><td>○ white circle</td><td>leaf that requires grad</td></tr>"
    '<tr><td bgcolor="grey80">○ grey circle</td><td>frozen leaf (requires_grad=False)</td></tr>'
    "<tr><td>edge label</td><td>gradient that flowed (∂out/∂θ; shape and norm if not scalar)</td>"
    '</tr><tr><td><font color="red">✂ red dashed</font></td><td>cut by detach()</td></tr>'
    '<tr><td bgcolor="grey90">grey region</td><td>computed without a graph (no_grad)</td></tr>'
    "</table>>"
)
MODULE_ROWS = (
    '<tr><td><font color="steelblue4">rounded blue box</font></td><td>an nn.Module (path, class)'
    "</td></tr><tr><td>3-D box</td><td>a module collapsed (depth); expand=[path] opens it</td></tr>"
)


def draw(
    *outputs: Tensor,
    params=None,
    depth: int | None = None,
    expand=(),
    legend: bool = True,
    rankdir: str = "LR",
) -> Graph:
    """Draw the graph behind ``outputs``, with its cuts, grey regions and gradient labels.

    Args:
        outputs: the tensors to draw back from (a loss, or the article's ``w``).
        params: names: a dict of tensors (leaves or not), an ``nn.Module`` or a list; tensors
            not named here are named after the caller's variables where they can be found.
        depth: collapse every module nested this deep (``layer1`` at 1, ``layer1.0`` at 2) into
            one box. Ops are grouped by the module that ran them when the forward ran under
            ``glass.record_modules()``; otherwise by the parameters' names.
        expand: module paths (``"layer2.0"``) drawn in full although ``depth`` collapses them.
        legend: add the legend explaining the marks.
        rankdir: Graphviz layout direction.

    Returns:
        A ``Graph``: ``.source`` (DOT), ``.render(path, format=...)``, ``_repr_svg_``.
    """
    names = _caller_names(sys._getframe(1))
    values = {}
    for value in list(sys._getframe(1).f_locals.values()):
        if isinstance(value, Tensor):
            values.update(dict.fromkeys(_keys(value), value))
    given: set = set()
    for name, tensor in named_tensors(params).items():
        for key in _keys(tensor):
            if key not in given:  # a tied weight keeps its first name; the others are aliases
                names[key] = name
                values[key] = tensor
                given.add(key)
    aliases: dict = {}  # a tied weight is drawn under all its names
    if hasattr(params, "named_parameters"):
        for name, tensor in params.named_parameters(remove_duplicate=False):
            if names.get(id(tensor), name) != name:
                aliases.setdefault(id(tensor), []).append(name)
    found = walk(list(outputs))
    out_name = next((names[k] for k in found.roots if k in names), "out")
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if isinstance(expand, str):
        expand = (expand,)
    builder = _Builder(found, names, out_name, depth, tuple(expand), params)
    builder.values, builder.aliases = values, aliases
    return Graph(builder.source(rankdir, legend), builder.summary)


class _Builder:
    def __init__(self, found: Walk, names: dict, out_name: str, depth, expand=(), model=None):
        self.found, self.names, self.out_name = found, names, out_name
        self.ids = {key: f"n{index}" for index, key in enumerate(found.items)}
        self.regions = regions(found)
        self.layout = _clusters.layout(
            found, names, self.regions, self._region_label, depth, expand, model
        )
        if self.layout is not None:
            self.group = self.layout.boxes
        else:
            self.group = modules_by_name(found, names, depth) if depth is not None else {}
        self.summary = {"cut": [], "grey": [], "frozen": [], "labels": {}}
        self.values: dict = {}
        self.aliases: dict = {}

    def source(self, rankdir: str, legend: bool) -> str:
        lines = [
            "digraph glassgrad {",
            f"  rankdir={rankdir}; compound=true; nodesep=0.4;",
            '  node [fontname="Helvetica", fontsize=12];',
            '  edge [fontname="Helvetica", fontsize=10];',
        ]
        if self.layout is not None:
            lines += _clusters.emit(self.layout, self._unit)
        else:
            clustered = {key for members in self.regions.values() for key in members}
            for key, item in self.found.items.items():
                if key not in clustered and key not in self.group:
                    lines += self._node(key, item)
            for index, (root, members) in enumerate(self.regions.items()):
                lines += self._region(index, root, members)
            lines += self._modules_boxes()
        lines += self._edges()
        if legend:
            label = LEGEND
            if self.layout is not None:
                label = LEGEND.replace("</table>>", MODULE_ROWS + "</table>>")
            lines.append(f"  legend [shape=plaintext, label={label}];")
        lines.append("}")
        return "\n".join(lines)

    def _name(self, key) -> str | None:
        return self.names.get(key)

    def _unit(self, unit, indent: str) -> list:
        """One item, or one collapsed module (``("box", path)``), of a module layout."""
        if isinstance(unit, tuple):
            box = _clusters.box_lines(self.found, self.layout, unit[1], self.summary)
            return [f"{indent}{module_id(unit[1])}{box[0]};"]
        item = self.found.items[unit]
        if isinstance(item, Record) and item.kind in REGION:
            self.summary["grey"].append(self._name(unit) or item.op)
        return self._node(unit, item, indent)

    def _node(self, key, item, indent="  ") -> list:
        node_id = self.ids[key]
        if isinstance(item, Tensor):
            return [indent + node_id + self._leaf(key, item) + ";"]
        if isinstance(item, Record) and item.kind in ("detach", "frozen", "by_hand"):
            label = f"{self._name(key) or 'tensor'}\n(freed)"
            return [f"{indent}{node_id}{attrs(label=label, shape='box', style='dashed')};"]
        op = item.op if isinstance(item, Record) else type(item).__name__
        short = op.split("Backward")[0] if "Backward" in op else op
        symbol = SYMBOLS.get(short, short)
        path = self.layout.path(key) if self.layout is not None else ""
        if self.layout is not None:
            symbol = f"{path}: {_clusters.op_name(item)}" if path else _clusters.op_name(item)
        lines = [
            f"{indent}{node_id}"
            + attrs(
                label=symbol,
                tooltip=op,
                shape="box" if self.layout is not None else "circle",
                style="rounded" if self.layout is not None else None,
                width="0.35",
                fixedsize="false",
                class_=f"op {op}",
            )
            + ";"
        ]
        name = self._name(key)
        if name is not None:
            tensor = self.values.get(key)
            value = _value_text(tensor if tensor is not None else _tensor_of(item))
            root = key in self.found.roots
            lines.append(
                f"{indent}{node_id}_v"
                + attrs(
                    label=f"{name}{value}",
                    shape="doublecircle" if root else "circle",
                    class_="tensor",
                    style="filled" if isinstance(item, Record) else None,
                    fillcolor="grey90" if isinstance(item, Record) else None,
                )
                + ";"
            )
            lines.append(f"{indent}{node_id} -> {node_id}_v [arrowhead=none];")
        return lines

    def _leaf(self, key, tensor: Tensor) -> str:
        name = self._name(key) or "leaf"
        also = "".join(f"\n= {alias}" for alias in self.aliases.get(key, ()))
        label = f"{name}{also}{_value_text(tensor)}"
        shape = "circle" if self.layout is None else "ellipse"  # long module paths stay small
        if tensor.requires_grad:
            return attrs(label=label, shape=shape, class_="leaf")
        self.summary["frozen"].append(name)
        return attrs(
            label=label,
            xlabel="requires_grad=False",
            shape=shape,
            style="filled",
            fillcolor="grey80",
            fontcolor="grey25",
            class_="leaf frozen",
        )

    def _region_label(self, root_key, members) -> str:
        root = self.found.items[root_key]
        where = sorted({self.found.items[k].where for k in members})
        return f"{REGION.get(root.kind, root.kind)} at {', '.join(where)}"

    def _region(self, index: int, root_key, members) -> list:
        label = self._region_label(root_key, members)
        lines = [
            f"  subgraph cluster_nograd{index} {{",
            f"    label={quote(label)}; style=filled; fillcolor=grey90; color=grey60;",
        ]
        for key in members:
            lines += self._node(key, self.found.items[key], "    ")
            self.summary["grey"].append(self._name(key) or self.found.items[key].op)
        lines.append("  }")
        return lines

    def _modules_boxes(self) -> list:
        boxes: dict = {}
        for key, module in self.group.items():
            boxes.setdefault(module, []).append(key)
        lines = []
        for module, keys in boxes.items():
            ops = sum(not isinstance(self.found.items[k], Tensor) for k in keys)
            label = f"{module}\n{len(keys) - ops} parameters, {ops} ops"
            lines.append(
                f"  {module_id(module)}" + attrs(label=label, shape="box3d", class_="module") + ";"
            )
        return lines

    def _endpoint(self, key, source: bool) -> str:
        if key in self.group:
            return module_id(self.group[key])
        node_id = self.ids[key]
        item = self.found.items[key]
        named = (
            not isinstance(item, Tensor)
            and self._name(key) is not None
            and not (isinstance(item, Record) and item.kind in ("detach", "frozen", "by_hand"))
        )
        return f"{node_id}_v" if source and named else node_id

    def _edges(self) -> list:
        lines, seen = [], set()
        for edge in self.found.edges:
            src, dst = self._endpoint(edge.src, True), self._endpoint(edge.dst, False)
            if src == dst or (src, dst) in seen:
                continue
            seen.add((src, dst))
            lines.append(f"  {src} -> {dst}{self._edge_attrs(edge)};")
        return lines

    def _edge_attrs(self, edge) -> str:
        record = edge.cut
        src_name = (
            self._name(edge.src)
            or self._source_name(record)
            or (
                record.op
                if record is not None and record.kind == "detach" and record.op != "detach"
                else None
            )
        )
        if record is not None and record.kind == "detach":
            label = f"✂ {src_name or 'tensor'}.detach()\n{record.where}"
            self.summary["cut"].append(src_name or "tensor")
            return attrs(
                label=label,
                style="dashed",
                color="red",
                fontcolor="red",
                arrowhead="tee",
                penwidth="2",
                class_="cut detach",
            )
        if record is not None or edge.shadow:
            return attrs(
                color="grey55",
                style="dotted" if edge.shadow else None,
                class_="nograd" if record is None or record.kind != "frozen" else "frozen",
            )
        if edge.src in self.group:
            return attrs(penwidth="1.5", class_="flow")  # what flows inside a box stays inside
        label = self._flow_label(edge, src_name)
        if label:
            self.summary["labels"][src_name or self.ids[edge.src]] = label
        return attrs(label=label, penwidth="1.5", class_="flow")

    def _source_name(self, record) -> str | None:
        if record is None or not record.inputs:
            return None
        source = _deref(record.inputs[0])
        return None if source is None else self._name(id(source))

    def _flow_label(self, edge, src_name) -> str | None:
        flow = _flow(self.found.items[edge.src], edge.output_nr)
        if flow is None:
            return None
        value = (
            f"{flow:g}"
            if isinstance(flow, float)
            else (
                f"{list(flow[0])}, ‖g‖={flow[1]:.4g}" if flow[1] is not None else f"{list(flow[0])}"
            )
        )
        return f"∂{self.out_name}/∂{src_name} = {value}" if src_name else value


def _flow(item, output_nr: int):
    """The gradient summary that flowed out of ``item`` (None if backward has not run)."""
    if isinstance(item, Tensor):
        node = introspect.accumulator(item)
        flow = introspect.flow(node) if node is not None else None
        if flow is not None and flow.summary is not None:
            return flow.summary
        grad = item.grad
        if grad is None:
            return None
        data = introspect.array(grad)
        if data.size == 1:
            return float(data.reshape(()))
        return (tuple(data.shape), float(np.sqrt(np.vdot(data, data).real)))
    if isinstance(item, Record):
        return None
    flow = introspect.flow(item)
    summary = None if flow is None else flow.summary
    if isinstance(summary, tuple) and introspect.outputs(item) > 1:
        return summary[output_nr]
    return summary


def _keys(tensor) -> list:
    """The walk keys under which a named tensor can appear: itself, its node, its record."""
    keys = [id(tensor)]
    if tensor.grad_fn is not None:
        keys.append(id(tensor.grad_fn))
    record = introspect.record(tensor)
    if record is not None:
        keys.append(id(record))
    return keys


def _tensor_of(item):
    if isinstance(item, Record):
        return item.tensor()
    return None


def _value_text(tensor) -> str:
    if tensor is None:
        return ""
    if tensor.numel() == 1:
        return f"\n{float(introspect.array(tensor).reshape(())):g}"
    return f"\n{list(tensor.shape)}"
