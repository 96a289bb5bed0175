"""``torch.distributed.algorithms``: DDP's communication hooks and ``Join`` for uneven inputs."""

from glassgrad.distributed.algorithms.join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable"]
