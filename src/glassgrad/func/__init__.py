"""``torch.func``: composable function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian,
vmap, functional_call), as PyTorch 2.13 exports them.

``vmap`` batches at the NumPy level (``glassgrad._batched``): a tensor's data under ``vmap`` is
a ``BatchedArray`` and every op, forward and backward, runs once on the whole batch. The other
transforms are built on the engine's reverse mode, so all of them compose in any order
(``vmap(grad(f))``, ``jacfwd(jacrev(f))``, ``grad(grad(f))``, ``vmap(vmap(f))``).
"""

from __future__ import annotations

from glassgrad.func import _batched_funcs as _batched_funcs  # noqa: F401 - installs the rules
from glassgrad.func import _batched_methods as _batched_methods  # noqa: F401
from glassgrad.func import _batched_search as _batched_search  # noqa: F401
from glassgrad.func import _function_vmap as _function_vmap  # noqa: F401 - Function under vmap
from glassgrad.func._jacobians import hessian, jacfwd, jacrev, jvp, linearize
from glassgrad.func._modules import functional_call, stack_module_state
from glassgrad.func._transforms import grad, grad_and_value, vjp
from glassgrad.func._vmap import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "stack_module_state",
    "vjp",
    "vmap",
]
