"""Pooling: max/average/adaptive pools in 1-3 dims and power-average pools.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
