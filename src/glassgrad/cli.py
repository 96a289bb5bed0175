"""The ``glassgrad`` command line: ``glassgrad demo`` tabulates the seed article's gradients."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence

EXPLANATION = (
    "Each column runs the article's graph y = a*x + b, z = c*y + d, w = e*z + f on fresh leaves "
    "and calls w.backward(); each cell is that leaf's .grad afterwards, and None means no "
    "gradient reached it (the article prints tensor(0.) there only because it zeroed .grad "
    "between runs). detach() and no_grad() both cut the graph: every leaf upstream of the cut "
    "(a, b, x behind y; c, d as well behind z) gets nothing, while the leaves that join after "
    "the cut still get theirs. requires_grad=False on leaves cuts nothing: only the frozen "
    "leaves go without, and the gradient still flows past them to everything upstream, which is "
    "why a frozen pretrained block in the middle of a model still lets the layers before it "
    "train. Setting requires_grad on a computed tensor such as y is refused with the "
    "RuntimeError above, PyTorch's message word for word, which points to detach() instead."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``glassgrad`` command line and return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassgrad",
        description="Automatic differentiation on NumPy with PyTorch's API, made of glass.",
    )
    commands = parser.add_subparsers(title="commands", dest="command", required=True)
    # Each subcommand sets `run` to the function that runs it.
    demo = commands.add_parser(
        "demo",
        help="replay the seed article's eight experiments and print every gradient in one table",
        description="Replay the seed article's eight experiments (.detach(), no_grad(), "
        "requires_grad=False) with glassgrad and print the gradient of every leaf.",
    )
    demo.add_argument(
        "--out",
        default="glassgrad-demo",
        help="folder for the pictures (default: ./glassgrad-demo/)",
    )
    demo.add_argument("--no-pictures", action="store_true", help="print the table only")
    demo.set_defaults(run=_demo)
    explain = commands.add_parser(
        "explain",
        help="run a PyTorch training script on glassgrad and explain its gradient flow",
        add_help=False,
        prefix_chars="\0",  # parsed by _explain_parser: options after the script are the script's
    )
    explain.add_argument("rest", nargs=argparse.REMAINDER)
    explain.set_defaults(run=_explain)
    run = commands.add_parser(
        "run",
        help="start a script on N processes through MPI, as torchrun does",
        add_help=False,
        prefix_chars="\0",  # every option belongs to glassgrad.distributed.run
    )
    run.add_argument("launch", nargs=argparse.REMAINDER)
    run.set_defaults(run=_run)
    return parser


def _demo(args: argparse.Namespace) -> int:
    import glassgrad
    from glassgrad import seed_experiments

    outcomes = seed_experiments.run_all(glassgrad)
    print(render(outcomes))
    if args.no_pictures:
        return 0
    from pathlib import Path

    from glassgrad.glass import demo

    written = demo.pictures(outcomes, Path(args.out))
    pictures = [p for p in written if p.suffix != ".dot"]
    print(f"\nPictures of the {len(outcomes)} experiments: {len(pictures)} files in {args.out}/")
    if not pictures:
        print(demo.missing_dot_hint())
    print("\n" + demo.answers(glassgrad))
    return 0


def _explain_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassgrad explain",
        usage="glassgrad explain [--step N] [--html FILE] (SCRIPT.py | -m MODULE) [args ...]",
        description="Run SCRIPT.py (or -m MODULE) exactly as python would, with `import torch` "
        "resolving to glassgrad, and after its output print, for every nn.Module and optimizer "
        "it created, which parameters received a gradient at its first (or N-th) backward() "
        "and why the others did not.",
    )
    parser.add_argument("--step", type=int, default=1, help="explain the N-th backward()")
    parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module as python -m")
    return parser


def _split_explain(rest: list[str]) -> tuple[list[str], list[str]]:
    """Options for glassgrad, then the target and its own arguments (as python splits them)."""
    index = 0
    while index < len(rest):
        token = rest[index]
        if token == "-m":
            return rest[: index + 2], rest[index + 2 :]
        if token in ("--step", "--html"):
            index += 2
        elif token.startswith("-"):
            index += 1
        else:
            break
    return rest[:index], rest[index:]


def _explain(args: argparse.Namespace) -> int:
    from glassgrad.glass.script import run_script

    parser = _explain_parser()
    options, target = _split_explain(args.rest)
    parsed = parser.parse_args(options)
    if parsed.step < 1:
        parser.error(f"--step must be at least 1, got {parsed.step}")
    if parsed.module is None and not target:
        parser.error("give a script (SCRIPT.py) or a module (-m MODULE) to run")
    name, script_args = (parsed.module, target) if parsed.module else (target[0], target[1:])
    return run_script(
        name, script_args, module=parsed.module is not None, step=parsed.step, html=parsed.html
    )


def _run(args: argparse.Namespace) -> int:
    from glassgrad.distributed.run import main

    return main(args.launch)


def render(outcomes: list) -> str:
    """Format seed-experiment outcomes as the demo's table, error notes and explanation.

    Args:
        outcomes: ``glassgrad.seed_experiments.Outcome`` objects, one per column, in order.

    Returns:
        The text the demo prints.
    """
    from glassgrad.seed_experiments import NAMES, VALUES

    values = ", ".join(f"{name}={VALUES[name]:g}" for name in NAMES)
    lines = [
        "The seed article's experiments on y = a*x + b, z = c*y + d, w = e*z + f",
        f"with {values}: the gradient of w with respect to each leaf.",
        "",
    ]
    header = ["grad"] + [outcome.experiment.header for outcome in outcomes]
    rows = [header] + [[name] + [_cell(o, name) for o in outcomes] for name in NAMES]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            text.rjust(width) for text, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    errors = [o for o in outcomes if o.error is not None]
    if errors:
        lines.append("")
    for outcome in errors:
        error = outcome.error
        lines.append(f"{outcome.experiment.header}: {type(error).__name__}: {error}")
    lines += ["", textwrap.fill(EXPLANATION, width=100)]
    return "\n".join(lines)


def _cell(outcome, name: str) -> str:
    if outcome.error is not None:
        return type(outcome.error).__name__
    grad = outcome.grads[name]
    return "None" if grad is None else f"{grad:g}"
