"""``glassgrad explain SCRIPT.py`` runs a script exactly as ``python SCRIPT.py`` would, and
prints its report after the script's own output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from glassgrad import cli

SRC = str(Path(cli.__file__).resolve().parents[1])

HELPER = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.body(x).detach())
"""

TRAIN = """
import sys
import torch
from {helper} import Net

device = "cuda" if torch.cuda.is_available() else "cpu"
torch.cuda.manual_seed_all(0)
torch.backends.cudnn.benchmark = True
model = Net().to(device)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
print("argv", sys.argv[1:], __name__, sys.argv[0].endswith("{main}"))
for step in range(3):
    opt.zero_grad()
    loss = model(torch.ones(2, 3, device=device)).pow(2).sum()
    loss.backward()
    opt.step()
    print("script step", step)
if len(sys.argv) > 1 and sys.argv[1] == "boom":
    raise ValueError("the script failed")
if len(sys.argv) > 1 and sys.argv[1] == "message":
    sys.exit("stopped with a message")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


@pytest.fixture
def project(tmp_path):
    """A script importing a module beside it, and the same as a package run with -m."""
    (tmp_path / "proj" / "pkg").mkdir(parents=True)
    (tmp_path / "proj" / "helper.py").write_text(HELPER)
    (tmp_path / "proj" / "train.py").write_text(TRAIN.format(helper="helper", main="train.py"))
    (tmp_path / "proj" / "pkg" / "__init__.py").write_text("")
    (tmp_path / "proj" / "pkg" / "helper.py").write_text(HELPER)
    (tmp_path / "proj" / "pkg" / "main.py").write_text(
        TRAIN.format(helper="pkg.helper", main="main.py")
    )
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


def _explain(cwd, *args):
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "glassgrad", "explain", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=cwd,
    )


def test_script_runs_as_python_runs_it_and_the_report_comes_after_its_output(project):
    # Run from another folder: the script's own folder must be first on sys.path.
    done = _explain(project / "elsewhere", project / "proj" / "train.py", 3, "--html", "x")
    assert done.returncode == 3, done.stderr  # the script's exit status
    out = done.stdout
    assert "argv ['3', '--html', 'x'] __main__ True" in out  # its argv, options included
    assert "glassgrad explain: report written" not in out  # --html after the script is its own
    report = out.index("glassgrad explain\n")
    assert out.rindex("script step 2") < report  # after everything the script printed
    assert "script step" not in out[report:]
    assert "gradient flow at backward() #1 (train.py:" in out[report:]
    assert "optimizers: opt (SGD)" in out and "model (Net, optimizer opt):" in out
    assert ".detach()` at helper.py:11" in out


def test_module_mode_step_and_html(project, tmp_path):
    page = tmp_path / "out" / "report.html"
    done = _explain(project / "proj", "--step", 2, "--html", page, "-m", "pkg.main", 0, "-x")
    assert done.returncode == 0, done.stderr
    assert "argv ['0', '-x'] __main__ True" in done.stdout
    assert "gradient flow at backward() #2 (main.py:" in done.stdout
    assert f"report written to {page}" in done.stdout
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<table class="glass-explain">' in text
    assert text.count("<svg") >= (2 if _has("dot") else 1)  # the figure, the drawing
    # self-contained: nothing the browser would fetch (namespace URIs are names, not fetched)
    assert "<link" not in text and "<script" not in text and "@import" not in text
    assert not re.search(r"""(?:href|src)\s*=\s*["'](?!#|data:)""", text)
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", text)


def test_step_beyond_the_last_backward_says_so(project):
    done = _explain(project / "proj", "--step", 9, "train.py")
    assert done.returncode == 0, done.stderr
    assert "the script called backward() 3 times, so there is no backward() #9" in done.stdout


