"""torch.cuda, torch.backends, torch.mps, threads and global flags as PyTorch 2.13's CPU build."""

from __future__ import annotations

import pytest
import torch

import glassgrad
from surface_cases import outcome

CUDA = [
    "torch.cuda.is_available()",
    "torch.cuda.is_initialized()",
    "torch.cuda.device_count()",
    "torch.cuda.manual_seed(1)",
    "torch.cuda.manual_seed(1.5)",
    "torch.cuda.manual_seed('a')",
    "torch.cuda.manual_seed_all(2**70)",
    "torch.cuda.seed()",
    "torch.cuda.seed_all()",
    "torch.cuda.initial_seed()",
    "torch.cuda.get_rng_state()",
    "torch.cuda.get_rng_state_all()",
    "torch.cuda.set_rng_state(torch.ByteTensor(8))",
    "torch.cuda.set_rng_state_all([])",
    "torch.cuda.synchronize()",
    "torch.cuda.synchronize('cpu')",
    "torch.cuda.set_device(0)",
    "torch.cuda.set_device(-1)",
    "torch.cuda.set_device(torch.device('cuda:0'))",
    "torch.cuda.set_device('cuda')",
    "torch.cuda.set_device('cpu')",
    "torch.cuda.current_device()",
    "torch.cuda.get_device_name()",
    "torch.cuda.get_device_name(0)",
    "torch.cuda.get_device_capability()",
    "torch.cuda.get_device_properties(0)",
    "torch.cuda.memory_allocated()",
    "torch.cuda.memory_allocated('cuda:0')",
    "torch.cuda.memory_allocated(device=0)",
    "torch.cuda.max_memory_allocated()",
    "torch.cuda.memory_reserved()",
    "torch.cuda.max_memory_reserved()",
    "torch.cuda.memory_cached()",
    "torch.cuda.max_memory_cached()",
    "torch.cuda.memory_stats()",
    "torch.cuda.memory_stats_as_nested_dict()",
    "torch.cuda.memory_summary()",
    "torch.cuda.reset_peak_memory_stats()",
    "torch.cuda.reset_max_memory_allocated()",
    "torch.cuda.reset_max_memory_cached()",
    "torch.cuda.reset_accumulated_memory_stats()",
    "torch.cuda.empty_cache()",
    "torch.cuda.ipc_collect()",
    "torch.cuda.init()",
    "torch.cuda.mem_get_info()",
    "torch.cuda.set_per_process_memory_fraction(0.5)",
    "torch.cuda.is_bf16_supported()",
    "torch.cuda.is_tf32_supported()",
    "torch.cuda.get_arch_list()",
    "torch.cuda.get_gencode_flags()",
    "torch.cuda.utilization()",
    "torch.cuda.list_gpu_processes()",
    "torch.cuda.default_generators",
    "torch.cuda._is_compiled()",
    "torch.cuda.has_half",
    "torch.cuda.has_magma",
    "torch.cuda.Stream()",
    "torch.cuda.Event()",
    "torch.cuda.Event(enable_timing=True)",
    "torch.cuda.current_stream()",
    "torch.cuda.default_stream()",
    "torch.cuda.set_stream(None)",
    "torch.cuda.stream(None).__enter__()",
    "torch.cuda.device(0).__enter__()",
    "torch.cuda.device('cuda:0').__enter__()",
    "torch.cuda.device(-1).__enter__()",
    "torch.cuda.device(None).__enter__()",
    "torch.cuda.device_of(torch.zeros(1)).__enter__()",
    "torch.cuda.FloatTensor(2)",
    "torch.cuda.LongTensor([1])",
    "isinstance(torch.zeros(1), torch.cuda.FloatTensor)",
    "torch.cuda.FloatTensor",
    "torch.cuda.nvtx.range_push('a')",
    "torch.cuda.nvtx.range('a').__enter__()",
    "issubclass(torch.cuda.OutOfMemoryError, RuntimeError)",
    "torch.cuda.OutOfMemoryError is torch.OutOfMemoryError",
]

