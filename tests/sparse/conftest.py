"""PyTorch warns once per process about unchecked sparse invariants and beta CSR support; the
tests compare behaviour, not those warnings (tests/sparse/test_sparse_warnings checks them)."""

import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_sparse_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse (invariant|CSR)")
        yield
