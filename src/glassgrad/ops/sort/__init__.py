"""Sorting, selection and searching along a dim: ``sort``, ``topk``, ``median``, ``unique``,
``searchsorted``...

Importing a module here registers its ops; ``glassgrad.ops`` imports them all, in order."""
