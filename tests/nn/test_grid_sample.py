"""F.affine_grid and F.grid_sample against PyTorch: values, grad_fn names, gradients for the
input, the grid and theta (every mode, padding mode and align_corners), warnings and errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import glassgrad
from nn_functional_cases import compare

RNG = np.random.default_rng(88)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 3), (2, 1, 2, 3, 4)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(size, align_corners):
    rows = len(size) - 2
    theta = RNG.standard_normal((size[0], rows, rows + 1))
    with pytest.warns(UserWarning) if align_corners and min(size[2:]) == 1 else _nothing():
        compare(
            lambda t, F, th: F.affine_grid(th, size, align_corners=align_corners),
            [theta],
            second=True,
        )


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


MODES = list(
    itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True])
)


@pytest.mark.parametrize("mode,padding_mode,align_corners", MODES)
def test_grid_sample_matches_torch(mode, padding_mode, align_corners):
    image = RNG.standard_normal((2, 3, 4, 5))
    grid = RNG.uniform(-1.6, 1.6, (2, 3, 6, 2))  # also samples outside the image
    compare(
        lambda t, F, x, g: F.grid_sample(
            x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners
        ),
        [image, grid],
        rtol=1e-9,
        atol=1e-10,
    )


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_spatial_transformer_in_float32(padding_mode):
    """affine_grid feeding grid_sample, gradients back to theta and the image (float32)."""
    image = RNG.standard_normal((2, 2, 5, 6)).astype(np.float32)
    theta = (np.array([[1.1, 0.2, 0.1], [-0.3, 0.9, 0.05]]) + RNG.normal(0, 0.1, (2, 2, 3))).astype(
        np.float32
    )

    def stn(t, F, x, th):
        grid = F.affine_grid(th, (2, 2, 4, 7), align_corners=False)
        return F.grid_sample(x, grid, padding_mode=padding_mode, align_corners=False)

    compare(stn, [image, theta], rtol=1e-5, atol=1e-5)


def test_default_align_corners_warns_as_torch():
    for lib in (torch, glassgrad):
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            lib.nn.functional.grid_sample(lib.ones(1, 1, 2, 2), lib.zeros(1, 1, 1, 2))
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            lib.nn.functional.affine_grid(lib.ones(1, 2, 3), (1, 1, 2, 2))


def _outcome(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return (type(exc).__name__, str(exc))
    return ("ok",)


def _gs(L, x, g, **kwargs):
    return L.nn.functional.grid_sample(L.zeros(*x), L.zeros(*g), align_corners=False, **kwargs)


BAD = {
    "dtype": lambda L: L.nn.functional.grid_sample(
        L.zeros(2, 3, 4, 5), L.zeros(2, 6, 7, 2, dtype=L.float64), align_corners=False
    ),
    "grid_rank": lambda L: _gs(L, (2, 3, 4, 5), (6, 7, 2)),
    "batch": lambda L: _gs(L, (2, 3, 4, 5), (1, 6, 7, 2)),
    "last_dim": lambda L: _gs(L, (2, 3, 4, 5), (2, 6, 7, 1)),
    "empty": lambda L: _gs(L, (2, 3, 0, 5), (2, 6, 7, 2)),
    "mode": lambda L: _gs(L, (2, 3, 4, 5), (2, 6, 7, 2), mode="bad"),
    "padding": lambda L: _gs(L, (2, 3, 4, 5), (2, 6, 7, 2), padding_mode="bad"),
    "long": lambda L: L.nn.functional.grid_sample(
        L.zeros(1, 1, 2, 2, dtype=L.int64), L.zeros(1, 1, 1, 2, dtype=L.int64), align_corners=False
    ),
    "affine_size": lambda L: L.nn.functional.affine_grid(
        L.zeros(2, 2, 3), (2, 3, 4), align_corners=False
    ),
    "affine_theta": lambda L: L.nn.functional.affine_grid(
        L.zeros(2, 3, 3), (2, 3, 4, 5), align_corners=False
    ),
    "affine_theta_3d": lambda L: L.nn.functional.affine_grid(
        L.zeros(2, 2, 3), (2, 3, 4, 5, 6), align_corners=False
    ),
    "affine_long": lambda L: L.nn.functional.affine_grid(
        L.zeros(2, 2, 3, dtype=L.int64), (2, 3, 4, 5), align_corners=False
    ),
    "affine_zero": lambda L: L.nn.functional.affine_grid(
        L.zeros(2, 2, 3), (2, 3, 0, 5), align_corners=False
    ),
    "affine_batch": lambda L: L.nn.functional.affine_grid(
        L.zeros(3, 2, 3), (2, 3, 4, 5), align_corners=False
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_errors_match_torch(case):
    assert _outcome(lambda: BAD[case](glassgrad)) == _outcome(lambda: BAD[case](torch))
