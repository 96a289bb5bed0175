"""Embeddings: ``embedding``, ``embedding_bag`` and what they share.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
