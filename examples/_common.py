"""What the examples share: the command line, the output folder, progress bars and figures.

Nothing here is about autograd; the examples themselves read as plain PyTorch code.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: the examples run in CI and over SSH, with no display

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from tqdm import tqdm  # noqa: E402

__all__ = ["parser", "progress", "save_figure", "say", "plt"]


def parser(description: str, *, steps: int | None = None, epochs: int | None = None):
    """An argument parser with ``--out``, ``--seed``, ``--quiet`` and ``--steps``/``--epochs``."""
    parse = argparse.ArgumentParser(description=description)
    if steps is not None:
        parse.add_argument("--steps", type=int, default=steps, help="training steps")
    if epochs is not None:
        parse.add_argument("--epochs", type=int, default=epochs, help="training epochs")
    parse.add_argument("--seed", type=int, default=0, help="random seed")
    parse.add_argument("--out", default=".", help="folder for the figure (default: here)")
    parse.add_argument("--quiet", action="store_true", help="no progress bar or printout")
    return parse


def progress(iterable, args, **kwargs):
    """A tqdm progress bar, silent under ``--quiet``."""
    return tqdm(iterable, disable=args.quiet, file=sys.stderr, dynamic_ncols=True, **kwargs)


def say(args, *lines) -> None:
    """Print unless ``--quiet``."""
    if not args.quiet:
        print(*lines, sep="\n")


def save_figure(fig, args, name: str) -> str:
    """Save ``fig`` as ``name`` under ``--out`` (created if needed) and return the path."""
    os.makedirs(args.out, exist_ok=True)
    path = str(Path(args.out) / name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
