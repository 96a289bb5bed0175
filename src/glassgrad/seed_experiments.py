"""The seed article's eight experiments on ``y = a*x + b, z = c*y + d, w = e*z + f``, as data.

The article (shared/seed) compares ``.detach()``, ``with torch.no_grad():`` and
``.requires_grad = False``. Each experiment here is the article's forward and backward, written
the way a PyTorch user writes it, so that ``glassgrad demo`` can tabulate the gradients and later
``glassgrad explain`` and the pictures can replay the same graphs.

Unlike the article, every experiment runs on fresh leaves: the article zeroes ``.grad`` between
runs, so it prints ``tensor(0.)`` where no gradient arrived; here such a leaf keeps
``.grad is None``, which says what actually happened.

Named ``seed_experiments``, not ``seed``: ``glassgrad.seed()`` is PyTorch's RNG function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from glassgrad.autograd.provenance import count_as_user_code

# The experiments play the user: explanations name their lines, as they would a user's script.
count_as_user_code(__file__)

NAMES = ("a", "b", "c", "d", "e", "f", "x")
"""The leaves in the article's order: parameters a..f, then the input x."""

VALUES = {"a": 2.0, "b": 3.0, "c": 5.0, "d": 7.0, "e": 11.0, "f": 13.0, "x": 17.0}
"""The article's values for the leaves."""


def make_params(torch: Any = None) -> dict[str, Any]:
    """Create the article's seven leaves, each with ``requires_grad=True``."""
    torch = torch or _glassgrad()
    return {name: torch.tensor(VALUES[name], requires_grad=True) for name in NAMES}


def normal(p: dict, torch: Any) -> dict:
    """Plain forward and backward: every leaf gets its gradient."""
    a, b, c, d, e, f, x = (p[name] for name in NAMES)
    y = a * x + b
    z = c * y + d
    w = e * z + f
    w.backward()
    return {"y": y, "z": z, "w": w}


def detach_y(p: dict, torch: Any) -> dict:
    """``y.detach()`` cuts the edge y -> z: a, b, x get nothing."""
    a, b, c, d, e, f, x = (p[name] for name in NAMES)
    y = a * x + b
    z = c * y.detach() + d
    w = e * z + f
    w.backward()
    return {"y": y, "z": z, "w": w}


def detach_z(p: dict, torch: Any) -> dict:
    """``z.detach()`` cuts the edge z -> w: only e and f get gradients."""
    a, b, c, d, e, f, x = (p[name] for name in NAMES)
    y = a * x + b
    z = c * y + d
    w = e * z.detach() + f
    w.backward()
    return {"y": y, "z": z, "w": w}


def no_grad_y(p: dict, torch: Any) -> dict:
    """y computed under ``no_grad()`` records no graph: a, b, x get nothing."""
    a, b, c, d, e, f, x = (p[name] for name in NAMES)
    with torch.no_grad():
        y = a * x + b
    z = c * y + d
    w = e * z + f
    w.backward()
    return {"y": y, "z": z, "w": w}


def no_grad_z(p: dict, torch: Any) -> dict:
    """z computed under ``no_grad()`` records no graph: only e and f get gradients."""
    a, b, c, d, e, f, x = (p[name] for name in NAMES)
    y = a * x + b
    with torch.no_grad():
        z = c * y + d
    w = e * z + f
    w.backward()
    return {"y": y, "z": z, "w": w}


def frozen_cd(p: dict, torch: Any) -> dict:
    """c and d frozen: they get nothing, but the gradient still flows through to a, b, x."""
    c, d = p["c"], p["d"]
    # The article sets the flags back to True afterwards; these leaves are fresh, and leaving
    # them frozen keeps the graph honest for whoever draws or explains it later.
    c.requires_grad = False
    d.requires_grad = False
    return normal(p, torch)


def frozen_ef(p: dict, torch: Any) -> dict:
    """e and f frozen: they get nothing, everything upstream still does."""
    e, f = p["e"], p["f"]
    e.requires_grad = False
    f.requires_grad = False
    return normal(p, torch)


def non_leaf(p: dict, torch: Any) -> dict:
    """``y.requires_grad = False`` on a computed tensor: PyTorch raises RuntimeError."""
    a, b, c, d, e, f, x = (p[name] for name in NAMES)
    y = a * x + b
    y.requires_grad = False
    z = c * y + d
    w = e * z + f
    w.backward()
    return {"y": y, "z": z, "w": w}


@dataclass(frozen=True)
class Experiment:
    """One of the article's experiments: a short column header, its section title, its code."""

    header: str
    title: str
    fn: Callable[[dict, Any], dict]


EXPERIMENTS: list[Experiment] = [
    Experiment("normal", "通常のforwardとbackwardの結果", normal),
    Experiment("detach(y)", "yをdetach()", detach_y),
    Experiment("detach(z)", "zをdetach()", detach_z),
    Experiment("no_grad(y)", "with no_grad(): yを囲む", no_grad_y),
    Experiment("no_grad(z)", "with no_grad(): zを囲む", no_grad_z),
    Experiment("frozen c,d", "cとdの勾配をFalseに", frozen_cd),
    Experiment("frozen e,f", "eとfの勾配をFalseに", frozen_ef),
    Experiment("y.requires_grad=False", "yの勾配をFalseに", non_leaf),
]
"""The article's eight experiments, in the article's order."""


@dataclass
class Outcome:
    """What one experiment left behind: the leaves, y/z/w, each leaf's gradient, or the error."""

    experiment: Experiment
    params: dict[str, Any]
    tensors: dict[str, Any] = field(default_factory=dict)
    grads: dict[str, float | None] = field(default_factory=dict)
    error: RuntimeError | None = None


def run(experiment: Experiment, torch: Any = None) -> Outcome:
    """Run one experiment on fresh leaves and collect each leaf's gradient (None if none).

    Args:
        experiment: the experiment to run.
        torch: the module to run it with; glassgrad unless given (PyTorch works too).

    Returns:
        The outcome; a RuntimeError the experiment raises is caught and kept in ``error``.
    """
    torch = torch or _glassgrad()
    params = make_params(torch)
    outcome = Outcome(experiment, params)
    try:
        outcome.tensors = experiment.fn(params, torch)
    except RuntimeError as exc:
        outcome.error = exc
    outcome.grads = {name: _value(leaf.grad) for name, leaf in params.items()}
    return outcome


def run_all(torch: Any = None) -> list[Outcome]:
    """Run the eight experiments in the article's order; see ``run``."""
    return [run(experiment, torch) for experiment in EXPERIMENTS]


def _value(grad) -> float | None:
    return None if grad is None else float(grad.item())


def _glassgrad():
    # Imported late: this module lives inside the package, and glassgrad must finish importing
    # before the experiments can use it.
    import glassgrad

    return glassgrad
