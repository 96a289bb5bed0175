"""Modified Bessel functions of the second kind: ``special.modified_bessel_k0``,
``special.modified_bessel_k1`` and their scaled forms ``scaled_modified_bessel_k0/k1``
(``e^x K_nu(x)``).

The values are SciPy's (``scipy.special.k0``...: the Cephes kernels PyTorch also uses),
computed in float64 and cast to the input's dtype. PyTorch records no derivative for these.
"""

from __future__ import annotations

import scipy.special as _sc

from glassgrad.backend import quiet
from glassgrad.ops.elementwise.unary import elementwise
from glassgrad.ops.special.gamma import _in64

_HIDDEN = {"method": False, "function": False}  # torch.special only
modified_bessel_k0 = elementwise(
    "special_modified_bessel_k0",
    quiet(_in64(_sc.k0)),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
modified_bessel_k1 = elementwise(
    "special_modified_bessel_k1",
    quiet(_in64(_sc.k1)),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
scaled_modified_bessel_k0 = elementwise(
    "special_scaled_modified_bessel_k0",
    quiet(_in64(_sc.k0e)),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
scaled_modified_bessel_k1 = elementwise(
    "special_scaled_modified_bessel_k1",
    quiet(_in64(_sc.k1e)),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
