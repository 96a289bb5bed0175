"""The ``torch`` namespace the distributions are written against, gathered from the layers below
(the op table, the factories, dtypes, ``linalg``, ``special``, ``nn.functional``) so that this
package never imports the top-level ``glassgrad`` it sits under.
"""

from __future__ import annotations

import math
import types

from glassgrad import creation as _creation
from glassgrad import dtypes as _dtypes
from glassgrad import linalg, special  # noqa: F401 - torch.linalg, torch.special
from glassgrad._finfo import finfo, iinfo  # noqa: F401
from glassgrad._memory_format import contiguous_format  # noqa: F401
from glassgrad.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad  # noqa: F401
from glassgrad.distributions import _primitives
from glassgrad.nn import functional as _functional
from glassgrad.ops import OPS as _OPS
from glassgrad.ops.random.sample import bernoulli, multinomial, normal  # noqa: F401
from glassgrad.tensor import Size, Tensor

_Number = (int, float, bool)
Number = (int, float, bool)
_size = tuple
_dtype = _dtypes.dtype
Device = object
SymInt = int
inf = math.inf
nan = math.nan
_NO_SHAPE = Size()  # the default sample_shape (a module constant, as defaults must be)


def _namespace() -> types.SimpleNamespace:
    names: dict = {}
    for info in _OPS.values():
        for name in info.functions:
            names.setdefault(name, info.fn)
    for name in _creation.__all__:
        names[name] = getattr(_creation, name)
    for name in dir(_dtypes):
        if isinstance(getattr(_dtypes, name), _dtypes.dtype):
            names[name] = getattr(_dtypes, name)
    names["bool"] = _dtypes.bool_
    names["get_default_dtype"] = _dtypes.get_default_dtype
    for name in ("finfo", "iinfo", "no_grad", "enable_grad", "is_grad_enabled"):
        names[name] = globals()[name]
    for name in ("bernoulli", "multinomial", "normal", "special", "Size", "Tensor"):
        names[name] = globals()[name]
    for name in _primitives.__all__:
        names.setdefault(name, getattr(_primitives, name))  # the op table's where it has one
    names.update(
        contiguous_format=contiguous_format,
        linalg=_primitives.linalg_namespace(linalg),
        inf=math.inf,
        nan=math.nan,
        is_tensor=lambda obj: isinstance(obj, Tensor),
        is_floating_point=lambda t: t.is_floating_point(),
        _is_all_true=lambda value: bool(value.all()),
        _C=types.SimpleNamespace(
            _get_tracing_state=lambda: None, _infer_size=_primitives.broadcast_shapes
        ),
        nn=types.SimpleNamespace(functional=_functional),
        jit=types.SimpleNamespace(script_if_tracing=lambda fn: fn),
    )
    return types.SimpleNamespace(**names)


torch = _namespace()
