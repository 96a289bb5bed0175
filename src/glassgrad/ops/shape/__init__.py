"""Shape ops: views (reshape, transpose, expand, diagonal) and copies that join, split or repeat
tensors.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
