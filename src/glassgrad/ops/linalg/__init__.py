"""Linear algebra: matrix products, ``einsum``, inverses and solves, factorizations (QR, SVD, eigh).

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
