"""``torch.autograd.gradcheck``: ``gradcheck``, ``gradgradcheck`` and ``GradcheckError``.

The checks follow PyTorch's ``torch/autograd/gradcheck.py`` step for step: the public functions
are in ``gradcheck_api``, slow mode and the helpers in ``gradcheck_slow``, fast mode in
``gradcheck_fast`` (each imports only the ones below it).
"""

from __future__ import annotations

from glassgrad.autograd.gradcheck_api import gradcheck, gradgradcheck
from glassgrad.autograd.gradcheck_slow import GradcheckError

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]
