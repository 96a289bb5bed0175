"""``torch.func``: composable function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian,
vmap, functional_call), as PyTorch 2.13 exports them."""

from __future__ import annotations

from glassgrad.func import _batched_funcs as _batched_funcs  # noqa: F401 - installs the rules
from glassgrad.func import _batched_methods as _batched_methods  # noqa: F401
from glassgrad.func._transforms import grad, grad_and_value, vjp
from glassgrad.func._vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "vmap"]
