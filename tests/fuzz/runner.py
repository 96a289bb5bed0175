"""Runs a program's lines on one library and records what every line left behind."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# Defined in every run's namespace and printed at the top of every reproducer.
PRELUDE = '''F = torch.nn.functional
_log = []


def _w(t):
    """Fixed weights for a loss term: the gradient flowing back differs per element."""
    return torch.tensor(np.linspace(0.5, 1.5, t.numel()).reshape(tuple(t.shape)), dtype=t.dtype)
'''


@dataclass
class Line:
    """One step: its source, the variant it came from, and the expressions to look at after it."""

    src: str
    tag: str
    snap: tuple = ()
    raises: bool = False  # PyTorch raised here when last run: the script catches it


class Program:
    """A program's lines, and the expressions looked at once all of them ran."""

    def __init__(self, lines=None, watch=None):
        self.lines = [] if lines is None else lines
        self.watch = [] if watch is None else watch

    def __repr__(self) -> str:
        return "\n" + self.source(header=False)

    def source(self, header: bool = True, show: int | None = None) -> str:
        """The program as a runnable script (PyTorch; ``import glassgrad as torch`` for ours).

        Lines PyTorch refuses print their exception and go on; ``show``: the index of a line
        after which the values it looks at are printed."""
        body = []
        for index, line in enumerate(self.lines):
            if line.raises:
                body.append(
                    f"try:\n    {line.src}\nexcept Exception as error:\n"
                    "    print(type(error).__name__, error)"
                )
            else:
                body.append(line.src)
            if index == show and line.snap:
                body.append(f"print({', '.join(line.snap)})")
        body = "\n".join(body)
        if not header:
            return body
        shown = ", ".join(self.watch)
        return (
            "import numpy as np\nimport torch  # or: import glassgrad as torch\n\n"
            + PRELUDE
            + "\n\n"
            + body
            + (f"\nprint([(t, t.grad) for t in ({shown},)])" if self.watch else "")
            + "\nprint(_log)\n"
        )


def namespace(lib):
    ns = {"torch": lib, "np": np}
    exec(PRELUDE, ns)  # noqa: S102 - the prelude is this module's own text
    return ns


def raised(error: BaseException) -> tuple:
    return ("raise", type(error).__name__, str(error))


def _attr(read):
    try:
        return read()
    except Exception as error:  # noqa: BLE001 - the exception is the recorded value
        return raised(error)


def snapshot(value):
    """What is compared of a value: for a tensor its dtype, shape, flags, grad_fn and values."""
    if isinstance(value, (tuple, list)):
        return ("seq", type(value).__name__ in ("tuple", "list"), [snapshot(v) for v in value])
    if value is None or isinstance(value, (bool, int, float, str)):
        return ("py", value)
    if not hasattr(value, "grad_fn"):
        return ("other", type(value).__name__)
    return (
        "tensor",
        _attr(lambda: str(value.dtype)),
        _attr(lambda: tuple(value.shape)),
        _attr(lambda: value.requires_grad),
        _attr(lambda: value.is_leaf),
        _attr(lambda: None if value.grad_fn is None else type(value.grad_fn).__name__),
        _attr(lambda: np.array(value.detach().numpy(), copy=True)),
    )


def _evaluate(expr, ns):
    try:
        return snapshot(eval(expr, ns))  # noqa: S307 - the program's own expressions
    except Exception as error:  # noqa: BLE001 - the exception is the recorded value
        return raised(error)


def run(lib, program: Program, ns=None):
    """The trace of ``program`` on ``lib``: per line its outcome, then the watched values,
    their ``.grad`` and the hook log."""
    ns = namespace(lib) if ns is None else ns
    trace = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for line in program.lines:
            trace.append(run_line(line, ns))
        final = [_evaluate(expr, ns) for expr in program.watch]
        grads = [_evaluate(f"({expr}).grad", ns) for expr in program.watch]
        log = [(tag, snapshot(grad)) for tag, grad in ns["_log"]]
    return trace, final, grads, log


def run_line(line: Line, ns):
    try:
        exec(compile(line.src, "<fuzz>", "exec"), ns)  # noqa: S102 - the program's own lines
    except Exception as error:  # noqa: BLE001 - the exception is the recorded outcome
        return raised(error)
    return ("ok", [_evaluate(expr, ns) for expr in line.snap])
