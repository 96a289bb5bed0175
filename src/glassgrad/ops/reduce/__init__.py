"""Reductions: sums, means, products and their cumulative forms; min/max; variance, ``logsumexp``,
``norm``.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
