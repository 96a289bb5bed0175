"""Differential tests: every snippet of the gradient-control spec, run on PyTorch and on glassgrad.

Each case in ``semantics_cases.CASES`` runs after the spec's hidden preamble, in a fresh namespace,
with ``torch`` (and ``torch.nn``, ``torch.nn.functional``, ``torch.optim``, ``torch.autograd``)
bound to the module under test. Its stdout must equal the output PyTorch 2.13.0 printed when the
spec was written. The ``torch`` parametrisation runs the oracle and so proves the fixture; the
``glassgrad`` parametrisation is the actual test of this project.
"""

import contextlib
import difflib
import importlib
import importlib.metadata
import io
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest

from semantics_cases import CASES, Case

# The spec's hidden preamble (its section 0), verbatim.
PREAMBLE = """\
import contextlib, warnings
import torch

def _show(message, category, filename, lineno, file=None, line=None):
    print(f"{category.__name__}: {message}")
warnings.showwarning = _show

@contextlib.contextmanager
def expect_error():
    try:
        yield
    except Exception as e:
        print(f"{type(e).__name__}: {e}")
    else:
        print("(no error)")
"""

# What `import torch...` inside a snippet resolves to, for each implementation under test.
SHIMMED = {
    "torch": "",
    "torch.nn": ".nn",
    "torch.nn.functional": ".nn.functional",
    "torch.optim": ".optim",
    "torch.autograd": ".autograd",
}

# Features glassgrad does not have yet -> where they are tracked. A case whose `needs` names one
# of these is a strict xfail for glassgrad, so the day the feature lands its cases XPASS and fail:
# then delete the entry here.
MISSING_FEATURES: dict[str, str] = {
    # ("rng", PyTorch-identical random streams after manual_seed, landed: glassgrad's generator
    # is PyTorch's Mersenne Twister and its kernels' transformations)
}

# Cases that already pass on glassgrad although a feature they need is still listed above as
# missing (ops land one at a time): case id -> what landed. Delete an entry with its feature.
LANDED_EARLY: dict[str, str] = {}

# Lines where glassgrad may legitimately print something else, because PyTorch prints the name
# of the module that implements a class. Case id -> {expected line: (regex for glassgrad, why)}.
GLASSGRAD_DIFFERENCES = {
    "8.1-hook-on-leaf": {
        "torch.utils.hooks RemovableHandle": (
            r"glassgrad(\.\w+)* RemovableHandle",
            "type(h).__module__ is the module that defines RemovableHandle",
        ),
    },
}

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
# PyTorch's C++ warnings end with the build machine's source location; the spec says a compatible
# implementation may append its own location or nothing.
_TRIGGERED = re.compile(r" \(Triggered internally at .*?\.\)", re.DOTALL)


def normalise(text: str) -> list[str]:
    """Return the lines of `text` with memory addresses and C++ source locations blanked out."""
    text = _TRIGGERED.sub("", text)
    return _ADDRESS.sub("0x?", text).splitlines()


def resolve_modules(implementation: str) -> dict[str, ModuleType | None]:
    """Map each shimmed `torch...` name to the implementation's module (None: import fails)."""
    modules: dict[str, ModuleType | None] = {}
    for name, suffix in SHIMMED.items():
        target = name if implementation == "torch" else implementation + suffix
        try:
            modules[name] = importlib.import_module(target)
        except ImportError:
            modules[name] = None
    return modules


