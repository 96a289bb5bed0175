"""``nn.DataParallel`` as PyTorch's CPU build has it: with no GPU to split the batch over, it
runs the wrapped module as it is (and keeps its ``module.`` prefix in state dicts)."""

from __future__ import annotations

from glassgrad.nn.modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Wrap ``module``; on CPU (no devices to replicate onto) forward calls it unchanged."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids: list = []  # PyTorch's CPU build finds no device to use
        self.dim = dim
        self.output_device = None
        self.src_device_obj = None

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
