"""Activation functions as modules; each forwards to its ``nn.functional`` form."""

from __future__ import annotations

from glassgrad import creation
from glassgrad.nn import functional as F
from glassgrad.nn import init
from glassgrad.nn.modules.module import Module
from glassgrad.nn.parameter import Parameter

__all__ = [
    "Threshold",
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "SELU",
    "CELU",
    "GELU",
    "SiLU",
    "Mish",
    "Softplus",
    "Softsign",
    "Hardtanh",
    "Hardsigmoid",
    "Hardswish",
    "Hardshrink",
    "Softshrink",
    "Tanhshrink",
    "LogSigmoid",
    "PReLU",
    "GLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Softmin",
    "Softmax2d",
]


def _inplace(flag: bool, lead: str = "") -> str:
    return f"{lead}inplace=True" if flag else ""


class _Inplace(Module):
    """An activation whose only setting is ``inplace``."""

    _fn = ""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        if not self.inplace:
            return getattr(F, self._fn)(input)
        # The in-place Tensor method (``relu_``) is what ``F.relu(inplace=True)`` runs.
        method = getattr(type(input), self._fn + "_", None)
        if method is not None:
            return method(input)
        return getattr(F, self._fn)(input, inplace=True)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class _Plain(Module):
    """An activation with no settings."""

    _fn = ""

    def forward(self, input):
        return getattr(F, self._fn)(input)


class Threshold(Module):
    """``y = x if x > threshold else value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace(self.inplace, ', ')}"


class ReLU(_Inplace):
    """``max(0, x)``."""

    _fn = "relu"


class SELU(_Inplace):
    """Scaled ELU with the self-normalising constants."""

    _fn = "selu"


class SiLU(_Inplace):
    """``x * sigmoid(x)``."""

    _fn = "silu"


class Mish(_Inplace):
    """``x * tanh(softplus(x))``."""

    _fn = "mish"


class Hardsigmoid(_Inplace):
    """Piecewise-linear sigmoid: ``relu6(x + 3) / 6``."""

    _fn = "hardsigmoid"

    def extra_repr(self) -> str:
        return ""


class Hardswish(_Inplace):
    """``x * relu6(x + 3) / 6``."""

    _fn = "hardswish"

    def extra_repr(self) -> str:
        return ""


class Hardtanh(Module):
    """``x`` clamped to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace
        if self.max_val <= self.min_val:
            raise AssertionError

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace(self.inplace, ', ')}"


class ReLU6(Hardtanh):
    """``min(max(0, x), 6)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class LeakyReLU(Module):
    """``x if x >= 0 else negative_slope * x``."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace(self.inplace, ', ')}"


class ELU(Module):
    """``x if x > 0 else alpha * (exp(x) - 1)``."""

    _fn = "elu"

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return getattr(F, self._fn)(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace(self.inplace, ', ')}"


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    _fn = "celu"


class GELU(Module):
    """Gaussian error linear unit (exact, or the ``tanh`` approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class _Shrink(Module):
    _fn = ""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return getattr(F, self._fn)(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """``x if |x| > lambd else 0``."""

    _fn = "hardshrink"


class Softshrink(_Shrink):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""

    _fn = "softshrink"


class Softsign(_Plain):
    """``x / (1 + |x|)``."""

    _fn = "softsign"


class Tanhshrink(_Plain):
    """``x - tanh(x)``."""

    _fn = "tanhshrink"


class LogSigmoid(_Plain):
    """``log(sigmoid(x))``, computed stably."""

    _fn = "logsigmoid"


class Sigmoid(_Plain):
    """``1 / (1 + exp(-x))``."""

    _fn = "sigmoid"


class Tanh(_Plain):
    """Hyperbolic tangent."""

    _fn = "tanh"


class PReLU(Module):
    """Leaky ReLU whose negative slope is learned (one per channel, or one shared)."""

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None
    ) -> None:
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        self.weight = Parameter(creation.empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set every slope to ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class _DimModule(Module):
    """An activation whose only setting is ``dim``."""

    _fn = ""

    def __init__(self, dim=None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return getattr(F, self._fn)(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GLU(_DimModule):
    """Gated linear unit: split ``dim`` in halves ``a, b`` and return ``a * sigmoid(b)``."""

    _fn = "glu"

    def __init__(self, dim: int = -1) -> None:
        super().__init__(dim)


class Softmax(_DimModule):
    """``exp(x) / sum(exp(x))`` along ``dim``."""

    _fn = "softmax"


class LogSoftmax(_DimModule):
    """``log(softmax(x))`` along ``dim``, computed stably."""

    _fn = "log_softmax"


class Softmin(_DimModule):
    """``softmax(-x)`` along ``dim``."""

    _fn = "softmin"


class Softmax2d(Module):
    """Softmax over the channel dimension of an image batch."""

    def forward(self, input):
        return F.softmax(input, -3)
