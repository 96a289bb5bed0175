"""``torch.utils.tensorboard.SummaryWriter`` against PyTorch 2.13: the same calls written by
both, read back with TensorBoard's EventAccumulator, give the same records."""

import os

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import glassgrad
from glassgrad.utils.tensorboard import SummaryWriter

SIZE = {"images": 0, "histograms": 0, "scalars": 0, "tensors": 0}


def _write(writer_class, lib, log_dir):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(1000).astype(np.float32)
    picture = rng.random((3, 8, 6)).astype(np.float32)
    with writer_class(log_dir) as writer:
        for step in range(3):
            writer.add_scalar("loss", lib.tensor(1.5 / (step + 1)), step)
            writer.add_scalar("lr", 0.1 * step, step, new_style=True)
            writer.add_scalars("run", {"train": step * 2.0, "test": step * 3.0}, step)
        writer.add_histogram("weights", lib.tensor(values), 0)
        writer.add_histogram("coarse", values, 1, bins=10, max_bins=4)
        writer.add_image("picture", lib.tensor(picture), 0)
        writer.add_image("gray", lib.tensor(picture[0]), 0, dataformats="HW")
        writer.add_images("batch", lib.tensor(np.stack([picture, picture])), 0)
        writer.add_image("bytes", (picture * 255).astype(np.uint8), 0)
        writer.add_text("note", "**hello**", 2)
        writer.flush()
        writer.add_hparams(
            {"lr": 0.1, "opt": "sgd", "layers": 2, "flag": True},
            {"hparam/acc": 0.9},
            run_name="hp",
        )
    return log_dir


def _read(log_dir):
    events = EventAccumulator(log_dir, size_guidance=SIZE)
    events.Reload()
    tags = events.Tags()
    out = {"tags": {k: sorted(v) for k, v in tags.items() if isinstance(v, list)}}
    out["scalars"] = {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in tags["scalars"]
    }
    out["histograms"] = {
        tag: [(e.step, e.histogram_value) for e in events.Histograms(tag)]
        for tag in tags["histograms"]
    }
    out["images"] = {
        tag: [(e.step, e.width, e.height, e.encoded_image_string) for e in events.Images(tag)]
        for tag in tags["images"]
    }
    out["tensors"] = {
        tag: [(e.step, e.tensor_proto.SerializeToString()) for e in events.Tensors(tag)]
        for tag in tags["tensors"]
    }
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb")
    mine = _write(SummaryWriter, glassgrad, str(root / "mine"))
    theirs = _write(TorchWriter, torch, str(root / "theirs"))
    return mine, theirs


def test_main_run_reads_back_as_pytorchs(written):
    mine, theirs = (_read(d) for d in written)
    assert mine["tags"] == theirs["tags"]
    assert mine["scalars"] == theirs["scalars"]
    assert mine["scalars"]["loss"] == [(0, 1.5), (1, 0.75), (2, 0.5)]
    assert mine["histograms"] == theirs["histograms"]
    assert mine["images"] == theirs["images"]
    assert mine["tensors"] == theirs["tensors"]
    assert set(mine["images"]) == {"picture", "gray", "batch", "bytes"}


def test_add_scalars_writes_a_run_per_series(written):
    for run in ("run_train", "run_test"):
        mine, theirs = (_read(os.path.join(d, run)) for d in written)
        assert mine["scalars"] == theirs["scalars"] and list(mine["scalars"]) == ["run"]


def test_hparams_read_back_as_pytorchs(written):
    def plugin(log_dir):
        events = EventAccumulator(os.path.join(log_dir, "hp"))
        events.Reload()
        content = events.PluginTagToContent("hparams")
        parsed = {tag: HParamsPluginData.FromString(data) for tag, data in content.items()}
        return parsed, [(e.step, e.value) for e in events.Scalars("hparam/acc")]

    mine, theirs = (plugin(d) for d in written)
    assert mine == theirs
    start = mine[0]["_hparams_/session_start_info"].session_start_info.hparams
    assert start["opt"].string_value == "sgd" and start["lr"].number_value == 0.1


def test_errors_match_pytorch(tmp_path):
    for index, writer_class in enumerate((SummaryWriter, TorchWriter)):
        with writer_class(str(tmp_path / str(index))) as writer:
            with pytest.raises(TypeError, match="hparam_dict and metric_dict should be dictionary"):
                writer.add_hparams([], {})
            with pytest.raises(ValueError, match="The input has no element."):
                writer.add_histogram("h", np.zeros(0))
            with pytest.raises(AssertionError, match="Tensor should contain one element"):
                writer.add_scalar("s", np.ones(2))
            with pytest.raises(AssertionError, match="size of input tensor and input format"):
                writer.add_image("i", np.ones((2, 2)))
        writer.close()  # a second close does nothing


def test_add_graph_writes_the_models_graph(tmp_path):
    model = glassgrad.nn.Sequential(glassgrad.nn.Linear(3, 4), glassgrad.nn.ReLU())
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_graph(model, glassgrad.ones(2, 3))
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    nodes = {node.name: node for node in events.Graph().node}
    assert {"0.weight", "0.bias"} <= set(nodes)
    ops = {node.op for node in nodes.values()}
    assert {"ReluBackward0", "AddmmBackward0", "Parameter"} <= ops
    relu = next(n for n in nodes.values() if n.op == "ReluBackward0")
    assert [nodes[i].op for i in relu.input] == ["AddmmBackward0"]


def test_default_log_dir_as_pytorch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_x")
    writer.close()
    (run,) = os.listdir(tmp_path / "runs")
    assert run.endswith("_x") and writer.get_logdir() == os.path.join("runs", run)
