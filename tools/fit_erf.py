"""Fit the rational approximation of erf that exact GELU uses on float32 (``ops/nn/common.py``).

erf(z) = z * P(u) / Q(u) with u = z * z on 0 <= z <= 3.92, P of degree 5 and Q of degree 5 with
Q(0) = 1: a linearised least-squares fit (P - f Q = 0, f = erf(z) / z) reweighted by 1 / (f Q)
until the relative error settles. Prints the coefficients and the float32 error in ulp.

Usage: ``python tools/fit_erf.py``
"""

from __future__ import annotations

import numpy as np
from scipy import special

EDGE = 3.92  # past it erf(z) rounds to 1 in float32
DEGREES = (5, 5)


def fit(m: int, n: int, rounds: int = 30):
    nodes = np.cos(np.linspace(0, np.pi, 4000)) * EDGE / 2 + EDGE / 2
    z = np.concatenate([nodes, np.linspace(1e-4, EDGE, 4000)])
    u = z * z
    f = np.where(z == 0, 2 / np.sqrt(np.pi), special.erf(z) / np.where(z == 0, 1, z))
    weight = np.ones_like(u)
    powers_p = u[:, None] ** np.arange(m + 1)
    powers_q = u[:, None] ** np.arange(1, n + 1)
    for _ in range(rounds):
        system = np.hstack([powers_p, -f[:, None] * powers_q])
        coef, *_ = np.linalg.lstsq(system * weight[:, None], f * weight, rcond=None)
        p, q = coef[: m + 1], np.concatenate([[1.0], coef[m + 1 :]])
        denominator = np.polyval(q[::-1], u)
        error = np.polyval(p[::-1], u) / denominator / f - 1
        weight = 1 / (np.abs(denominator) * f)
    return p, q, float(np.abs(error).max())


def main() -> None:
    p, q, error = fit(*DEGREES)
    print("P =", [float(c) for c in p])
    print("Q =", [float(c) for c in q])
    print(f"relative error of the fit: {error:.3g}")
    import glassgrad.ops.nn.common as common

    x = np.linspace(-6, 6, 2_000_001).astype(np.float32)
    truth = special.erf(x.astype(np.float64))
    spacing = np.spacing(np.abs(truth.astype(np.float32))).astype(np.float64)
    ulp = np.abs(common.erf_float32(x).astype(np.float64) - truth) / spacing
    print(f"glassgrad's float32 erf (its stored coefficients): at most {ulp.max():.2f} ulp")


if __name__ == "__main__":
    main()