@contextlib.contextmanager
def shimmed(modules: dict[str, ModuleType | None]):
    """Bind `modules` in sys.modules for the duration of the block, then restore what was there."""
    saved = {name: sys.modules.get(name, _ABSENT) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is _ABSENT:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


_ABSENT = object()


def run_case(case: Case, modules: dict[str, ModuleType | None]) -> str:
    """Run the preamble and `case.code` in a fresh namespace; return everything printed."""
    module = modules["torch"]
    namespace = {"__name__": "__main__"}
    stdout = io.StringIO()
    with shimmed(modules), warnings.catch_warnings(), contextlib.redirect_stdout(stdout):
        # PyTorch shows some warnings once per process or per location; every case starts afresh.
        warnings.resetwarnings()
        warnings.simplefilter("default")
        try:
            exec(compile(PREAMBLE, "<preamble>", "exec", dont_inherit=True), namespace)
            exec(compile(case.code, f"<{case.id}>", "exec", dont_inherit=True), namespace)
        except Exception as e:
            print(f"<uncaught {type(e).__name__}: {e}>")
        finally:
            # Some snippets leave grad mode off (the re-entered no_grad quirk of 5.3).
            with contextlib.suppress(Exception):
                module.set_grad_enabled(True)
    return stdout.getvalue()


def assert_same_output(case: Case, actual: str, allowed: dict[str, tuple[str, str]]) -> None:
    """Compare normalised output line by line, accepting only the listed per-line differences."""
    expected_lines = normalise(case.output)
    actual_lines = normalise(actual)
    for i, (expected, got) in enumerate(zip(expected_lines, actual_lines, strict=False)):
        if expected in allowed and re.fullmatch(allowed[expected][0], got):
            actual_lines[i] = expected
    if actual_lines != expected_lines:
        diff = difflib.unified_diff(expected_lines, actual_lines, "spec", "actual", lineterm="")
        pytest.fail(f"output of {case.id} differs:\n" + "\n".join(diff), pytrace=False)


def run_all(implementation: str) -> dict[str, str]:
    """Run every case on `implementation` in this process, in fixture order; id -> stdout."""
    modules = resolve_modules(implementation)
    return {case.id: run_case(case, modules) for case in CASES}


# PyTorch prints some C++ warnings once per process (TORCH_WARN_ONCE: `float()` of a tensor that
# requires grad, `backward(create_graph=True)`), and nothing in Python can reset that. So the
# oracle runs every case once, through this same harness, in a fresh interpreter of its own.
_ORACLE_RUNNER = """\
import json, sys
sys.path.insert(0, sys.argv[1])
import test_semantics
outputs = test_semantics.run_all("torch")
with open(sys.argv[2], "w") as f:
    json.dump(outputs, f)
"""


@pytest.fixture(scope="session")
def torch_outputs(tmp_path_factory) -> dict[str, str]:
    """What PyTorch 2.13 (the version the spec was captured with) prints for each case."""
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("PyTorch is not installed")
    if not version.startswith("2.13."):
        pytest.skip(f"the spec was captured with PyTorch 2.13, found {version}")
    path = tmp_path_factory.mktemp("oracle") / "outputs.json"
    tests_dir = str(Path(__file__).resolve().parent)
    command = [sys.executable, "-c", _ORACLE_RUNNER, tests_dir, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"the oracle run failed:\n{done.stderr}", pytrace=False)
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def glassgrad_modules() -> dict[str, ModuleType | None]:
    """glassgrad's modules, to be bound to the `torch...` names."""
    return resolve_modules("glassgrad")


def _params():
    for case in CASES:
        yield pytest.param("torch", case, id=f"torch-{case.id}")
    for case in CASES:
        missing = [
            f"{need} ({MISSING_FEATURES[need]})" for need in case.needs if need in MISSING_FEATURES
        ]
        if case.id in LANDED_EARLY:
            missing = []
        marks = (
            [pytest.mark.xfail(strict=True, reason="needs " + ", ".join(missing))]
            if missing
            else []
        )
        yield pytest.param("glassgrad", case, id=f"glassgrad-{case.id}", marks=marks)


def test_fixture_is_well_formed():
    """Ids are unique, needs name known features, the exception lists are not stale."""
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert all(set(case.needs) <= {"nn", "optim", "ops", "rng"} for case in CASES)
    by_id = {case.id: case for case in CASES}
    for case_id in LANDED_EARLY:
        assert set(by_id[case_id].needs) & set(MISSING_FEATURES), f"stale LANDED_EARLY: {case_id}"
    for case_id, lines in GLASSGRAD_DIFFERENCES.items():
        assert set(lines) <= set(normalise(by_id[case_id].output)), case_id


@pytest.mark.parametrize(("implementation", "case"), list(_params()))
def test_semantics(implementation: str, case: Case, request: pytest.FixtureRequest):
    """The snippet prints what PyTorch 2.13 printed. On torch this proves fixture and harness."""
    if implementation == "torch":
        assert_same_output(case, request.getfixturevalue("torch_outputs")[case.id], {})
    else:
        actual = run_case(case, request.getfixturevalue("glassgrad_modules"))
        assert_same_output(case, actual, GLASSGRAD_DIFFERENCES.get(case.id, {}))
