"""``LBFGS``: limited-memory BFGS over all parameters seen as one flat vector.

Each ``step(closure)`` runs up to ``max_iter`` iterations: a search direction from the curvature
pairs remembered so far (the two-loop recursion), then a move along it, either by the learning
rate or by a strong-Wolfe line search (``optim._line_search``). The scalars the algorithm keeps
(``t``, ``H_diag``, ``ro``, the slopes) are 0-d tensors wherever PyTorch's are, so the state dict
has PyTorch's layout and float64 runs agree with PyTorch's to rounding.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.grad_mode import enable_grad, no_grad
from glassgrad.optim._line_search import Trial, WolfeSearch
from glassgrad.optim.optimizer import Optimizer, _check_lr, _number
from glassgrad.tensor import Tensor

__all__ = ["LBFGS"]

# What one step leaves in the state for the next (PyTorch's key names).
_CARRIED = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")


class LBFGS(Optimizer):
    """L-BFGS (one parameter group only); ``step`` needs a closure returning the loss."""

    def __init__(
        self,
        params,
        lr=1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        _check_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_iter * 5 // 4 if max_eval is None else max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    @property
    def _params(self) -> list[Tensor]:
        return self.param_groups[0]["params"]

    def _flat_grad(self) -> Tensor:
        """All gradients as one new vector (zeros for a parameter without one)."""
        parts = [
            np.zeros(p.numel(), p._data.dtype) if p._grad is None else _dense(p._grad).reshape(-1)
            for p in self._params
        ]
        return Tensor._from_array(np.concatenate(parts))

    def _move(self, step, direction: Tensor) -> None:
        """Add ``step * direction`` to the parameters, each its slice of the flat vector."""
        start = 0
        for p in self._params:
            piece = direction[start : start + p.numel()].view_as(p)
            p.add_(piece, alpha=step)
            start += p.numel()

    def _probe(self, closure, saved, direction):
        """The loss and flat gradient at ``step`` along ``direction``; parameters restored."""

        def probe(step):
            self._move(step, direction)
            loss = float(closure())
            grad = self._flat_grad()
            for p, value in zip(self._params, saved, strict=True):
                p.copy_(value)
            return loss, grad

        return probe

    def step(self, closure):  # type: ignore[override]
        """Run up to ``max_iter`` iterations; ``closure`` re-evaluates the loss and gradients."""
        if len(self.param_groups) != 1:
            raise AssertionError(
                f"Expected exactly one param_group, but got {len(self.param_groups)}"
            )
        with no_grad():
            return _Iterations(self, enable_grad()(closure)).run()


def _dense(grad: Tensor):
    """A gradient's values as a dense array (sparse gradients are densified, as PyTorch does)."""
    return grad.to_dense()._data if grad.is_sparse else grad._data


class _Iterations:
    """The iterations of one ``LBFGS.step``, with the carried state as attributes."""

    def __init__(self, opt: LBFGS, closure) -> None:
        self.opt, self.closure = opt, closure
        self.group = opt.param_groups[0]
        self.state = opt.state[opt._params[0]]
        for key in _CARRIED:
            setattr(self, key, self.state.get(key))

    def run(self):
        state, group = self.state, self.group
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        first_loss = self.closure()
        state["func_evals"] += 1
        self.loss, self.flat_grad = float(first_loss), self.opt._flat_grad()
        if self.flat_grad.abs().max() <= group["tolerance_grad"]:
            return first_loss
        self.evaluations = 1
        for iteration in range(1, group["max_iter"] + 1):
            if self._iterate(iteration == group["max_iter"]):
                break
        for key in _CARRIED:
            state[key] = getattr(self, key)
        return first_loss

    def _iterate(self, last: bool) -> bool:
        """One iteration; True when a stopping test says the step is over."""
        state, group = self.state, self.group
        state["n_iter"] += 1
        first = state["n_iter"] == 1
        if first:
            self.d, self.old_dirs, self.old_stps, self.ro, self.H_diag = (
                self.flat_grad.neg(),
                [],
                [],
                [],
                1,
            )
        else:
            self._remember_curvature()
            self.d = self._two_loop()
        if self.prev_flat_grad is None:
            self.prev_flat_grad = self.flat_grad.clone()
        else:
            self.prev_flat_grad.copy_(self.flat_grad)
        self.prev_loss = self.loss
        lr = _number(group["lr"])
        self.t = min(1.0, 1.0 / self.flat_grad.abs().sum()) * lr if first else lr
        slope = self.flat_grad.dot(self.d)
        if slope > -group["tolerance_change"]:
            return True
        used, optimal = self._advance(slope, last)
        self.evaluations += used
        state["func_evals"] += used
        if last or self.evaluations >= group["max_eval"] or optimal:
            return True
        if self.d.mul(self.t).abs().max() <= group["tolerance_change"]:
            return True
        return abs(self.loss - self.prev_loss) < group["tolerance_change"]

    def _remember_curvature(self) -> None:
        """Keep the newest (y, s) pair if it has positive curvature, within ``history_size``."""
        y = self.flat_grad.sub(self.prev_flat_grad)
        s = self.d.mul(self.t)
        ys = y.dot(s)
        if not ys > 1e-10:
            return
        if len(self.old_dirs) == self.group["history_size"]:
            for pairs in (self.old_dirs, self.old_stps, self.ro):
                del pairs[0]
        self.old_dirs.append(y)
        self.old_stps.append(s)
        self.ro.append(1.0 / ys)
        self.H_diag = ys / y.dot(y)

    def _two_loop(self) -> Tensor:
        """The quasi-Newton direction ``-H g`` from the remembered pairs."""
        if "al" not in self.state:
            self.state["al"] = [None] * self.group["history_size"]
        alphas = self.state["al"]
        pairs = range(len(self.old_dirs))
        q = self.flat_grad.neg()
        for i in reversed(pairs):
            alphas[i] = self.old_stps[i].dot(q) * self.ro[i]
            q.add_(self.old_dirs[i], alpha=-alphas[i])
        r = q * self.H_diag
        for i in pairs:
            beta = self.old_dirs[i].dot(r) * self.ro[i]
            r.add_(self.old_stps[i], alpha=alphas[i] - beta)
        return r

    def _advance(self, slope, last: bool):
        """Move along ``d``; returns (closure evaluations used, whether the gradient is small)."""
        opt, group = self.opt, self.group
        method = group["line_search_fn"]
        if method is None:
            opt._move(self.t, self.d)
            if last:
                return 0, False
            with enable_grad():
                loss = self.closure()
            self.loss = float(loss)  # read under no_grad: no requires-grad warning, as PyTorch
            self.flat_grad = opt._flat_grad()
        elif method != "strong_wolfe":
            raise RuntimeError("only 'strong_wolfe' is supported")
        else:
            saved = [p.clone() for p in opt._params]
            origin = Trial(0, self.loss, self.flat_grad, slope)
            search = WolfeSearch(opt._probe(self.closure, saved, self.d), self.d, origin)
            found = search.run(self.t, group["max_eval"] - self.evaluations)
            self.loss, self.flat_grad, self.t = found.loss, found.grad, found.step
            opt._move(self.t, self.d)
            return search.evaluations, bool(self.flat_grad.abs().max() <= group["tolerance_grad"])
        return 1, bool(self.flat_grad.abs().max() <= group["tolerance_grad"])
