"""The package's layers, checked on its source: no module imports a higher layer, and no import
cycle joins more than two modules (beyond the ones listed below, which are to go).

Imports are read with ``ast``, those inside functions included (a lazy import is still a
dependency). From the bottom:

0. base: dtypes, the array backend, configuration, shared error texts, hook handles;
1. the graph core: grad modes, nodes, the recorder every op ends in (``autograd.record``), the
   engines, accumulation, provenance, saved-tensor hooks, forward mode's tangent store
   (``autograd.bound`` holds the Tensor class, bound by ``glassgrad.tensor`` at import);
2. the tensor: ``Tensor``, its data and info, the factories, ``out=``;
3. the ops (``glassgrad.ops``, ``linalg``, ``special``) and autograd's API on top of them
   (``Function``, ``grad``, ``functional``, ``gradcheck``);
4. the library: ``nn``, ``optim``, ``utils``, ``serialization``, ``amp``, ``distributed``...;
5. ``glass``; 6. the applications (``cli``, the demo script, the package's ``__init__``).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "glassgrad"

_CORE = ("grad_mode", "anomaly_mode", "node", "engine", "engine_plain", "engine_entry")
_CORE += ("accumulate", "provenance", "saved_hooks", "graph", "partial", "bound", "forward_state")
_CORE += ("escapes", "flows", "introspect")  # (glass reads the graph through introspect)
_CORE += ("record",)  # the recorder every op ends in
LAYERS = [
    ("base", ["_config", "_device", "_bfloat16", "_memory_format", "_mt19937", "_errors"]
     + ["_shared_memory"]
     + ["_batched", "dtypes", "backend", "version", "utils.hooks"]
     + ["_layout", "_sparse_data", "_sparse_kernels"]),
    ("core", ["autograd." + name for name in _CORE]),
    ("tensor", ["tensor", "_tensor_data", "_tensor_hooks", "_tensor_info", "_tensor_str"]
     + ["creation", "_random", "_out_arg", "_finfo"]),
    ("ops", ["ops", "linalg", "special", "fft", "autograd", "_foreach", "_C"]),
    ("library", ["nn", "optim", "utils", "serialization", "amp", "distributed", "testing", "jit"]
     + ["distributions", "random"]
     + ["func", "multiprocessing", "sparse", "accelerator", "futures", "hub", "profiler"]
     + ["_dynamo", "compiler", "_compile", "onnx", "cuda", "mps", "xpu", "cpu", "backends"]),
    ("glass", ["glass"]),
    ("app", ["cli", "__main__", "seed_experiments", ""]),
]  # fmt: skip

# Upward imports allowed, each for its reason (importer -> imported).
ALLOWED = {
    # Tensor.backward and the autograd API a tensor method reaches (torch.autograd.backward)
    ("tensor", "autograd"),
    # glass's demo runs the seed article's script
    ("glass.demo", "seed_experiments"),
    # vmap's batched arrays (landed with torch.func) reach func's batching rules, lazily: to go
    ("_batched", "func"),
    # torch.autograd.profiler: PyTorch's older name for the profiler (a library module)
    ("autograd.profiler", "profiler"),
    # DDP's unused-parameter error adds glass's reason (explain.why_not), as its note says
    ("nn.parallel.distributed", "glass.explain"),
}

# Cycles of more than two modules that remain, to be cut (the test fails if one grows, a new
# one appears, or one listed here is gone: keep this list exact).
KNOWN_CYCLES = [
    # the elementwise, shape and indexing ops that call one another's functions, joined since
    # by torch.func's batched arrays (_batched -> func -> ops -> tensor -> _batched) and
    # forward mode's rules (with the recorder and the in-place machinery)
    {"_batched", "_out_arg", "_random", "_tensor_data", "creation", "tensor"}
    | {"autograd.engine", "autograd.engine_plain", "autograd.forward_rules", "autograd.record"}
    | {"func._batched_index", "func._batched_rules", "func._vmap"}
    | {"ops._dual", "ops.elementwise.binary", "ops.elementwise.unary", "ops.elementwise.where"}
    | {"ops.index.indexing", "ops.index.setitem_expanded", "ops.inplace_core", "ops.registry"}
    | {"ops.linalg.matmul", "ops.nn.common", "ops.shape.expand", "ops.shape.join"}
    | {"ops.shape.view"},
    # forward_ad, its checks and functional's forward strategy
    {"autograd.forward_ad", "autograd.forward_checks", "autograd.functional"}
    | {"autograd.functional_jacobian"},
]


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@functools.cache
def import_graph():
    """``{module: {imported module: [line, ...]}}`` over ``src/glassgrad`` (names relative to
    the package, "" for the package itself), lazy imports included."""
    paths = {_module(p): p for p in SRC.rglob("*.py")}
    graph: dict = {}
    for name, path in paths.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package[: len(package) - node.level + 1]
                    base = ".".join(["glassgrad", *up, *([base] if base else [])])
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            for target in targets:
                if target != "glassgrad" and not target.startswith("glassgrad."):
                    continue
                found = _resolve(target.removeprefix("glassgrad").lstrip("."), paths)
                if found is not None and found != name:
                    graph.setdefault(name, {}).setdefault(found, []).append(node.lineno)
                if isinstance(node, ast.ImportFrom):
                    break  # ``from a import b``: b if it is a module, else a
    return paths, graph


def _resolve(target: str, paths) -> str | None:
    while target not in paths:
        if not target:
            return None
        target = target.rpartition(".")[0]
    return target


def layer(module: str) -> int:
    best = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + ".") or prefix == "":
                best = max(best, (len(prefix), index))
    return best[1]


def test_every_module_has_a_layer():
    paths, _ = import_graph()
    assert [m for m in paths if m and layer(m) == len(LAYERS) - 1 and m not in LAYERS[-1][1]] == []


def test_no_upward_imports():
    _, graph = import_graph()
    upward = sorted(
        f"{a} -> {b} (line {lines[0]})"
        for a, targets in graph.items()
        for b, lines in targets.items()
        if b and layer(b) > layer(a) and not _allowed(a, b)
    )
    assert upward == [], "imports of a higher layer:\n" + "\n".join(upward)


def _allowed(a, b) -> bool:
    return any(
        (a == x or a.startswith(x + ".")) and (b == y or b.startswith(y + ".")) for x, y in ALLOWED
    )


def _cycles(graph, skip_packages):
    """Strongly connected components of more than two modules (Tarjan's, iteratively)."""
    nodes = [n for n in graph if n not in skip_packages]
    index, low, on, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, ())))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c not in skip_packages), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 2:
                    found.append(component)
    return found


def test_no_import_cycle_of_more_than_two_modules():
    paths, graph = import_graph()
    packages = {m for m, p in paths.items() if p.name == "__init__.py"}  # (re-export hubs)
    cycles = _cycles(graph, packages)
    unknown = [sorted(c) for c in cycles if c not in KNOWN_CYCLES]
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in cycles]
    assert unknown == [] and gone == [], f"new or grown cycles: {unknown}; cut: {gone}"
