"""``glassgrad explain SCRIPT.py``: run an unmodified PyTorch script on glassgrad and explain it.

The script runs exactly as ``python SCRIPT.py args`` (or ``python -m package.module args``) would
run it: as ``__main__``, its folder first on ``sys.path``, ``sys.argv`` as given, its exit status
passed on; only ``import torch`` (and ``torch.nn``, ``torch.cuda``, ...) resolves to glassgrad.
At the chosen ``backward()`` (the first by default) every ``nn.Module`` and optimizer alive is
explained and drawn; the report is printed after the script's own output, never inside it.
"""

from __future__ import annotations

import gc
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import traceback

from glassgrad.autograd import introspect
from glassgrad.glass.report import ModelReport, Report

__all__ = ["run_script"]


class _TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve ``torch`` and ``torch.X`` to ``glassgrad`` and ``glassgrad.X``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "glassgrad" + fullname[len("torch") :]
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module("glassgrad" + spec.name[len("torch") :])

    def exec_module(self, module) -> None:
        return None


def _alive(cls) -> list:
    """Every live instance of ``cls``. ``type(obj)``, not ``isinstance``: reading ``__class__``
    of arbitrary heap objects runs their ``__getattr__`` (deprecation warnings, dead proxies)."""
    return [obj for obj in gc.get_objects() if issubclass(type(obj), cls)]


def _modules_in_use() -> list:
    """The outermost ``nn.Module`` objects alive now (those that are no other's child)."""
    from glassgrad.nn import Module

    modules = _alive(Module)
    children = {id(child) for m in modules for child in m.children()}
    # A module without parameters (a loss such as ``nn.BCEWithLogitsLoss()``) has no row to
    # show; explaining it would fall back to the graph's anonymous leaves.
    return [
        m for m in modules if id(m) not in children and next(iter(m.parameters()), None) is not None
    ]


def _name_of(obj, frame, default: str) -> str:
    while frame is not None:
        for key, value in list(frame.f_locals.items()):
            if value is obj and not key.startswith("_"):
                return key
        frame = frame.f_back
    return default


def _optimizer_for(module, optimizers: list):
    """The optimizer holding most of ``module``'s parameters (the first one if none does)."""
    ids = {id(p) for p in module.parameters()}
    held = [
        (sum(id(p) in ids for g in opt.param_groups for p in g["params"]), opt)
        for opt in optimizers
    ]
    held = [pair for pair in held if pair[0]]
    if held:
        return max(held, key=lambda pair: pair[0])[1]
    return optimizers[0] if optimizers else None


def _explain(loss, module, optimizer):
    from glassgrad.glass import explain

    try:
        return explain(loss, module, name="the loss", optimizer=optimizer)
    except TypeError as exc:  # an explain that takes no optimizer
        if "optimizer" not in str(exc):
            raise
        return explain(loss, module, name="the loss")


# findings about parameters missing from a model: with several models, true only program-wide
_PROGRAM_WIDE = ("unlisted", "stale_optimizer")


def _program_notes(loss, modules: list, optimizers: list, frame) -> list:
    """The program-wide findings: tensors feeding the loss that no model holds, and tensors an
    optimizer updates that no model has."""
    from glassgrad.glass import _findings
    from glassgrad.glass._params import entries
    from glassgrad.glass.explain import explain

    models = {_name_of(m, frame, f"model{i}"): m for i, m in enumerate(modules)}
    notes = [
        f.cause for f in explain(loss, models, name="the loss").findings if f.kind == "unlisted"
    ]
    listed = entries(models)
    for optimizer in optimizers:
        stale = _findings.stale_optimizer(optimizer, listed)
        name = _name_of(optimizer, frame, "optimizer")
        notes += [f"{name}: {f.cause}" for f in stale]
    return notes


def collect(loss, frame, step: int) -> Report:
    """Explain and draw every model alive at this ``backward()``: the report's data."""
    from glassgrad.glass.draw import draw
    from glassgrad.glass.flowplot import layer_stats
    from glassgrad.optim import Optimizer

    optimizers = _alive(Optimizer)
    where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}" if frame else "?"
    data = introspect.array(loss)
    value = float(data.reshape(())) if data.size == 1 else None
    report = Report(step=step, where=where, loss=value)
    report.optimizers = [
        (_name_of(opt, frame, type(opt).__name__), type(opt).__name__) for opt in optimizers
    ]
    modules = _modules_in_use()
    for module in modules:
        optimizer = _optimizer_for(module, optimizers)
        name = _name_of(module, frame, type(module).__name__)
        explanation = _explain(loss, module, optimizer)
        if len(modules) > 1:  # (what one model misses, another may hold: see _program_notes)
            explanation.findings = [f for f in explanation.findings if f.kind not in _PROGRAM_WIDE]
        graph = draw(loss, params=module, depth=1, legend=False)
        opt_name = None if optimizer is None else _name_of(optimizer, frame, "optimizer")
        layers = layer_stats(module, explanation)
        report.models.append(
            ModelReport(name, type(module).__name__, explanation, graph, opt_name, layers)
        )
    if len(modules) > 1:
        report.notes = _program_notes(loss, modules, optimizers, frame)
    if not report.models:  # plain tensors: explain the graph's leaves (a leaf loss, ...)
        graph = draw(loss, legend=False)
        report.models.append(
            ModelReport("the graph's leaves", "no nn.Module", _explain(loss, None, None), graph)
        )
    return report


