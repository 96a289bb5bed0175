"""Small names scripts import or read at the top, against PyTorch 2.13's CPU build."""

from __future__ import annotations

import pytest
import torch

import glassgrad
from surface_cases import outcome


@pytest.fixture(autouse=True)
def _unwrap_ops_after():
    """bfloat16 and autocast wrap some ops on first use; put them back for the next tests."""
    yield
    glassgrad.amp._policy.uninstall()


SOURCES = [
    "torch.pi", "torch.e", "torch.inf", "torch.nan != torch.nan", "torch.newaxis",
    "torch.version.cuda", "torch.version.hip", "torch.version.debug",
    "torch.cpu.is_available()", "torch.cpu.device_count()", "torch.cpu.current_device()",
    "torch.cpu.synchronize()", "torch.cpu.is_initialized()",
    "torch.xpu.is_available()", "torch.xpu.device_count()", "torch.xpu.is_initialized()",
    "torch.xpu.manual_seed(1)", "torch.xpu.manual_seed_all(1)", "torch.xpu.synchronize()",
    "torch.xpu.current_device()",
    "torch.zeros(1).is_nested", "torch._assert(True, 'm')", "torch._assert(False, 'msg')",
    "[(k, int(v)) for k, v in torch.nn.attention.SDPBackend.__members__.items()]",
    "str(torch.nn.attention.SDPBackend.MATH)", "repr(torch.nn.attention.SDPBackend.MATH)",
    "torch.backends.cuda.SDPBackend is torch.nn.attention.SDPBackend",
    "torch.nn.attention.sdpa_kernel('x').__enter__()",
    "callable(torch.backends.cuda.can_use_flash_attention)",
    "callable(torch.backends.cuda.can_use_efficient_attention)",
    "(lambda c: c.__enter__() and c.__exit__(None, None, None) and None)(torch.cpu.amp.autocast())",
    "torch._dynamo.OptimizedModule.__name__",
    "torch._dynamo.config.suppress_errors",
    "torch._dynamo.is_compiling()",
]  # fmt: skip


@pytest.mark.parametrize("source", SOURCES)
def test_small_names_as_torch(source):
    assert outcome(glassgrad, source) == outcome(torch, source)


def _kernel_story(lib):
    from_cuda = lib.backends.cuda
    SDPBackend = lib.nn.attention.SDPBackend  # noqa: N806 - PyTorch's name
    seen = []
    for chosen in (SDPBackend.MATH, [SDPBackend.FLASH_ATTENTION, SDPBackend.MATH], []):
        with lib.nn.attention.sdpa_kernel(chosen):
            seen.append(
                (
                    from_cuda.flash_sdp_enabled(),
                    from_cuda.math_sdp_enabled(),
                    from_cuda.mem_efficient_sdp_enabled(),
                    from_cuda.cudnn_sdp_enabled(),
                )
            )
    seen.append(from_cuda.flash_sdp_enabled())
    with lib.cpu.amp.autocast():
        seen.append((lib.is_autocast_enabled("cpu"), str(lib.get_autocast_dtype("cpu"))))
    return seen


def test_sdpa_kernel_and_cpu_autocast_as_torch():
    assert _kernel_story(glassgrad) == _kernel_story(torch)
