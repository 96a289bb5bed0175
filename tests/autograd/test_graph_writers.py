"""Who may write a node's graph record, checked on the source (``ast``): its edges
(``next_functions``) are written by ``node.link`` and the few places listed below, and a saved
record ``(counter, version, owner, index)`` is built only by the recorder (``record.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "glassgrad"

EDGE_WRITERS = {
    "autograd/node.py",  # link, the one writer; tie_fused copies another node's edges
    "autograd/record.py",  # result1 and record2: link written out for one or two inputs
    "autograd/forward_rules.py",  # a JVP's stand-in node: marks, not edges into a graph
    "_compile/runtime.py",  # a compiled region's replay, unrolled (and written as code)
}


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text())


def test_next_functions_written_only_by_the_graph_core():
    found = set()
    for name, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and target.attr == "next_functions":
                        found.add(name)
    assert found == EDGE_WRITERS


def _reads_version_counter(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "_vc"


def test_saved_records_built_only_by_the_recorder():
    builders = set()
    for name, tree in _sources():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Tuple)
                and len(node.elts) == 4
                and (_reads_version_counter(node.elts[0]) or isinstance(node.elts[0], ast.Name))
                and isinstance(node.elts[1], ast.Subscript)
                and (
                    _reads_version_counter(node.elts[1].value)
                    or isinstance(node.elts[1].value, ast.Name)
                )
                and ast.unparse(node.elts[1].value) == ast.unparse(node.elts[0])
            ):
                builders.add(name)  # (counter, counter[0], owner, index)
    assert builders == {"autograd/record.py"}
