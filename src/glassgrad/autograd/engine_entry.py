"""A watched way into the engine, for the features that must know a backward pass is running.

Anomaly mode, ``register_multi_grad_hook`` and the saved-tensor hooks need to act when backward
starts (arm nodes, learn which nodes will run). ``install()`` puts a wrapper in front of
``engine.run_backward`` and ``engine.backward_one`` the first time one of them is used, so
programs that use none of them run the engine exactly as before.
"""

from __future__ import annotations

import itertools

__all__ = ["install", "on_backward", "current_task", "will_execute"]

on_backward: list = []  # callables ``(root_nodes, capture)`` run before each backward pass
_tasks: list = []  # the running passes, innermost last: [id, root nodes, capture, reach]
_ids = itertools.count()


def install() -> None:
    """Route backward through ``_enter`` (once)."""
    from glassgrad.autograd import engine

    if getattr(engine.run_backward, "_watched", False):
        return
    plain_run, plain_one = engine.run_backward, engine.backward_one

    def run_backward(roots, *args, **kwargs):
        # run_backward(roots, retain_graph, create_graph, capture=None, accumulate=True)
        capture = kwargs.get("capture", args[2] if len(args) > 2 else None)
        with _Task([root[0] for root in roots], capture):
            return plain_run(roots, *args, **kwargs)

    def backward_one(node, *args, **kwargs):
        with _Task([node], None):
            return plain_one(node, *args, **kwargs)

    run_backward._watched = True
    engine.run_backward, engine.backward_one = run_backward, backward_one


class _Task:
    def __init__(self, roots, capture) -> None:
        self.entry = [next(_ids), roots, capture, None]

    def __enter__(self):
        for callback in list(on_backward):
            callback(self.entry[1], self.entry[2])
        _tasks.append(self.entry)

    def __exit__(self, *exc):
        _tasks.pop()


def current_task() -> int:
    """The id of the innermost running backward pass, -1 outside backward."""
    return _tasks[-1][0] if _tasks else -1


def will_execute(node) -> bool:
    """Whether the running pass will run ``node`` (PyTorch's ``_will_engine_execute_node``)."""
    if not _tasks:
        raise RuntimeError(
            "_will_engine_execute_node should only be called during the backward pass"
        )
    entry = _tasks[-1]
    if entry[2] is not None and node.__class__.__name__ == "AccumulateGrad":
        raise RuntimeError(
            "A leaf node was passed to _will_engine_execute_node but we are currently running "
            "autograd.grad(). This is currently not supported."
        )
    if entry[3] is None:
        entry[3] = _reach(entry[1], entry[2])
    return node in entry[3]


def _reach(roots, capture):
    from glassgrad.autograd.engine import _reachable

    if capture is not None:
        leads = _reachable(list(roots), capture)
        targets = {edge[0] for edge in capture}
        return {node for node, flag in leads.items() if flag} | targets
    found, stack = set(), list(roots)
    while stack:
        node = stack.pop()
        if node is None or node in found:
            continue
        found.add(node)
        stack += [edge[0] for edge in node.next_functions]
    return found
