"""``torch.distributions``: parameterised probability distributions with sampling,
reparameterised sampling (``rsample``, gradients reach the parameters), densities, entropies
and KL divergences, each a differentiable glassgrad expression with PyTorch's values, shapes
and argument checks. Samples follow glassgrad's generator.
"""

from glassgrad.distributions import constraints, transforms
from glassgrad.distributions.bernoulli import Bernoulli
from glassgrad.distributions.beta import Beta
from glassgrad.distributions.binomial import Binomial
from glassgrad.distributions.categorical import Categorical
from glassgrad.distributions.dirichlet import Dirichlet
from glassgrad.distributions.distribution import Distribution
from glassgrad.distributions.exp_family import ExponentialFamily
from glassgrad.distributions.exponential import Exponential
from glassgrad.distributions.gamma import Gamma
from glassgrad.distributions.independent import Independent
from glassgrad.distributions.kl import kl_divergence, register_kl
from glassgrad.distributions.laplace import Laplace
from glassgrad.distributions.log_normal import LogNormal
from glassgrad.distributions.multinomial import Multinomial
from glassgrad.distributions.multivariate_normal import MultivariateNormal
from glassgrad.distributions.normal import Normal
from glassgrad.distributions.one_hot_categorical import OneHotCategorical
from glassgrad.distributions.poisson import Poisson
from glassgrad.distributions.transformed_distribution import TransformedDistribution
from glassgrad.distributions.transforms import *  # noqa: F403
from glassgrad.distributions.uniform import Uniform

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "ExponentialFamily",
    "Gamma",
    "Independent",
    "Laplace",
    "LogNormal",
    "Multinomial",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "TransformedDistribution",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
    "transforms",
]
__all__.extend(transforms.__all__)
