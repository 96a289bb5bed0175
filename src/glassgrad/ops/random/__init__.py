"""Random sampling and in-place random fills, drawn from glassgrad's generators (PyTorch's
stream, see ``glassgrad._mt19937``).

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
