"""Losses: the primitives and composites of ``nn.functional``, their ATen forms and argument checks.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