class _Watch:
    """Counts the script's backward passes (``loss.backward()`` and
    ``torch.autograd.backward(...)``, once each) and collects the report at the chosen one."""

    def __init__(self, step: int) -> None:
        import glassgrad
        import glassgrad.autograd

        self.step, self.calls, self.reports, self.inside = step, 0, [], 0
        self.lib, self.autograd = glassgrad, glassgrad.autograd
        self.plain = (glassgrad.Tensor.backward, glassgrad.autograd.backward)

    def install(self) -> None:
        tensor_backward, autograd_backward = self.plain

        def backward(tensor, *args, **kwargs):
            return self._run(tensor, tensor_backward, tensor, args, kwargs)

        def backward_all(tensors, *args, **kwargs):
            first = tensors if not isinstance(tensors, (list, tuple)) else tensors[0]
            return self._run(first, autograd_backward, tensors, args, kwargs)

        self.lib.Tensor.backward, self.autograd.backward = backward, backward_all

    def uninstall(self) -> None:
        self.lib.Tensor.backward, self.autograd.backward = self.plain

    def _run(self, loss, function, first, args, kwargs):
        self.inside += 1  # Tensor.backward may call autograd.backward: count the pass once
        try:
            result = function(first, *args, **kwargs)
        finally:
            self.inside -= 1
        if self.inside == 0:
            self.calls += 1
            if self.calls == self.step:
                self.reports.append(collect(loss, sys._getframe(2), self.step))
        return result


def _script_path(target: str, module: bool) -> list:
    """``sys.path[0]`` as Python sets it: the script's folder, or the working directory."""
    if module:
        return [os.getcwd()]
    return [os.path.dirname(os.path.realpath(target))]


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # Python prints a non-integer exit code and exits with 1
    return 1


def run_script(
    target: str,
    args: list[str],
    out=None,
    *,
    module: bool = False,
    step: int = 1,
    html: str | None = None,
) -> int:
    """Run ``target`` (a path, or a module name with ``module=True``) as ``__main__`` with
    ``torch`` meaning glassgrad; explain its ``step``-th ``backward()``; return its exit status.
    """
    from glassgrad.glass import record_modules

    out = out or sys.stdout
    if not module and not os.path.exists(target):
        path = os.path.abspath(target)
        print(
            f"glassgrad explain: can't open file {path!r}: [Errno 2] No such file or directory",
            file=sys.stderr,
        )
        return 2
    finder = _TorchAlias()
    saved = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == "torch"}
    for name in saved:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    watch = _Watch(step)
    watch.install()
    argv, path = sys.argv, list(sys.path)
    sys.argv = [target, *args]
    sys.path[:1] = _script_path(target, module)
    status = 0
    try:
        with record_modules():
            if module:
                runpy.run_module(target, run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        status = _exit_status(exc)
    except Exception:  # noqa: BLE001 - reported as Python would, then the report follows
        _print_traceback()
        status = 1
    finally:
        sys.argv, sys.path[:] = argv, path
        watch.uninstall()
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.split(".")[0] == "torch"]:
            del sys.modules[name]
        sys.modules.update(saved)
    sys.stdout.flush()
    sys.stderr.flush()
    report = watch.reports[0] if watch.reports else None
    print(Report.text_of(report, watch.calls, step), file=out)
    if html is not None:
        from glassgrad.glass.report import write_html

        write_html(report, html, watch.calls, step)
        print(f"glassgrad explain: report written to {html}", file=out)
    out.flush()
    return status


def _print_traceback() -> None:
    """The script's traceback without this runner's frames, as ``python SCRIPT.py`` shows it."""
    kind, exc, tb = sys.exc_info()
    runner = (__file__, runpy.__file__, "<frozen runpy>")
    while tb is not None and tb.tb_frame.f_code.co_filename in runner:
        tb = tb.tb_next
    traceback.print_exception(kind, exc, tb)
