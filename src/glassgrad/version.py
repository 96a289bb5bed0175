"""``torch.version``: what this build was compiled with (no CUDA, no ROCm, no XPU)."""

from glassgrad import __version__  # noqa: F401

cuda = None
hip = None
rocm = None
xpu = None
debug = False
git_version = "unknown"
