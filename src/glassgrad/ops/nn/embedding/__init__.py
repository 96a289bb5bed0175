"""``embedding_bag`` and what it shares with ``embedding``.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
