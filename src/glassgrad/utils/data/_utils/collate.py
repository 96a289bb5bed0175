"""``torch.utils.data._utils.collate``: the default ways samples become batches."""

from glassgrad.utils.data.dataloader import default_collate, default_convert

__all__ = ["default_collate", "default_convert"]
