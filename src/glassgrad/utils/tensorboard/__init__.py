"""``torch.utils.tensorboard``: ``SummaryWriter`` on the tensorboard package (the
``tensorboard`` extra)."""

try:
    import tensorboard  # noqa: F401
except ImportError as error:
    raise ImportError("TensorBoard logging requires TensorBoard version 1.15 or above") from error

from glassgrad.utils.tensorboard.writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