BACKENDS = [
    "torch.backends.cudnn.enabled",
    "torch.backends.cudnn.benchmark",
    "torch.backends.cudnn.deterministic",
    "torch.backends.cudnn.allow_tf32",
    "torch.backends.cudnn.is_available()",
    "torch.backends.cudnn.version()",
    "torch.backends.cudnn.is_acceptable(torch.zeros(1))",
    "torch.backends.cudnn.fp32_precision",
    "torch.backends.cudnn.foo",
    "torch.backends.cuda.matmul.allow_tf32",
    "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
    "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
    "torch.backends.cuda.matmul.fp32_precision",
    "torch.backends.cuda.matmul.foo",
    "torch.backends.cuda.is_built()",
    "torch.backends.cuda.flash_sdp_enabled()",
    "torch.backends.cuda.mem_efficient_sdp_enabled()",
    "torch.backends.cuda.math_sdp_enabled()",
    "torch.backends.mps.is_available()",
    "torch.backends.mps.is_built()",
    "torch.backends.opt_einsum.enabled",
    "torch.backends.opt_einsum.is_available()",
    "torch.backends.opt_einsum.strategy",
    "torch.backends.mkldnn.enabled",
    "torch.backends.mkldnn.deterministic",
    "torch.backends.mkldnn.is_available()",
    "torch.backends.mkl.is_available()",
    "torch.backends.openmp.is_available()",
    "setattr(torch.backends.cudnn, 'benchmark', 'x')",
    "setattr(torch.backends.cudnn, 'enabled', 1)",
    "setattr(torch.backends.cudnn, 'deterministic', 'x')",
    "setattr(torch.backends.cudnn, 'allow_tf32', 'x')",
    "setattr(torch.backends.mkldnn, 'enabled', 'x')",
    "setattr(torch.backends.cuda.matmul, 'allow_tf32', 'x')",
    "setattr(torch.backends.cuda.matmul, 'allow_fp16_reduced_precision_reduction', 'x')",
    "setattr(torch.backends.cuda.matmul, 'foo', False)",
]

MPS = [
    "torch.mps.is_available()",
    "torch.mps.device_count()",
    "torch.mps.manual_seed(1)",
    "torch.mps.synchronize()",
    "torch.mps.empty_cache()",
    "torch.mps.current_allocated_memory()",
]

GLOBALS = [
    "torch.contiguous_format",
    "torch.channels_last",
    "torch.preserve_format",
    "torch.channels_last_3d",
    "type(torch.contiguous_format)",
    "isinstance(torch.channels_last, torch.memory_format)",
    "torch.is_complex(torch.zeros(1))",
    "torch.is_complex(1)",
    "torch.is_floating_point(torch.zeros(1))",
    "torch.is_floating_point(torch.zeros(1, dtype=torch.int64))",
    "torch.is_floating_point(1.0)",
    "torch.zeros(1).is_complex()",
    "torch.set_num_threads(0)",
    "torch.set_num_threads('a')",
    "torch.set_num_interop_threads(0)",
    "torch.use_deterministic_algorithms('a')",
    "torch.set_float32_matmul_precision('bad')",
    "torch.get_float32_matmul_precision()",
    "torch.are_deterministic_algorithms_enabled()",
    "torch.get_deterministic_debug_mode()",
]

LAYOUTS = [
    "torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last).stride()",
    "torch.zeros(2, 3, 4, 5).contiguous(memory_format=torch.channels_last).stride()",
    "torch.zeros(2, 3, 4, 5).clone(memory_format=torch.channels_last).stride()",
    "torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last).contiguous().stride()",
    "torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last).is_contiguous()",
    "torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last)"
    ".is_contiguous(memory_format=torch.channels_last)",
    "torch.zeros(2, 3, 4, 5).is_contiguous(memory_format=torch.channels_last)",
    "torch.zeros(2, 1, 1, 1).is_contiguous(memory_format=torch.channels_last)",
    "torch.zeros(2, 3, 4).is_contiguous(memory_format=torch.channels_last)",
    "torch.zeros(2, 3, 4, 5, 6).contiguous(memory_format=torch.channels_last_3d).stride()",
    "torch.zeros(2, 3, 4).contiguous(memory_format=torch.channels_last_3d)",
    "torch.zeros(2).to(memory_format=torch.channels_last)",
    "torch.zeros(2).contiguous(memory_format=torch.channels_last)",
    "torch.zeros(2).contiguous(memory_format=torch.preserve_format)",
    "torch.zeros(2).contiguous(memory_format=1)",
    "torch.zeros(2).is_contiguous(memory_format=torch.preserve_format)",
    "torch.zeros(2, 3).clone(memory_format=torch.contiguous_format)",
    "torch.zeros(2, 3, 4, 5).to(torch.float64, memory_format=torch.channels_last).stride()",
    "(torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last) + 1).stride()",
    "torch.zeros(2).float(memory_format=torch.contiguous_format)",
    "torch.zeros_like(torch.zeros(2), memory_format=torch.preserve_format)",
    "torch.nn.Conv2d(3, 4, 1).to(memory_format=torch.channels_last).weight.stride()",
    "torch.nn.Conv2d(3, 4, 1).to(memory_format=torch.channels_last).bias.stride()",
]


