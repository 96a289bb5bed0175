"""Indexing: ``t[key]`` and ``t[key] = v``, gather/scatter and the index_* ops, ``take``.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
