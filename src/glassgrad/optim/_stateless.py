"""``swap_in_optimizer_params_and_state``: run an optimizer, for the length of a ``with`` block,
on other parameter tensors and another state (given as a ``state_dict()``), then put the live
ones back."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

from glassgrad.tensor import Tensor

_NAME = "swap_in_optimizer_params_and_state"


def _checked_state(state) -> dict:
    if not isinstance(state, dict):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping packed parameter "
            f"ids to per-param state dicts, got {type(state).__name__}."
        )
    if any(isinstance(key, Tensor) for key in state):
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style state keyed by packed parameter ids."
        )
    if any(isinstance(key, int) and not isinstance(entry, dict) for key, entry in state.items()):
        raise RuntimeError(
            f"{_NAME} requires per-parameter optimizer state entries to be dictionaries."
        )
    return state


def _checked_groups(optimizer, groups) -> list:
    if not isinstance(groups, list):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['param_groups'] to be a list of param-group "
            f"dicts, got {type(groups).__name__}."
        )
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError(
            "swapin_optim_state has a different number of parameter groups than the live optimizer."
        )
    return groups


def _checked_ids(index: int, live: dict, saved) -> list:
    """The packed ids of one saved group, after checking it can stand in for ``live``."""
    if not isinstance(saved, dict):
        raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
    ids = saved.get("params")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style param_groups[*]['params'] entries "
            "keyed by packed parameter ids."
        )
    if len(ids) != len(live["params"]):
        raise RuntimeError(
            f"swapin_optim_state param group {index} has a different number of params than the "
            "live optimizer param group."
        )
    extra = [key for key in saved if key not in live]
    missing = [key for key in live if key not in saved]
    if extra or missing:
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style param group keys to exactly match "
            f"the live optimizer group keys for group {index}. Keys only in swap-in: {extra}. "
            f"Keys only in live: {missing}."
        )
    return ids


def _plan(optimizer, parameters: dict, saved_state: dict):
    """Per live group: (saved group, its replacement tensors); and the saved per-id state."""
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(saved_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    state = _checked_state(saved_state.get("state"))
    groups = _checked_groups(optimizer, saved_state.get("param_groups"))
    tensors = list(parameters.values())
    plan, used, start = [], set(), 0
    for index, (live, saved) in enumerate(zip(optimizer.param_groups, groups, strict=True)):
        ids = _checked_ids(index, live, saved)
        used.update(ids)
        if start + len(ids) > len(tensors):
            raise RuntimeError(
                f"{_NAME} requires the explicit parameter state to match optimizer.param_groups "
                "ordering."
            )
        plan.append((saved, tensors[start : start + len(ids)]))
        start += len(ids)
    unknown = [key for key in state if key not in used]
    if unknown:
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be keyed only by packed parameter "
            f"ids from param_groups[*]['params']; got extra keys {unknown!r}."
        )
    return plan, state


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(
    optimizer, swapin_parameters: dict[str, Tensor], swapin_optim_state: dict[str, Any]
):
    """Inside the block, ``optimizer`` works on ``swapin_parameters`` (in ``param_groups``
    order) with the hyper-parameters and per-parameter state of ``swapin_optim_state``;
    in-place changes to that state's tensors remain, everything else is undone on exit."""
    plan, state = _plan(optimizer, swapin_parameters, swapin_optim_state)
    live_state = optimizer.state
    snapshots = [dict(group) for group in optimizer.param_groups]
    try:
        swapped: defaultdict = defaultdict(dict)
        for live, (saved, tensors) in zip(optimizer.param_groups, plan, strict=True):
            live.update({k: v for k, v in saved.items() if k != "params"})
            live["params"] = tensors
            for tensor, packed_id in zip(tensors, saved["params"], strict=True):
                swapped[tensor] = dict(state.get(packed_id, {}))
        optimizer.state = swapped
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots, strict=True):
            group.clear()
            group.update(snapshot)
        optimizer.state = live_state
