"""The ops behind ``nn.functional``: activations, convolutions, pooling, normalisation, losses,
embeddings, padding and resizing.

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
