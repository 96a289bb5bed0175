"""A line search for the strong Wolfe conditions (More and Thuente's bracketing and zooming, as
minFunc and PyTorch's LBFGS run it), with cubic interpolation between trial points.

The scalars here (steps, losses, slopes) are Python floats or 0-d tensors, exactly as the caller
hands them over; each formula keeps PyTorch's order of operations so that every rounding agrees.
"""

from __future__ import annotations

from typing import NamedTuple


class Trial(NamedTuple):
    """One point on the search line: step length, loss, flat gradient and slope along it."""

    step: object
    loss: float
    grad: object
    slope: object


def cubic_minimum(a: Trial, b: Trial, bounds=None):
    """Where the cubic through ``a`` and ``b`` (values and slopes) is smallest, kept in
    ``bounds`` (by default between the two steps); the middle when the cubic has no minimum."""
    low, high = bounds if bounds is not None else _ordered(a.step, b.step)
    d1 = a.slope + b.slope - 3 * (a.loss - b.loss) / (a.step - b.step)
    discriminant = d1**2 - a.slope * b.slope
    if not discriminant >= 0:
        return (low + high) / 2.0
    d2 = discriminant.sqrt()
    near, far = (b, a) if a.step <= b.step else (a, b)
    fraction = (near.slope + d2 - d1) / (near.slope - far.slope + 2 * d2)
    return min(max(near.step - (near.step - far.step) * fraction, low), high)


def _ordered(x, y):
    return (x, y) if x <= y else (y, x)


class WolfeSearch:
    """Search along ``direction`` from ``origin`` (step 0) for a step meeting the strong Wolfe
    conditions; ``probe(step)`` returns the loss and flat gradient there."""

    def __init__(self, probe, direction, origin: Trial, c1=1e-4, c2=0.9, tolerance=1e-9):
        self.probe, self.direction, self.origin = probe, direction, origin
        self.c1, self.c2, self.tolerance = c1, c2, tolerance
        self.evaluations = 0

    def _try(self, step) -> Trial:
        loss, grad = self.probe(step)
        self.evaluations += 1
        return Trial(step, loss, grad, grad.dot(self.direction))

    def _too_high(self, trial: Trial) -> bool:
        """The sufficient-decrease (Armijo) condition fails at ``trial``."""
        return trial.loss > (self.origin.loss + self.c1 * trial.step * self.origin.slope)

    def _flat_enough(self, trial: Trial) -> bool:
        """The strong curvature condition holds at ``trial``."""
        return abs(trial.slope) <= -self.c2 * self.origin.slope

    def run(self, step, budget: int) -> Trial:
        """The accepted trial point, after at most ``budget`` evaluations."""
        ends, settled, used = self._bracket(step, budget)
        if used == budget:
            # Out of evaluations while still widening: the better of the origin and the last try.
            return ends[0] if ends[0].loss <= ends[-1].loss else ends[-1]
        if settled:
            return ends[0]
        return self._zoom(ends, budget - used)

    def _bracket(self, step, budget: int):
        """Widen the step until an interval holds an acceptable point (or one is hit)."""
        before = self.origin._replace(grad=self.origin.grad.clone())
        trial = self._try(step)
        tries = 0
        while tries < budget:
            if self._too_high(trial) or (tries > 1 and trial.loss >= before.loss):
                return [before, trial], False, tries
            if self._flat_enough(trial):
                return [trial], True, tries
            if trial.slope >= 0:
                return [before, trial], False, tries
            widest = trial.step * 10
            nearest = trial.step + 0.01 * (trial.step - before.step)
            step = cubic_minimum(before, trial, bounds=(nearest, widest))
            before, trial = trial, self._try(step)
            tries += 1
        return [self.origin, trial], False, tries

    def _zoom(self, ends: list, budget: int) -> Trial:
        """Shrink the interval ``ends`` around an acceptable point."""
        scale = self.direction.abs().max()
        best, worst = (0, 1) if ends[0].loss <= ends[-1].loss else (1, 0)
        stuck = False
        for _ in range(budget):
            if abs(ends[1].step - ends[0].step) * scale < self.tolerance:
                break
            step = cubic_minimum(ends[0], ends[1])
            step, stuck = _away_from_ends(step, ends[0].step, ends[1].step, stuck)
            trial = self._try(step)
            if self._too_high(trial) or trial.loss >= ends[best].loss:
                ends[worst] = trial
                best, worst = (0, 1) if ends[0].loss <= ends[1].loss else (1, 0)
                continue
            if self._flat_enough(trial):
                ends[best] = trial
                break
            if trial.slope * (ends[worst].step - ends[best].step) >= 0:
                ends[worst] = ends[best]
            ends[best] = trial
        return ends[best]


def _away_from_ends(step, a, b, stuck: bool):
    """Move a trial step that lands within a tenth of the interval of one of its ends back
    inside, unless the previous step was not already stuck there (minFunc's safeguard)."""
    low, high = min(a, b), max(a, b)
    margin = 0.1 * (high - low)
    if not min(high - step, step - low) < margin:
        return step, False
    if not (stuck or step >= high or step <= low):
        return step, True
    if abs(step - high) < abs(step - low):
        return high - margin, False
    return low + margin, False
