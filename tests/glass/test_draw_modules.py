"""``glass.draw`` on real models: one cluster per nn.Module, collapsed to a depth, labelled
``path: op``, with no_grad regions, detach cuts and frozen parameters as on the seed's graph."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import glassgrad
from glass_models import build
from glassgrad import glass
from glassgrad.nn.modules import _hooks
from glassgrad.nn.modules import module as module_api

models = build(glassgrad)


def _labels(source: str) -> list[str]:
    return re.findall(r'label="((?:[^"\\]|\\.)*)"', source)


def _graph_nodes(loss) -> int:
    """Independent count of the ops behind ``loss`` (AccumulateGrad excluded)."""
    stack, seen = [loss.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or type(node).__name__ == "AccumulateGrad":
            continue
        seen.add(id(node))
        stack += [edge[0] for edge in node.next_functions]
    return len(seen)


def test_global_module_hooks_run_first_and_can_replace_the_output():
    order = []
    layer = glassgrad.nn.Linear(2, 2)
    layer.register_forward_pre_hook(lambda m, a: order.append("local pre"))
    layer.register_forward_hook(lambda m, a, o: order.append("local post"))
    with module_api.register_module_forward_pre_hook(lambda m, a: order.append("global pre")):
        with module_api.register_module_forward_hook(lambda m, a, o: order.append("global post")):
            layer(glassgrad.ones(2))
    assert order == ["global pre", "local pre", "global post", "local post"]  # PyTorch's order
    handle = module_api.register_module_forward_hook(lambda m, a, o: o * 0)
    assert layer(glassgrad.ones(2)).abs().sum().item() == 0
    handle.remove()
    assert not _hooks.global_forward_hooks and not _hooks.global_forward_pre_hooks


def test_record_modules_switches_its_hooks_off_again():
    with glass.record_modules():
        assert _hooks.global_forward_hooks and _hooks.global_forward_pre_hooks
    assert not _hooks.global_forward_hooks and not _hooks.global_forward_pre_hooks


def test_a_forward_that_raised_does_not_become_the_next_models_parent():
    class Broken(glassgrad.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = glassgrad.nn.Linear(2, 2)

        def forward(self, x):
            self.inner(x)
            raise RuntimeError("broken forward")

    model = models.SmallCNN()
    with glass.record_modules():
        with pytest.raises(RuntimeError, match="broken forward"):
            Broken()(glassgrad.ones(1, 2))
        loss = model(glassgrad.ones(1, 1, 8, 8)).sum()
    scope = glass._scope.scope_of(loss.grad_fn.next_functions[0][0])
    assert (scope.root_kind, scope.path, scope.kind) == ("SmallCNN", "head", "Linear")


def test_no_grad_records_inside_layers_name_the_op_not_call():
    model = models.SmallCNN()
    with glassgrad.no_grad():
        h = model.stem(glassgrad.ones(1, 1, 6, 6))
    assert h._extra.prov.op == "relu"
    source = glass.draw(model.head(model.features(h).mean((2, 3))).sum(), params=model).source
    assert "__call__" not in source


def test_small_cnn_clusters_regions_and_frozen_parameters():
    model = models.SmallCNN()
    with glass.record_modules():
        loss = model(glassgrad.ones(2, 1, 8, 8)).sum()
    loss.backward()
    graph = glass.draw(loss, params=model)
    labels = _labels(graph.source)
    assert "__call__" not in graph.source
    for label in ("stem.0: conv2d", "stem.1: relu", "features.0: convolution", "head: addmm"):
        assert label in labels
    for cluster in ("stem (Sequential)", "features.1 (BatchNorm2d)", "head (Linear)"):
        assert cluster in labels
    region = re.search(r'label="(no_grad\(\) at glass_models.py:\d+)"', graph.source)
    assert region is not None
    line = int(region.group(1).rsplit(":", 1)[1])
    lines = Path(build.__code__.co_filename).read_text().splitlines()
    assert lines[line - 1].strip() == "h = self.stem(x)"  # the user's line inside the region
    inside = graph.source.split(region.group(0))[1].split("\n  }")[0]
    assert "stem.0: conv2d" in inside and "stem.0.weight" in inside  # used only in the region
    assert "features.0: convolution" not in inside
    assert re.search(
        r'label="features\.1\.weight\\n\[8\]", xlabel="requires_grad=False"', graph.source
    )
    assert graph.summary["frozen"] == ["features.1.weight"]
    collapsed = glass.draw(loss, params=model, depth=1).source
    assert 'label="stem (Sequential)\\n2 ops, 2 parameters\\nno_grad() at ' in collapsed
    assert 'label="features (Sequential)\\n3 ops, 4 parameters, 1 frozen"' in collapsed


def test_resnet18_at_depth_1_is_one_box_per_top_level_module():
    model = models.ResNet18()
    with glass.record_modules():
        loss = model(glassgrad.randn(2, 3, 32, 32)).logsumexp(1).mean()
    loss.backward()
    source = glass.draw(loss, params=model, depth=1).source
    boxes = dict(re.findall(r'"module:([\w.]+)" \[label="[^"]*\\n(\d+) ops?, ', source))
    assert set(boxes) == {"conv1", "bn1", "relu", "maxpool", "avgpool", "fc"} | {
        f"layer{i}" for i in range(1, 5)
    }
    # conv, bn, relu, conv, bn, add, relu per block; a downsample adds a conv and a bn
    assert [int(boxes[f"layer{i}"]) for i in range(1, 5)] == [14, 16, 16, 16]
    loose = re.findall(r"^  n\d+ \[", source, re.M)  # ops drawn outside every module
    assert sum(map(int, boxes.values())) + len(loose) == _graph_nodes(loss)
    for name in ("layer1", "layer3", "fc"):
        count = len(list(getattr(model, name).parameters()))
        assert re.search(rf'"module:{name}" \[label="[^"]*, {count} parameters', source)
    assert source.count("->") < 30  # readable: a chain of a dozen boxes
    opened = glass.draw(loss, params=model, depth=1, expand=["layer2.0"]).source
    assert "layer2.0.conv1: convolution" in opened and "layer2.0.downsample.0: convolution" in (
        opened
    )
    assert '"module:layer2.1"' in opened and '"module:layer2"' not in opened
    assert "layer2.1.conv1: convolution" not in opened
    if shutil.which("dot"):
        assert glass.draw(loss, params=model, depth=1)._repr_svg_().lstrip().startswith("<")


def test_small_transformer_labels_attention_ops_and_tied_weights():
    model = models.TinyTransformer()
    with glass.record_modules():
        logits = model(glassgrad.randint(0, 50, (2, 5)))
    loss = glassgrad.nn.functional.cross_entropy(logits.reshape(-1, 50), glassgrad.zeros(10).long())
    loss.backward()
    full = glass.draw(loss, params=model, depth=3, expand=["encoder.layers.0.self_attn"]).source
    assert re.search(r'label="encoder\.layers\.0\.self_attn: \w*softmax"', full)
    assert "encoder.layers (ModuleList)" in full
    assert 'label="embed.weight\\n= lm_head.weight\\n[50, 16]"' in full
    assert '"module:encoder.layers.1"' in full  # the second layer stays collapsed
    small = glass.draw(loss, params=model, depth=1).source
    assert set(re.findall(r'"module:([\w.]+)" \[', small)) == {"embed", "encoder", "lm_head"}


def test_detach_cut_between_modules_is_drawn_red():
    class Net(glassgrad.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = glassgrad.nn.Linear(3, 4)
            self.head = glassgrad.nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.body(x).detach())

    model = Net()
    with glass.record_modules():
        loss = model(glassgrad.ones(2, 3)).sum()
    source = glass.draw(loss, params=model, depth=1).source
    # body's graph is freed at once (nothing holds it): its parameters stay in its box
    assert 'label="body (Linear)\\n0 ops, 2 parameters"' in source
    cut = re.search(r' -> "module:head" \[label="✂ [^"]*\.detach\(\)\\n[^"]+:\d+"', source)
    assert cut is not None and 'color="red"' in source


def test_depth_must_be_positive():
    x = glassgrad.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="depth must be at least 1"):
        glass.draw(x.sum(), depth=0)


def test_jupyter_reprs(monkeypatch):
    weight = glassgrad.ones(2, requires_grad=True)
    graph = glass.draw((weight * 2).sum())
    assert repr(graph).startswith("<glassgrad Graph: ")
    if shutil.which("dot"):
        assert "<svg" in graph._repr_svg_()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert graph._repr_svg_() is None  # Jupyter falls back to the text form
