"""Elementwise ops: unary math, binary arithmetic and comparisons, rounding and clamping, logic,
``pow``, ``where``.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
