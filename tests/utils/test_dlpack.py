"""``torch.utils.dlpack`` and ``Tensor.__dlpack__``: memory shared with PyTorch and NumPy both
ways, PyTorch's errors."""

import numpy as np
import pytest
import torch

import glassgrad


def test_pytorch_tensors_come_in_without_a_copy():
    source = torch.arange(4.0)
    from_capsule = glassgrad.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(source))
    from_object = glassgrad.from_dlpack(source)
    from_capsule.add_(1)
    from_object.mul_(2)
    assert source.tolist() == [2.0, 4.0, 6.0, 8.0]
    assert from_capsule.dtype == glassgrad.float32 and from_object.shape == (4,)
    copied = glassgrad.from_dlpack(source, copy=True)
    copied.zero_()
    assert source.tolist() == [2.0, 4.0, 6.0, 8.0]


def test_glassgrad_tensors_go_out_without_a_copy():
    mine = glassgrad.arange(6).reshape(2, 3)
    theirs = torch.utils.dlpack.from_dlpack(glassgrad.utils.dlpack.to_dlpack(mine))
    theirs[0, 0] = 9
    assert mine.tolist() == [[9, 1, 2], [3, 4, 5]] and theirs.dtype == torch.int64
    assert torch.from_dlpack(mine).tolist() == mine.tolist()
    assert np.shares_memory(np.from_dlpack(mine), mine.numpy())
    assert mine.__dlpack_device__() == torch.arange(1).__dlpack_device__()


def test_errors_as_pytorch():
    for lib in (glassgrad, torch):
        leaf = lib.ones(2, requires_grad=True)
        with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
            leaf.__dlpack__()
        assert lib.utils.dlpack.from_dlpack(lib.utils.dlpack.to_dlpack(leaf)).tolist() == [1, 1]
        capsule = lib.utils.dlpack.to_dlpack(lib.ones(2))
        lib.utils.dlpack.from_dlpack(capsule)
        with pytest.raises(RuntimeError, match="DLTensor capsules can be consumed only once"):
            lib.utils.dlpack.from_dlpack(capsule)
