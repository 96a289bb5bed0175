"""``torch.utils.data._utils``: what the DataLoader's workers run (worker loop, fetchers), under
PyTorch's module names (``collate`` is imported on use)."""

from glassgrad.utils.data._utils import fetch, worker  # noqa: F401

MP_STATUS_CHECK_INTERVAL = 5.0
"""Seconds between checks that workers (in the main process) or the main process (in a worker)
are still alive, as PyTorch's."""
