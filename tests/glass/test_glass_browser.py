"""The rendered SVGs display in a real headless browser (Chromium from the system's packages)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from glassgrad import glass
from glassgrad import seed_experiments as seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not os.environ.get("CI") and (CHROMIUM is None or shutil.which("dot") is None):
    pytest.skip("chromium or dot not installed (CI installs both)", allow_module_level=True)


@pytest.mark.parametrize("experiment", seed.EXPERIMENTS[:7], ids=lambda e: e.fn.__name__)
def test_svg_displays_in_chromium(experiment, tmp_path):
    with glass.record_flows():
        outcome = seed.run(experiment)
    graph = glass.draw(outcome.tensors["w"], params={**outcome.params, **outcome.tensors})
    svg = graph.render(tmp_path / "graph.svg")
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*command, "--dump-dom", svg.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert "<svg" in dom.stdout and "legend" in dom.stdout
    assert "∂w/∂" in dom.stdout  # the gradient labels reached the page
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*command, f"--screenshot={shot}", "--window-size=1200,600", svg.as_uri()],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert shot.exists() and shot.stat().st_size > 5000  # a real picture, not a blank page
