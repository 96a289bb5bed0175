"""Random sampling and in-place random fills, drawn from glassgrad's own generators.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
