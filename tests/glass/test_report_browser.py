"""``glassgrad explain --html`` writes one page that a real headless browser displays: the
explain tables, the gradient-flow figure and the drawings (Chromium from the system's packages,
as in test_glass_browser.py)."""

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
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
FLAGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not os.environ.get("CI") and (CHROMIUM is None or shutil.which("dot") is None):
    pytest.skip("chromium or dot not installed (CI installs both)", allow_module_level=True)

SCRIPT = """
import torch
from glass_models import build

models = build(torch)
cnn = models.SmallCNN()
resnet = models.ResNet18()
opt = torch.optim.SGD(list(cnn.parameters()) + list(resnet.parameters()), lr=0.1)
loss = cnn(torch.ones(2, 1, 8, 8)).sum() + resnet(torch.randn(2, 3, 32, 32)).logsumexp(1).mean()
loss.backward()
opt.step()
print("trained")
"""


def test_html_report_displays_in_chromium(tmp_path):
    shutil.copy(Path(__file__).parents[1] / "glass_models.py", tmp_path / "glass_models.py")
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT))
    page = tmp_path / "report.html"
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-m", "glassgrad", "explain", "--html", str(page), "train.py"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "cnn (SmallCNN, optimizer opt):" in done.stdout
    assert "resnet (ResNet18, optimizer opt):" in done.stdout
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*command, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count('<table class="glass-explain">') == 2
    assert dom.count('class="glass-flow"') == 2 and dom.count('class="glass-graph"') == 2
    assert "no_grad() at glass_models.py:" in dom  # the CNN's grey stem, drawn collapsed
    assert "layer4 (Sequential)" in dom and "stem.0.weight" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*command, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert shot.exists() and shot.stat().st_size > 20000  # a real page, not a blank one
