"""``glassgrad demo`` writes the pictures and answers; ``glassgrad explain`` runs torch scripts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from glassgrad import cli

SRC = str(Path(cli.__file__).resolve().parents[1])


def test_demo_writes_one_picture_per_experiment_and_answers(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    dots = sorted(tmp_path.glob("*.dot"))
    assert len(dots) == 8
    if shutil.which("dot"):
        assert len(list(tmp_path.glob("*.svg"))) == 8 and len(list(tmp_path.glob("*.png"))) == 8
    assert "bytes copied: 0" in out and "same data address (True)" in out
    assert "identical D gradients: True" in out


SCRIPT = textwrap.dedent(
    """
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 4)
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.body(x).detach())

    model = Net()
    x = torch.ones(2, 3)
    loss = model(x).sum()
    loss.backward()
    print("script done", torch.__name__)
    """
)

LEAF_SCRIPT = textwrap.dedent(
    """
    import torch
    w = torch.ones(3, requires_grad=True)
    loss = torch.tensor((w * 2).sum().item())
    loss.requires_grad = True
    loss.backward()
    """
)


def _run(tmp_path, text):
    script = tmp_path / "train.py"
    script.write_text(text)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "glassgrad", "explain", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )


def test_explain_runs_an_unmodified_torch_script(tmp_path):
    pytest.importorskip("glassgrad.nn.modules")
    import glassgrad.nn as gnn

    if not hasattr(gnn, "Linear"):
        pytest.skip("nn.Linear not available yet")
    done = _run(tmp_path, SCRIPT)
    assert done.returncode == 0, done.stderr
    assert "script done glassgrad" in done.stdout
    assert "model (Net):" in done.stdout
    assert "passes `" in done.stdout and ".detach()` at train.py:12" in done.stdout


def test_explain_catches_the_leaf_loss(tmp_path):
    done = _run(tmp_path, LEAF_SCRIPT)
    assert done.returncode == 0, done.stderr
    assert "is a leaf tensor that requires grad (requires_grad set by hand at train.py:5)" in (
        done.stdout
    )
