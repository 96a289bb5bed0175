"""glass.draw: the article's pictures, checked on the DOT source and rendered by dot."""

from __future__ import annotations

import re
import shutil

import pytest

import glassgrad
from glassgrad import glass
from glassgrad import seed_experiments as seed
from glassgrad.glass._dot import GraphvizNotFound

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def _draw(fn):
    with glass.record_flows():
        outcome = seed.run(next(e for e in seed.EXPERIMENTS if e.fn is fn))
    graph = glass.draw(outcome.tensors["w"], params={**outcome.params, **outcome.tensors})
    return graph, outcome


def _node_ids(source: str, label_start: str) -> list[str]:
    return re.findall(rf'^\s*(\w+) \[label="{re.escape(label_start)}\\n', source, re.M)


def _edges(source: str, cls: str) -> list[str]:
    return [line for line in source.splitlines() if "->" in line and f'class="{cls}' in line]


def test_normal_labels_every_edge_with_the_articles_gradients():
    graph, _ = _draw(seed.normal)
    labels = graph.summary["labels"]
    want = {"a": 935, "b": 55, "c": 407, "d": 11, "e": 192, "f": 1, "x": 110, "y": 55, "z": 11}
    for name, value in want.items():
        assert labels[name] == f"∂w/∂{name} = {value:g}"
        assert f"∂w/∂{name} = {value:g}" in graph.source
    assert not _edges(graph.source, "cut") and "cluster_nograd" not in graph.source
    assert 'shape="doublecircle"' in graph.source and "legend" in graph.source


@pytest.mark.parametrize("fn, name", [(seed.detach_y, "y"), (seed.detach_z, "z")])
def test_detach_is_one_red_cut_edge(fn, name):
    graph, _ = _draw(fn)
    cuts = _edges(graph.source, "cut detach")
    assert len(cuts) == 1 and f"✂ {name}.detach()" in cuts[0] and 'color="red"' in cuts[0]
    assert "seed_experiments.py:" in cuts[0]
    assert graph.summary["cut"] == [name]
    upstream = {"y": ["a", "b", "x"], "z": ["a", "b", "c", "d", "x"]}[name]
    for leaf in upstream:
        assert leaf not in graph.summary["labels"]  # nothing flowed past the cut
    assert graph.summary["labels"]["e"] == "∂w/∂e = 192"


@pytest.mark.parametrize(
    "fn, name, inside", [(seed.no_grad_y, "y", "x"), (seed.no_grad_z, "z", "y")]
)
def test_no_grad_ops_sit_in_one_grey_cluster(fn, name, inside):
    graph, _ = _draw(fn)
    match = re.search(r"subgraph cluster_nograd0 \{(.*?)\n  \}", graph.source, re.S)
    assert match and "fillcolor=grey90" in match.group(1)
    assert 'label="no_grad() at seed_experiments.py:' in match.group(1)
    assert f'label="{name}\\n' in match.group(1)  # the tensor made there is inside the region
    assert match.group(1).count('class="op') == 2  # the multiply and the add
    assert "cluster_nograd1" not in graph.source
    assert sorted(graph.summary["grey"]) == sorted([name, "mul"]) or name in graph.summary["grey"]
    assert not _edges(graph.source, "cut detach")


@pytest.mark.parametrize("fn, frozen", [(seed.frozen_cd, "cd"), (seed.frozen_ef, "ef")])
def test_frozen_leaves_are_grey_and_the_graph_is_not_cut(fn, frozen):
    graph, _ = _draw(fn)
    assert sorted(graph.summary["frozen"]) == list(frozen)
    for leaf in frozen:
        line = next(ln for ln in graph.source.splitlines() if f'label="{leaf}\\n' in ln)
        assert 'fillcolor="grey80"' in line and "requires_grad=False" in line
        assert leaf not in graph.summary["labels"]
    assert graph.summary["labels"]["a"] == "∂w/∂a = 935"  # the gradient flows past them
    assert not _edges(graph.source, "cut detach") and "cluster_nograd" not in graph.source


@needs_dot
@pytest.mark.parametrize("experiment", seed.EXPERIMENTS[:7], ids=lambda e: e.fn.__name__)
def test_dot_renders_valid_svg(experiment, tmp_path):
    graph, _ = _draw(experiment.fn)
    path = graph.render(tmp_path / "graph", format="svg")
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "</svg>" in text
    assert "<title>" in text and ">w<" in text.replace("\n", "")
    assert graph._repr_svg_().count("<svg") == 1


def test_without_dot_source_works_and_render_says_how_to_install(monkeypatch, tmp_path):
    graph, _ = _draw(seed.detach_y)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert graph.source.startswith("digraph")
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        graph.render(tmp_path / "g.svg")


def test_names_come_from_the_callers_variables():
    weight = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    scale = glassgrad.tensor(3.0, requires_grad=True)
    loss = (weight * scale).sum()
    source = glass.draw(loss).source
    assert 'label="weight\\n[2]"' in source and 'label="scale\\n3"' in source
    assert 'label="loss\\n' in source


def test_depth_collapses_modules_into_boxes():
    params = {
        f"block{i}.layer.weight": glassgrad.tensor(float(i + 1), requires_grad=True)
        for i in range(3)
    }
    out = glassgrad.tensor(1.0)
    for weight in params.values():
        out = out * weight
    source = glass.draw(out, params=params, depth=1).source
    assert source.count('class="module"') == 3 and '"module:block0"' in source
    assert "block0.layer.weight" not in source


def test_deep_graph_draws_without_recursion():
    x = glassgrad.tensor(1.0, requires_grad=True)
    h = x
    for _ in range(5000):
        h = h * 1.0001
    source = glass.draw(h, legend=False).source
    assert source.count('class="op MulBackward0"') == 5000
