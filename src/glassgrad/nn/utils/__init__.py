"""``nn.utils``: gradient clipping, parameter/vector conversion, weight normalisation."""

from glassgrad.nn.utils import parametrizations, parametrize, prune, rnn
from glassgrad.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_
from glassgrad.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from glassgrad.nn.utils.weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "parametrizations",
    "parametrize",
    "prune",
    "remove_weight_norm",
    "rnn",
    "vector_to_parameters",
    "weight_norm",
]
