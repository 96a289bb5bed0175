"""``glassgrad explain SCRIPT.py``: run an unmodified PyTorch script on glassgrad and explain it.

For the run, ``import torch`` (and ``torch.nn``, ``torch.optim``, ...) resolves to glassgrad.
After the script's first ``backward()`` the explain table is printed for every ``nn.Module`` it
created (the outermost ones), so a PyTorch user sees their model's gradient flow without
changing a line.
"""

from __future__ import annotations

import gc
import importlib
import importlib.abc
import importlib.util
import runpy
import sys

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


def _is_module(obj, Module) -> bool:
    try:
        return isinstance(obj, Module)
    except ReferenceError:  # a weakref proxy whose object is gone (the heap holds any object)
        return False


def _modules_in_use():
    """The outermost ``nn.Module`` objects alive now (those that are no other's child)."""
    try:
        from glassgrad.nn import Module
    except ImportError:
        return []
    modules = [obj for obj in gc.get_objects() if _is_module(obj, Module)]
    children = {id(child) for m in modules for child in m.children()}
    # A module without parameters (a loss such as ``nn.BCEWithLogitsLoss()``) has no row to
    # show; explaining it would fall back to the graph's anonymous leaves.
    return [
        m for m in modules if id(m) not in children and next(iter(m.parameters()), None) is not None
    ]


def _module_name(module, frame) -> str:
    while frame is not None:
        for key, value in list(frame.f_locals.items()):
            if value is module:
                return key
        frame = frame.f_back
    return type(module).__name__


def _report(loss, frame, out) -> None:
    from glassgrad.glass.explain import explain

    modules = _modules_in_use()
    print("\nglassgrad explain: gradient flow after the first backward()", file=out)
    if not modules:
        print(explain(loss, name="the loss"), file=out)
    for module in modules:
        name = _module_name(module, frame)
        table = explain(loss, module, name="the loss")
        print(f"\n{name} ({type(module).__name__}):", file=out)
        print(table, file=out)
    out.flush()


def run_script(path: str, args: list[str], out=None) -> int:
    """Run ``path`` as ``__main__`` with ``torch`` meaning glassgrad; explain its first backward."""
    import glassgrad

    out = out or sys.stdout
    finder = _TorchAlias()
    saved = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == "torch"}
    for name in saved:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    plain_backward = glassgrad.Tensor.backward
    done = []

    def backward(self, *a, **kw):
        try:
            return plain_backward(self, *a, **kw)
        finally:
            if not done:
                done.append(True)
                _report(self, sys._getframe(1), out)

    glassgrad.Tensor.backward = backward
    argv = sys.argv
    sys.argv = [path, *args]
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv = argv
        glassgrad.Tensor.backward = plain_backward
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.split(".")[0] == "torch"]:
            del sys.modules[name]
        sys.modules.update(saved)
    return 0
