"""Modules as functions: ``functional_call`` and ``stack_module_state`` (PyTorch's torch.func).

``functional_call`` swaps the given tensors into the module's parameter and buffer tables for
one call and puts the originals back afterwards, even when the call raises; tied parameters
(one Parameter under two names) follow the name given, as in PyTorch.
"""

from __future__ import annotations

import contextlib


def _merge(dicts):
    if isinstance(dicts, dict):
        return dict(dicts)
    if isinstance(dicts, (list, tuple)) and all(isinstance(d, dict) for d in dicts):
        merged = {}
        seen = set()
        repeated = []
        for table in dicts:
            for key in table:
                if key in seen and key not in repeated:
                    repeated.append(key)
                seen.add(key)
            merged.update(table)
        if repeated:
            raise ValueError(
                f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
                "ambiguous"
            )
        return merged
    raise ValueError(
        "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
        f"{type(dicts)}"
    )


def _tied_names(module):
    """Names sharing one tensor: {name: [every name of that tensor]} where there are several."""
    groups = {}
    for name, tensor in module.named_parameters(remove_duplicate=False):
        groups.setdefault(id(tensor), []).append(name)
    for name, tensor in module.named_buffers(remove_duplicate=False):
        groups.setdefault(id(tensor), []).append(name)
    return {name: names for names in groups.values() if len(names) > 1 for name in names}


def _with_ties(module, values):
    tied = _tied_names(module)
    out = dict(values)
    for name, tensor in values.items():
        for other in tied.get(name, ()):
            if other in values and values[other] is not tensor:
                names = sorted(n for n in tied[name] if n in values)
                raise ValueError(
                    f"functional_call got multiple values for keys {names}, which are tied. "
                    "Consider using tie_weights=False"
                )
            out[other] = tensor
    return out


def _check_strict(module, values):
    expected = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    expected += [n for n, _ in module.named_buffers(remove_duplicate=False)]
    unexpected = [k for k in values if k not in expected]
    missing = [k for k in expected if k not in values]
    if unexpected or missing:
        lines = []
        if unexpected:
            lines.append("\tUnexpected key(s): " + ", ".join(repr(k) for k in unexpected) + ".")
        if missing:
            lines.append("\tMissing key(s): " + ", ".join(repr(k) for k in missing) + ".")
        raise RuntimeError(
            f"Error(s) in reparametrizing for {type(module).__name__}:\n" + "\n".join(lines)
        )


@contextlib.contextmanager
def _swapped(module, values):
    undo = []
    try:
        for name, tensor in values.items():
            owner_path, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_path) if owner_path else module
            for table in (owner._parameters, owner._buffers):
                if attr in table:
                    undo.append((table, attr, table[attr]))
                    table[attr] = tensor
                    break
            else:
                had = attr in owner.__dict__
                undo.append(
                    (owner.__dict__, attr, owner.__dict__.get(attr)) if had else (owner, attr, None)
                )
                if had:
                    owner.__dict__[attr] = tensor
                else:
                    object.__setattr__(owner, attr, tensor)
        yield
    finally:
        for table, attr, old in reversed(undo):
            if isinstance(table, dict):
                table[attr] = old
            else:
                with contextlib.suppress(AttributeError):
                    object.__delattr__(table, attr)


def functional_call(
    module,
    parameter_and_buffer_dicts,
    args=None,
    kwargs=None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
):
    """Call ``module`` with its parameters and buffers replaced by the given tensors."""
    values = _merge(parameter_and_buffer_dicts)
    if tie_weights:
        values = _with_ties(module, values)
    if strict:
        _check_strict(module, values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, values):
        return module(*args, **(kwargs or {}))


def stack_module_state(models):
    """The parameters and buffers of same-shaped ``models`` stacked along a new first dim:
    ``(params, buffers)``, ready for ``vmap(functional_call)`` over an ensemble."""
    from glassgrad.ops.shape.join import stack

    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    kinds = {type(m) for m in models}
    if len(kinds) != 1 or any(m.training != models[0].training for m in models):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    params = {}
    for name, first in models[0].named_parameters():
        tensors = [dict(m.named_parameters())[name] for m in models]
        if any(t.requires_grad != first.requires_grad for t in tensors):
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        made = stack([t.detach() for t in tensors])
        params[name] = made.requires_grad_() if first.requires_grad else made
    buffers = {
        name: stack([dict(m.named_buffers())[name] for m in models])
        for name, _ in models[0].named_buffers()
    }
    return params, buffers
