"""``torch.special`` functions on NumPy alone: gamma and error functions, Bessel, Airy, zeta,
orthogonal polynomials.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
