"""``glassgrad.nn.functional``: the functional forms of layers, activations and losses."""

from glassgrad.ops.unary import relu, sigmoid, tanh  # noqa: F401
