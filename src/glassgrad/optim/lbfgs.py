"""``LBFGS``: limited-memory BFGS with an optional strong-Wolfe line search.

The algorithm is PyTorch's, written on glassgrad tensors line for line: the scalars it keeps
(``t``, ``H_diag``, ``ro``, the directional derivatives) are 0-d tensors exactly where PyTorch's
are, so the state dict has PyTorch's structure and every rounding happens in the same dtype.
Each line is one vectorised array operation over all parameters flattened together.
"""

from __future__ import annotations

from glassgrad.autograd.grad_mode import enable_grad, no_grad
from glassgrad.optim.optimizer import Optimizer, _check_lr, _number
from glassgrad.tensor import Tensor

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through two points with their slopes, clamped to ``bounds``."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square.sqrt()
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


class _Bracket:
    """The two ends of the zoom phase: step, loss, flat gradient and directional derivative."""

    def __init__(self, t, f, g, gtd) -> None:
        self.t, self.f, self.g, self.gtd = t, f, g, gtd

    def set(self, pos, t, f, g, gtd) -> None:
        self.t[pos], self.f[pos], self.g[pos], self.gtd[pos] = t, f, g, gtd


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search for a step satisfying the strong Wolfe conditions (minFunc's algorithm)."""
    d_norm = d.abs().max()
    g = g.clone()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    bracket = None
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = _Bracket(
                [t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()], [gtd_prev, gtd_new]
            )
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = _Bracket([t], [f_new], [g_new], None)
            done = True
            break
        if gtd_new >= 0:
            bracket = _Bracket(
                [t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()], [gtd_prev, gtd_new]
            )
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.clone(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        # PyTorch keeps the bracket's slopes from the loop (or none at all) in this case.
        gtds = bracket.gtd if bracket is not None else None
        bracket = _Bracket([0, t], [f, f_new], [g, g_new], gtds)
    t, f_new, g_new, evals = _zoom(
        obj_func, x, d, f, gtd, bracket, done, ls_iter, d_norm, c1, c2, tolerance_change, max_ls
    )
    return f_new, g_new, t, ls_func_evals + evals


def _zoom(obj_func, x, d, f, gtd, bracket, done, ls_iter, d_norm, c1, c2, tolerance_change, max_ls):
    """Shrink the bracket until its best end satisfies the strong Wolfe conditions."""
    evals = 0
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket.f[0] <= bracket.f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket.t[1] - bracket.t[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket.t[0], bracket.f[0], bracket.gtd[0], bracket.t[1], bracket.f[1], bracket.gtd[1]
        )
        t, insuf_progress = _keep_away_from_ends(t, bracket.t, insuf_progress)
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket.f[low_pos]:
            bracket.set(high_pos, t, f_new, g_new.clone(), gtd_new)
            low_pos, high_pos = (0, 1) if bracket.f[0] <= bracket.f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket.t[high_pos] - bracket.t[low_pos]) >= 0:
                bracket.set(
                    high_pos,
                    bracket.t[low_pos],
                    bracket.f[low_pos],
                    bracket.g[low_pos],
                    bracket.gtd[low_pos],
                )
            bracket.set(low_pos, t, f_new, g_new.clone(), gtd_new)
    return bracket.t[low_pos], bracket.f[low_pos], bracket.g[low_pos], evals


def _keep_away_from_ends(t, ends, insuf_progress):
    """minFunc's safeguard: a trial step too close to the bracket's ends is moved inside it."""
    eps = 0.1 * (max(ends) - min(ends))
    if min(max(ends) - t, t - min(ends)) < eps:
        if insuf_progress or t >= max(ends) or t <= min(ends):
            if abs(t - max(ends)) < abs(t - min(ends)):
                t = max(ends) - eps
            else:
                t = min(ends) + eps
            return t, False
        return t, True
    return t, False


class LBFGS(Optimizer):
    """L-BFGS over all parameters flattened into one vector (one parameter group only)."""

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
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(p.numel() for p in self._params)
        return self._numel_cache

    def _gather_flat_grad(self) -> Tensor:
        """Every parameter's gradient flattened into one new vector (zeros where none)."""
        import numpy as np

        views = [
            np.zeros(p.numel(), p._data.dtype) if p._grad is None else _dense(p._grad).reshape(-1)
            for p in self._params
        ]
        return Tensor._from_array(np.concatenate(views))

    def _add_grad(self, step_size, update: Tensor) -> None:
        offset = 0
        for p in self._params:
            numel = p.numel()
            p.add_(update[offset : offset + numel].view_as(p), alpha=step_size)
            offset += numel
        if offset != self._numel():
            raise AssertionError(f"Expected offset {offset} to equal {self._numel()}")

    def _clone_param(self) -> list[Tensor]:
        return [p.clone() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, pdata in zip(self._params, params_data, strict=True):
            p.copy_(pdata)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure):  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` recomputes the loss and grads."""
        if len(self.param_groups) != 1:
            raise AssertionError(
                f"Expected exactly one param_group, but got {len(self.param_groups)}"
            )
        with no_grad():
            return self._run(enable_grad()(closure))

    def _run(self, closure):
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = closure()
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if flat_grad.abs().max() <= group["tolerance_grad"]:
            return orig_loss
        run = _Run(self, group, state, closure, loss, flat_grad)
        run.iterate()
        run.save()
        return orig_loss


def _dense(grad: Tensor):
    """A gradient's values as a dense array (sparse gradients are densified, as PyTorch does)."""
    return grad.to_dense()._data if grad.is_sparse else grad._data


class _Run:
    """One ``LBFGS.step``: the loop of PyTorch's step with its locals as attributes."""

    _SAVED = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")

    def __init__(self, opt, group, state, closure, loss, flat_grad) -> None:
        self.opt, self.group, self.state, self.closure = opt, group, state, closure
        self.loss, self.flat_grad = loss, flat_grad
        for key in self._SAVED:
            setattr(self, key, state.get(key))
        self.current_evals = 1

    def save(self) -> None:
        for key in self._SAVED:
            self.state[key] = getattr(self, key)

    def iterate(self) -> None:
        group, state = self.group, self.state
        lr = _number(group["lr"])
        tolerance_change = group["tolerance_change"]
        n_iter = 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            self._direction()
            if self.prev_flat_grad is None:
                self.prev_flat_grad = self.flat_grad.clone()
            else:
                self.prev_flat_grad.copy_(self.flat_grad)
            self.prev_loss = self.loss
            if state["n_iter"] == 1:
                self.t = min(1.0, 1.0 / self.flat_grad.abs().sum()) * lr
            else:
                self.t = lr
            gtd = self.flat_grad.dot(self.d)
            if gtd > -tolerance_change:
                break
            ls_func_evals, opt_cond = self._move(gtd, last=n_iter == group["max_iter"])
            self.current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == group["max_iter"] or self.current_evals >= group["max_eval"]:
                break
            if opt_cond or self.d.mul(self.t).abs().max() <= tolerance_change:
                break
            if abs(self.loss - self.prev_loss) < tolerance_change:
                break

    def _direction(self) -> None:
        """The new search direction: steepest descent first, then the two-loop recursion."""
        if self.state["n_iter"] == 1:
            self.d = self.flat_grad.neg()
            self.old_dirs, self.old_stps, self.ro = [], [], []
            self.H_diag = 1
            return
        y = self.flat_grad.sub(self.prev_flat_grad)
        s = self.d.mul(self.t)
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.old_dirs) == self.group["history_size"]:
                self.old_dirs.pop(0)
                self.old_stps.pop(0)
                self.ro.pop(0)
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(1.0 / ys)
            self.H_diag = ys / y.dot(y)
        if "al" not in self.state:
            self.state["al"] = [None] * self.group["history_size"]
        al = self.state["al"]
        num_old = len(self.old_dirs)
        q = self.flat_grad.neg()
        for i in range(num_old - 1, -1, -1):
            al[i] = self.old_stps[i].dot(q) * self.ro[i]
            q.add_(self.old_dirs[i], alpha=-al[i])
        self.d = r = q * self.H_diag
        for i in range(num_old):
            be_i = self.old_dirs[i].dot(r) * self.ro[i]
            r.add_(self.old_stps[i], alpha=al[i] - be_i)

    def _move(self, gtd, last: bool):
        """Step along ``d`` (line search or fixed step); return (evaluations, optimal?)."""
        opt, group = self.opt, self.group
        tolerance_grad = group["tolerance_grad"]
        line_search_fn = group["line_search_fn"]
        if line_search_fn is not None:
            if line_search_fn != "strong_wolfe":
                raise RuntimeError("only 'strong_wolfe' is supported")
            x_init = opt._clone_param()

            def obj_func(x, t, d):
                return opt._directional_evaluate(self.closure, x, t, d)

            self.loss, self.flat_grad, self.t, ls_func_evals = _strong_wolfe(
                obj_func,
                x_init,
                self.t,
                self.d,
                self.loss,
                self.flat_grad,
                gtd,
                max_ls=group["max_eval"] - self.current_evals,
            )
            opt._add_grad(self.t, self.d)
            return ls_func_evals, bool(self.flat_grad.abs().max() <= tolerance_grad)
        opt._add_grad(self.t, self.d)
        if last:
            return 0, False
        with enable_grad():
            self.loss = float(self.closure())
        self.flat_grad = opt._gather_flat_grad()
        return 1, bool(self.flat_grad.abs().max() <= tolerance_grad)
