"""Distributions with parameters, each built the same way in PyTorch and glassgrad (float64
NumPy draws, so both see identical values), and a value to score."""

from __future__ import annotations

import numpy as np

_RNG = np.random.RandomState(0)


def _pos(*shape):
    return _RNG.uniform(0.5, 2.0, shape)


def _real(*shape):
    return _RNG.normal(size=shape)


def _prob(*shape):
    return _RNG.uniform(0.1, 0.9, shape)


def _simplex(*shape):
    weights = _RNG.uniform(0.1, 1.0, shape)
    return weights / weights.sum(-1, keepdims=True)


def _spd(n=3, batch=()):
    lower = np.tril(_RNG.normal(size=batch + (n, n))) + 3 * np.eye(n)
    return lower @ np.swapaxes(lower, -1, -2)


def _counts(high, *shape):
    return _RNG.randint(0, high, shape).astype(np.float64)


# name: (positional params, keyword params, value for log_prob)
CASES = {
    "Normal": ([_real(4), _pos(4)], {}, _real(2, 4)),
    "Categorical": ([], {"probs": _simplex(2, 5)}, np.array([[0, 4], [1, 2], [3, 3]])),
    "Categorical-logits": ([], {"logits": _real(2, 5)}, np.array([[0, 4], [1, 2]])),
    "Bernoulli": ([_prob(4)], {}, _counts(2, 3, 4)),
    "Bernoulli-logits": ([], {"logits": _real(4)}, _counts(2, 3, 4)),
    "Uniform": ([-_pos(4), _pos(4)], {}, _RNG.uniform(-0.4, 0.4, (3, 4))),
    "Beta": ([_pos(4), _pos(4)], {}, _prob(3, 4)),
    "Gamma": ([_pos(4), _pos(4)], {}, _pos(3, 4)),
    "Dirichlet": ([_pos(2, 4)], {}, _simplex(3, 2, 4)),
    "Exponential": ([_pos(4)], {}, _pos(3, 4)),
    "Laplace": ([_real(4), _pos(4)], {}, _real(3, 4)),
    "LogNormal": ([_real(4), _pos(4)], {}, _pos(3, 4)),
    "Poisson": ([3 * _pos(4)], {}, _counts(6, 3, 4)),
    "Binomial": ([10, _prob(4)], {}, _counts(11, 3, 4)),
    "Binomial-logits": ([np.array([3.0, 5.0, 7.0, 9.0])], {"logits": _real(4)}, _counts(4, 3, 4)),
    "Multinomial": ([7, _simplex(2, 4)], {}, np.array([[1, 2, 3, 1], [0, 0, 7, 0]], float)),
    "MultivariateNormal": ([_real(2, 3), _spd()], {}, _real(4, 2, 3)),
    "MultivariateNormal-precision": ([_real(3)], {"precision_matrix": _spd()}, _real(4, 3)),
    "MultivariateNormal-scale_tril": (
        [_real(2, 3)],
        {"scale_tril": np.linalg.cholesky(_spd(batch=(2,)))},
        _real(4, 2, 3),
    ),
    "OneHotCategorical": ([_simplex(2, 4)], {}, np.eye(4)[[0, 3]]),
}


def build(lib, name: str, requires_grad: bool = True):
    """``lib.distributions.<name>(...)`` and the tensors that require grad."""
    args, kwargs, _ = CASES[name]
    leaves = []

    def convert(value):
        if isinstance(value, np.ndarray):
            tensor = lib.tensor(value)
            if requires_grad and tensor.is_floating_point():
                tensor.requires_grad_()
                leaves.append(tensor)
            return tensor
        return value

    cls = getattr(lib.distributions, name.split("-")[0])
    dist = cls(*[convert(a) for a in args], **{k: convert(v) for k, v in kwargs.items()})
    return dist, leaves


def value(lib, name: str):
    data = CASES[name][2]
    if name.startswith("Categorical"):
        return lib.tensor(data, dtype=lib.int64)
    return lib.tensor(data)