def test_exit_status_of_a_failing_script(project):
    done = _explain(project / "proj", "train.py", "boom")
    assert done.returncode == 1
    assert "ValueError: the script failed" in done.stderr
    assert 'File "' in done.stderr and "train.py" in done.stderr
    assert "glass/script.py" not in done.stderr  # the runner's own frames are not shown
    assert "runpy" not in done.stderr
    assert "gradient flow at backward() #1" in done.stdout  # the report still follows
    done = _explain(project / "proj", "train.py", "message")
    assert done.returncode == 1 and "stopped with a message" in done.stderr


def test_every_model_and_optimizer_is_covered(tmp_path):
    script = tmp_path / "gan.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            import torch.nn as nn
            G = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
            D = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
            opt_g = torch.optim.Adam(G.parameters())
            opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
            fake = G(torch.randn(8, 2))
            loss = D(fake.detach()).mean() - D(torch.randn(8, 2)).mean()
            loss.backward()
            """
        )
    )
    done = _explain(tmp_path, script.name)
    assert done.returncode == 0, done.stderr
    assert "optimizers: opt_g (Adam), opt_d (SGD)" in done.stdout
    assert "G (Sequential, optimizer opt_g):" in done.stdout
    assert "D (Sequential, optimizer opt_d):" in done.stdout
    assert "fake.detach()` at gan.py:9" in done.stdout


def test_usage_errors(tmp_path, capsys):
    missing = tmp_path / "missing.py"
    assert cli.main(["explain", str(missing)]) == 2  # as python: can't open file, status 2
    assert f"can't open file '{missing}': [Errno 2] No such file or directory" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exc:
        cli.main(["explain", "--step", "0", "x.py"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["explain"])
    assert exc.value.code == 2


def _has(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None


def test_autograd_backward_counts_as_one_pass(tmp_path):
    script = tmp_path / "two.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            net = torch.nn.Linear(2, 1)
            net(torch.ones(1, 2)).sum().backward()
            frozen = torch.nn.Linear(2, 2).requires_grad_(False)
            torch.autograd.backward([net(frozen(torch.ones(1, 2))).sum()])
            """
        )
    )
    done = _explain(tmp_path, "--step", 2, script.name)
    assert done.returncode == 0, done.stderr
    assert "gradient flow at backward() #2 (two.py:6" in done.stdout
    done = _explain(tmp_path, "--step", 3, script.name)
    assert "the script called backward() 2 times" in done.stdout


def test_tied_weights_are_listed_under_every_name(tmp_path):
    shutil.copy(Path(__file__).parents[1] / "glass_models.py", tmp_path / "glass_models.py")
    (tmp_path / "gpt.py").write_text(
        textwrap.dedent(
            """
            import torch
            from glass_models import build

            model = build(torch).TinyTransformer()
            logits = model(torch.randint(0, 50, (2, 5)))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 50), torch.zeros(10).long())
            loss.backward()
            """
        )
    )
    page = tmp_path / "gpt.html"
    done = _explain(tmp_path, "--html", page, "gpt.py")
    assert done.returncode == 0, done.stderr
    assert "embed.weight = lm_head.weight" in done.stdout  # nanoGPT's wte/lm_head, both names
    assert "<td>embed.weight = lm_head.weight</td>" in page.read_text(encoding="utf-8")


def test_findings_about_missing_parameters_are_made_for_the_whole_program(tmp_path):
    # Two models, one optimizer made before a layer was replaced: no model's table may claim
    # the other model's weights are unregistered, and the stale optimizer is named once.
    script = tmp_path / "replaced.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            nn = torch.nn
            model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
            critic = nn.Linear(1, 1)
            opt = torch.optim.SGD(list(model.parameters()) + list(critic.parameters()), lr=0.1)
            model[2] = nn.Linear(4, 1)
            loss = critic(model(torch.ones(2, 3))).sum()
            loss.backward()
            """
        )
    )
    done = _explain(tmp_path, script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "not among the parameters explained" not in out
    assert out.count("tensor(s) that are not parameters of the model") == 1
    assert "note: opt: the optimizer holds 2 tensor(s)" in out
    assert "not_in_optimizer" in out  # model[2]'s new weights: in no param group
