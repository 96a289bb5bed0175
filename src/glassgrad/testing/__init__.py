"""``torch.testing``: ``assert_close`` with PyTorch's default tolerances and messages."""

from glassgrad.testing._comparison import assert_close

__all__ = ["assert_close"]
