"""Convolutions: the fused primitive, its NumPy kernels, argument checks and the transposed forms.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
