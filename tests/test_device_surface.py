"""Devices as PyTorch 2.13's CPU build has them: torch.device, .to(), factories, modules."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import glassgrad
from surface_cases import outcome

DEVICES = [
    "torch.device('cuda:0')",
    "torch.device('cuda', 1)",
    "torch.device(type='cuda', index=2)",
    "torch.device('cpu')",
    "torch.device('cpu:0')",
    "torch.device('cpu', 0)",
    "str(torch.device('cuda:1'))",
    "torch.device('cuda:0').index",
    "torch.device('cuda').index",
    "torch.device('cuda', 1).type",
    "torch.device('xpu:3')",
    "torch.device('mps')",
    "torch.device('meta')",
    "torch.device('hpu')",
    "torch.device('privateuseone')",
    "torch.device('mkldnn')",
    "torch.device(b'cpu')",
    "torch.device(torch.device('cuda:1'))",
    "torch.device('cuda', index=None)",
    "torch.device(type='cuda')",
    "torch.device('cuda:200')",
    "torch.device('cuda:128')",
    "torch.device('cuda:256')",
    "torch.device('cuda:32767')",
    "torch.device('cuda', 200)",
    "torch.device('cuda', 2**40)",
    # equality, hashing, ordering
    "torch.device('cpu') == 'cpu'",
    "torch.device('cpu') == torch.device('cpu', 0)",
    "torch.device('cuda', 1) == torch.device('cuda:1')",
    "torch.device('cpu') != torch.device('cpu')",
    "torch.device('cpu') == None",
    "hash(torch.device('cpu')) == hash(torch.device('cpu'))",
    "hash(torch.device('cuda', 1)) == hash(torch.device('cuda:1'))",
    "{torch.device('cpu'): 1}[torch.device('cpu')]",
    "torch.device('cpu') < torch.device('cpu')",
    "isinstance(torch.device('cpu'), torch.device)",
    "torch.device('cuda:1').__reduce__()[1]",
    # bad strings and arguments
    "torch.device('xyz')",
    "torch.device('CUDA')",
    "torch.device('cuda_x')",
    "torch.device('xyz', 0)",
    "torch.device('cuda:-1')",
    "torch.device('cuda:a')",
    "torch.device(' cuda')",
    "torch.device('cpu ')",
    "torch.device('cuda:01')",
    "torch.device('cuda:1:2')",
    "torch.device('cpu_1')",
    "torch.device(':0')",
    "torch.device('cuda:')",
    "torch.device('')",
    "torch.device('', 0)",
    "torch.device('cuda:99999999999')",
    "torch.device('cuda', -1)",
    "torch.device(type='cuda', index=-1)",
    "torch.device('cuda:0', 1)",
    "torch.device('cpu:0', None)",
    "torch.device(0)",
    "torch.device(3)",
    "torch.device(-1)",
    "torch.device(None)",
    "torch.device(1.5)",
    "torch.device(True)",
    "torch.device()",
    "torch.device('cpu', 'a')",
    "torch.device('cuda', True)",
    "torch.device(torch.device('cpu'), 1)",
]

MOVES = [
    "torch.zeros(2).to('cuda')",
    "torch.zeros(2).to('cuda:0')",
    "torch.zeros(2).to(device='cuda')",
    "torch.zeros(2).to(torch.device('cuda'))",
    "torch.zeros(2).to('cuda', torch.float64)",
    "torch.zeros(2).to('cuda', non_blocking=True)",
    "torch.zeros(2).cuda()",
    "torch.zeros(2).cuda(0)",
    "torch.zeros(2).cuda('cuda:0')",
    "torch.zeros(2).cuda(device='cuda')",
    "torch.zeros(2).cuda(torch.device('cuda', 1))",
    "torch.zeros(2).cuda('cpu')",
    "torch.zeros(2).xpu()",
    "torch.zeros(2).ipu()",
    "torch.zeros(2).to(0)",
    "torch.zeros(2).to('cpu')",
    "torch.zeros(2).to('cpu:0')",
    "torch.zeros(2).to(torch.device('cpu'))",
    "torch.zeros(2).to('cpu', torch.float64)",
    "torch.zeros(2).to(device=torch.device('cpu'), dtype=torch.float64)",
    "torch.zeros(2).to(device=None)",
    "torch.zeros(2).to(torch.zeros(1, dtype=torch.int64), copy=True).dtype",
    "torch.zeros(2).cpu()",
    "torch.zeros(2).cpu(memory_format=torch.contiguous_format)",
    "torch.zeros(2).device",
    "torch.zeros(2).device.type",
    "torch.zeros(2).device == torch.device('cpu')",
    "torch.zeros(2).get_device()",
    "torch.zeros(2).is_cpu",
    "torch.zeros(2).is_cuda",
    "torch.zeros(2).is_mps",
    "torch.zeros(2).is_xpu",
    "torch.zeros(2).is_meta",
    "torch.zeros(2).is_sparse",
    "torch.zeros(2).is_quantized",
    "torch.zeros(2).is_mkldnn",
    "torch.zeros(2).is_pinned()",
    "torch.zeros(2).pin_memory()",
] + [f"torch.zeros(2).to('{name}')" for name in (
    "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
    "vulkan", "mps", "hpu", "mtia", "privateuseone", "xyz", "xyz:0",
)]  # fmt: skip

FACTORIES = [
    "torch.zeros(2, device='cuda')",
    "torch.ones(2, device='cuda:1')",
    "torch.empty(2, device='cuda')",
    "torch.full((2,), 1.0, device='cuda')",
    "torch.eye(2, device='cuda')",
    "torch.arange(3, device='cuda')",
    "torch.linspace(0, 1, 3, device='cuda')",
    "torch.tensor([1.0], device='cuda')",
    "torch.as_tensor([1.0], device='cuda')",
    "torch.randn(2, device='cuda')",
    "torch.rand(2, device='cuda')",
    "torch.randint(3, (2,), device='cuda')",
    "torch.randperm(3, device='cuda')",
    "torch.zeros_like(torch.ones(2), device='cuda')",
    "torch.ones_like(torch.ones(2), device='cuda')",
    "torch.full_like(torch.ones(2), 3.0, device='cuda')",
    "torch.ones(2).new_zeros(3, device='cuda')",
    "torch.ones(2).new_full((3,), 1.0, device='cuda')",
    "torch.ones(2).new_tensor([1.0], device='cuda')",
    "torch.zeros(2, device=0)",
    "torch.zeros(2, device='cpu')",
    "torch.zeros(2, device='cpu:1')",
    "torch.zeros(2, device='cpu:0').device",
    "torch.zeros(2, device=torch.device('cpu'))",
    "torch.zeros(2, device='xyz')",
    "torch.tensor([1.0], pin_memory=True)",
    "torch.zeros(2, pin_memory=True)",
    "torch.empty(2, pin_memory=True)",
] + [f"torch.zeros(2, device='{name}')" for name in (
    "xpu", "mkldnn", "opengl", "opencl", "ideep", "hpu", "mtia", "privateuseone",
)]  # fmt: skip

# the dispatcher's message ends in a table of kernels and source paths: compare its first part
DISPATCH = [f"torch.zeros(2, device='{name}')" for name in ("ipu", "hip", "ve", "mps", "lazy")] + [
    "torch.arange(3, device='mps')",
    "torch.zeros(2).to('lazy')",
]

MODULES = [
    "torch.nn.Linear(2, 2).to('cuda')",
    "torch.nn.Linear(2, 2).to(device='cuda')",
    "torch.nn.Linear(2, 2).cuda()",
    "torch.nn.Linear(2, 2).cuda(0)",
    "torch.nn.Linear(2, 2).to('xyz')",
    "torch.nn.Linear(2, 2).to('mps')",
    "torch.nn.Linear(2, 2).xpu()",
    "torch.nn.Linear(2, 2).ipu()",
    "torch.nn.Linear(2, 2).mtia()",
    "torch.nn.Linear(2, 2, device='cuda')",
    "torch.nn.Linear(2, 2, True, 'cuda')",
    "torch.nn.Conv2d(1, 1, 3, device='cuda')",
    "torch.nn.LSTM(2, 2, device='cuda')",
    "torch.nn.Embedding(3, 2, device='cuda')",
    "torch.nn.LayerNorm(2, device='cuda')",
    "torch.nn.ReLU().to('cuda')",
    "torch.nn.ReLU().cuda()",
    "torch.nn.ReLU().to('xyz')",
    "torch.nn.Linear(2, 2).to(torch.device('cpu'))",
    "torch.nn.Linear(2, 2).cpu()",
    "torch.nn.Linear(2, 2, device='cpu')",
    "torch.nn.Linear(2, 2).to('cpu', torch.float64).weight.dtype",
    "torch.nn.Linear(2, 2).to(torch.zeros(1, dtype=torch.float64)).weight.dtype",
    "torch.nn.Linear(2, 2).to(torch.int64)",
    "torch.nn.Linear(2, 2).to(dtype=torch.int32)",
    "torch.nn.Linear(2, 2).to_empty(device='cpu').weight.shape",
    "torch.nn.Linear(2, 2).to_empty(device='cuda')",
    "torch.nn.ReLU().to_empty(device='cuda')",
    "torch.Generator(device='cuda')",
    "torch.Generator(device='mps')",
    "torch.Generator(device='xyz')",
    "torch.Generator('cpu').device",
    "torch.empty(2, 3, 4, 5, memory_format=torch.channels_last).stride()",
    "list(torch.utils.data.DataLoader([1.0, 2.0], pin_memory=True))",
    "torch.utils.data.DataLoader([1.0, 2.0], pin_memory=True).pin_memory",
]


def _same(source: str, prefix: int | None = None) -> None:
    assert outcome(glassgrad, source, prefix=prefix) == outcome(torch, source, prefix=prefix)


@pytest.mark.parametrize("source", DEVICES)
def test_device_objects_as_torch(source):
    _same(source)


@pytest.mark.parametrize("source", MOVES)
def test_tensor_moves_as_torch_cpu_build(source):
    _same(source)


@pytest.mark.parametrize("source", FACTORIES)
def test_factory_devices_as_torch_cpu_build(source):
    _same(source)


@pytest.mark.parametrize("source", DISPATCH)
def test_backends_without_kernels_raise_torch_dispatch_error(source):
    _same(source, prefix=300)


@pytest.mark.parametrize("source", MODULES)
def test_module_devices_as_torch_cpu_build(source):
    _same(source)


def test_device_pickles_copies_and_is_read_only():
    for lib in (torch, glassgrad):
        cuda1 = lib.device("cuda:1")
        assert pickle.loads(pickle.dumps(cuda1)) == cuda1
        assert copy.deepcopy(cuda1) == cuda1
        with pytest.raises(AttributeError):
            cuda1.type = "cpu"


def test_meta_device_is_refused_honestly():
    # PyTorch makes data-less meta tensors; glassgrad's tensors always hold data, so it says so.
    with pytest.raises(NotImplementedError, match="no 'meta' device"):
        glassgrad.zeros(2).to("meta")
    with pytest.raises(NotImplementedError, match="no 'meta' device"):
        glassgrad.zeros(2, device="meta")


def _default_device_story(lib):
    seen = []
    try:
        with lib.device("cpu"):
            seen.append((str(lib.zeros(1).device), str(lib.get_default_device())))
        lib.set_default_device("cuda")
        for source in (
            "torch.get_default_device()",
            "torch.zeros(2)",
            "torch.tensor([1.0])",
            "torch.nn.Linear(2, 2)",
            "torch.zeros(2, device='cpu')",
            "torch.from_numpy(np.zeros(2))",
        ):
            seen.append(outcome(lib, source))
        lib.set_default_device("cuda:1")
        seen.append(str(lib.get_default_device()))
        lib.set_default_device("cpu:0")
        seen.append((str(lib.get_default_device()), str(lib.zeros(1).device)))
        lib.set_default_device(None)
        lib.set_default_device("mps")
        seen.append(outcome(lib, "torch.get_default_device()"))
    finally:
        lib.set_default_device(None)
    seen.append(str(lib.get_default_device()))
    try:
        with lib.device("cuda"):
            lib.zeros(1)
    except AssertionError as exc:
        seen.append(str(exc))
    seen.append(outcome(lib, "torch.set_default_device('xyz')"))
    seen.append(str(lib.get_default_device()))
    return seen


def test_default_device_as_torch_cpu_build():
    assert _default_device_story(glassgrad) == _default_device_story(torch)
