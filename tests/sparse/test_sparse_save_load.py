"""Sparse tensors through ``torch.save``/``torch.load`` in PyTorch's format, both ways."""

from __future__ import annotations

import io

import pytest
import torch
from tests.sparse.compare import same

import glassgrad


def _tensors(L):
    coo = L.sparse_coo_tensor(L.tensor([[1, 0, 1], [2, 0, 2]]), L.tensor([3.0, 4, 5]), (2, 3))
    return {
        "coo": coo,
        "coalesced": coo.coalesce(),
        "dense dims": L.sparse_coo_tensor(L.tensor([[0, 2]]), L.ones(2, 3, dtype=L.float64)),
        "csr": coo.to_sparse_csr(),
        "csc": coo.to_sparse_csc(),
        "layouts": [L.strided, L.sparse_coo, L.sparse_csr],
    }


def _round_trip(writer, reader):
    buffer = io.BytesIO()
    writer.save(_tensors(writer), buffer)
    buffer.seek(0)
    return reader.load(buffer, weights_only=True)


@pytest.mark.parametrize("direction", ["glassgrad to torch", "torch to glassgrad", "glassgrad"])
def test_round_trip(direction):
    writer, reader = {
        "glassgrad to torch": (glassgrad, torch),
        "torch to glassgrad": (torch, glassgrad),
        "glassgrad": (glassgrad, glassgrad),
    }[direction]
    loaded = _round_trip(writer, reader)
    want = _tensors(torch)
    for key in ("coo", "coalesced", "dense dims", "csr", "csc"):
        got = loaded[key]
        if reader is torch:  # compare glassgrad's reading of it
            buffer = io.BytesIO()
            torch.save(got, buffer)
            buffer.seek(0)
            got = glassgrad.load(buffer)
        same(want[key], got)
    assert [repr(layout) for layout in loaded["layouts"]] == [repr(x) for x in want["layouts"]]
