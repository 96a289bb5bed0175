"""``torch.distributed.algorithms.join``: training on uneven inputs.

A rank that runs out of inputs leaves its loop and waits in ``Join``'s exit; until every rank
has, each round it counts the ranks still training (an allreduce the trainers match from their
forward) and runs its joinables' ``main_hook``, which shadows their collectives (DDP allreduces
zeros for its buckets), so the ranks still training never wait for a partner that is gone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

__all__ = ["Join", "JoinHook", "Joinable"]


class JoinHook:
    """What a joinable does while joined (``main_hook``) and once all have (``post_hook``)."""

    def main_hook(self) -> None:
        """Shadow one iteration of the collectives of the ranks still training."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Clean up once every rank has joined (``is_last_joiner``: this rank joined last)."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config() -> _JoinConfig:
        return _JoinConfig(enable=False, throw_on_early_termination=False, is_first_joinable=False)


class Joinable(ABC):
    """A class whose collectives ``Join`` can shadow (DistributedDataParallel is one)."""

    @abstractmethod
    def __init__(self) -> None:
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abstractmethod
    def join_hook(self, **kwargs) -> JoinHook:
        """The hook that shadows this joinable's collectives."""

    @property
    @abstractmethod
    def join_device(self):
        """The device of the join context's own collectives."""

    @property
    @abstractmethod
    def join_process_group(self):
        """The process group of the join context's own collectives."""


class Join:
    """Context manager for uneven inputs: ``with Join([model]): for batch in my_batches: ...``."""

    def __init__(
        self, joinables: list, enable: bool = True, throw_on_early_termination: bool = False,
        **kwargs,
    ) -> None:  # fmt: skip
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = joinables
        self._join_hooks = [joinable.join_hook(**kwargs) for joinable in self._joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        self._set_joinable_configs()
        self._extract_dist_info()

    def _set_joinable_configs(self) -> None:
        for index, joinable in enumerate(self._joinables):
            joinable._join_config = _JoinConfig(
                enable=self._enable,
                throw_on_early_termination=self._throw_on_early_termination,
                is_first_joinable=index == 0,  # only the first counts the ranks still training
            )

    def _extract_dist_info(self) -> None:
        from glassgrad import distributed as dist

        groups = {id(joinable.join_process_group) for joinable in self._joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        self._process_group = self._joinables[0].join_process_group
        self._rank = dist.get_rank(self._process_group)

    def __enter__(self) -> Join:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if not self._enable or kind is not None:
            return  # an exception inside the block goes on as it is
        is_last_joiner = True
        while self._nonjoined_ranks() > 0:
            if self._throw_on_early_termination:
                self._notify_procs_to_terminate()
            is_last_joiner = False
            for hook in self._join_hooks:
                hook.main_hook()
        for hook in self._join_hooks:
            hook.post_hook(is_last_joiner)

    def _nonjoined_ranks(self) -> int:
        """How many ranks are still training (they add one each from their forward)."""
        import glassgrad
        from glassgrad import distributed as dist

        count = glassgrad.zeros(1)
        dist.all_reduce(count, group=self._process_group)
        return int(count.item())

    def _notify_procs_to_terminate(self) -> None:
        import glassgrad
        from glassgrad import distributed as dist

        dist.all_reduce(glassgrad.ones(1), group=self._process_group)
        raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")

    @staticmethod
    def notify_join_context(joinable: Joinable):
        """Called by a joinable each iteration (from its first collective): count this rank as
        still training; a work handle, or None when no join context is active."""
        import glassgrad
        from glassgrad import distributed as dist

        config = joinable._join_config
        if not config.is_first_joinable or not config.enable:
            return None
        group = joinable.join_process_group
        work = dist.all_reduce(glassgrad.ones(1), group=group, async_op=True)
        if config.throw_on_early_termination:
            terminate = glassgrad.zeros(1)
            dist.all_reduce(terminate, group=group)
            if terminate.item():
                raise RuntimeError(
                    "Detected at least one rank that exhausted inputs. Throwing across all ranks."
                )
        return work
