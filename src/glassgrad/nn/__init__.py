"""``glassgrad.nn``: modules, parameters, layers and losses (filled by the nn work)."""

from glassgrad.nn import functional  # noqa: F401