def _same(source: str) -> None:
    assert outcome(glassgrad, source) == outcome(torch, source)


@pytest.mark.parametrize("source", CUDA)
def test_cuda_as_torch_cpu_build(source):
    _same(source)


@pytest.mark.parametrize("source", BACKENDS)
def test_backends_as_torch_cpu_build(source):
    _same(source)


@pytest.mark.parametrize("source", MPS)
def test_mps_as_torch_cpu_build(source):
    _same(source)


@pytest.mark.parametrize("source", GLOBALS)
def test_global_settings_as_torch(source):
    _same(source)


@pytest.mark.parametrize("source", LAYOUTS)
def test_memory_formats_as_torch(source):
    _same(source)


def test_channels_last_keeps_values_and_gradients():
    for lib in (torch, glassgrad):
        x = lib.arange(120.0).reshape(2, 3, 4, 5).requires_grad_()
        y = x.to(memory_format=lib.channels_last)
        (y * lib.arange(5.0)).sum().backward()
        assert y.tolist() == x.tolist()
        assert x.grad.tolist() == lib.arange(5.0).expand(2, 3, 4, 5).tolist()


def _flag_story(lib):
    """Set flags as scripts do, read them back, restore them."""
    backends, seen = lib.backends, []
    try:
        backends.cudnn.benchmark = True
        backends.cudnn.deterministic = True
        seen += [backends.cudnn.benchmark, backends.cudnn.deterministic]
        seen.append(lib.are_deterministic_algorithms_enabled())  # cudnn's flag is its own
        with backends.cudnn.flags(enabled=False, benchmark=False):
            seen += [backends.cudnn.enabled, backends.cudnn.benchmark]
        seen += [backends.cudnn.enabled, backends.cudnn.benchmark]
        backends.cuda.matmul.allow_tf32 = True
        seen += [lib.get_float32_matmul_precision(), backends.cuda.matmul.fp32_precision]
        backends.cuda.matmul.allow_tf32 = False
        seen += [lib.get_float32_matmul_precision(), backends.cuda.matmul.fp32_precision]
        for precision in ("medium", "high", "highest"):
            lib.set_float32_matmul_precision(precision)
            seen += [lib.get_float32_matmul_precision(), backends.cuda.matmul.allow_tf32]
        backends.opt_einsum.enabled = True
        seen.append(backends.opt_einsum.enabled)
        with backends.mkldnn.flags(enabled=False):
            seen.append(backends.mkldnn.enabled)
        seen.append(backends.mkldnn.enabled)
        lib.use_deterministic_algorithms(True, warn_only=True)
        seen += [
            lib.are_deterministic_algorithms_enabled(),
            lib.is_deterministic_algorithms_warn_only_enabled(),
            lib.get_deterministic_debug_mode(),
        ]
        lib.set_deterministic_debug_mode("error")
        seen.append(lib.get_deterministic_debug_mode())
        lib.set_deterministic_debug_mode(0)
        seen.append(lib.are_deterministic_algorithms_enabled())
    finally:
        backends.cudnn.benchmark = backends.cudnn.deterministic = False
        backends.opt_einsum.enabled = False
        lib.use_deterministic_algorithms(False)
    return seen


def test_backend_flags_set_and_read_back_as_torch():
    assert _flag_story(glassgrad) == _flag_story(torch)


def test_set_num_threads_sets_the_blas_pools():
    from threadpoolctl import threadpool_info

    before = glassgrad.get_num_threads()
    try:
        glassgrad.set_num_threads(1)
        assert glassgrad.get_num_threads() == 1
        blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(count == 1 for count in blas)
        glassgrad.set_num_interop_threads(2)
        assert glassgrad.get_num_interop_threads() == 2
    finally:
        glassgrad.set_num_threads(before)
