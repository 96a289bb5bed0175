"""glassgrad: automatic differentiation on NumPy with PyTorch's API, made of glass.

``import glassgrad as torch`` runs PyTorch code unchanged; ``glassgrad.glass`` shows where
gradients flow, where they stop, and why.
"""

import math as _math
import sys as _sys

from glassgrad import (  # noqa: F401 - the namespaces scripts reach through ``torch.``
    _dynamo,
    accelerator,
    amp,
    autograd,
    backends,
    compiler,
    cuda,
    futures,
    hub,
    jit,
    mps,
    multiprocessing,
    nn,
    onnx,
    optim,
    profiler,
    sparse,
    utils,
)
from glassgrad import backend as _backend
from glassgrad import dtypes as _dtypes
from glassgrad import ops as _ops  # noqa: E402 - fills the op table and Tensor methods
from glassgrad._config import (
    are_deterministic_algorithms_enabled,
    get_deterministic_debug_mode,
    get_float32_matmul_precision,
    get_num_interop_threads,
    get_num_threads,
    is_deterministic_algorithms_warn_only_enabled,
    set_deterministic_debug_mode,
    set_float32_matmul_precision,
    set_num_interop_threads,
    set_num_threads,
    use_deterministic_algorithms,
)
from glassgrad._device import get_default_device, set_default_device
from glassgrad._finfo import can_cast, finfo, iinfo, result_type
from glassgrad._layout import (
    layout,
    sparse_bsc,
    sparse_bsr,
    sparse_coo,
    sparse_csc,
    sparse_csr,
    strided,
)
from glassgrad._memory_format import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from glassgrad._out_arg import takes_out as _takes_out
from glassgrad._tensor_data import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from glassgrad._tensor_str import get_printoptions, set_printoptions
from glassgrad.amp import autocast
from glassgrad.amp.autocast_mode import get_autocast_dtype, is_autocast_enabled, set_autocast_dtype
from glassgrad.autograd.anomaly_mode import (
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
)
from glassgrad.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from glassgrad.compiler import compile
from glassgrad.creation import (
    Generator,
    arange,
    as_tensor,
    default_generator,
    device,
    empty,
    empty_like,
    eye,
    from_numpy,
    frombuffer,
    full,
    full_like,
    get_rng_state,
    hann_window,
    initial_seed,
    linspace,
    logspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from glassgrad.cuda import OutOfMemoryError
from glassgrad.dtypes import (
    bfloat16,
    cdouble,
    cfloat,
    chalf,
    complex32,
    complex64,
    complex128,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
)
from glassgrad.dtypes import (
    bool_ as bool,  # noqa: A004 - PyTorch's name
)
from glassgrad.ops.nn.embedding.embedding import (
    aten_embedding as embedding,  # torch.embedding(weight, indices)
)
from glassgrad.ops.nn.loss.aten import (  # torch.<loss>: int reductions, unreduced by default
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    kl_div,
    margin_ranking_loss,
)
from glassgrad.ops.random.gamma import (  # the samplers behind torch.distributions
    _dirichlet_grad,
    _sample_dirichlet,
    _standard_gamma,
    _standard_gamma_grad,
    binomial,
    poisson,
)
from glassgrad.ops.random.sample import bernoulli, multinomial, normal
from glassgrad.sparse._creation import (
    _convert_indices_from_coo_to_csr,
    _convert_indices_from_csr_to_coo,
    sparse_coo_tensor,
    sparse_csc_tensor,
    sparse_csr_tensor,
)
from glassgrad.tensor import Size, Tensor
from glassgrad.tensor import tensor_method as _tensor_method
from glassgrad.utils.dlpack import from_dlpack

__version__ = "0.1.0"


def _export_ops():
    namespace = globals()
    for info in _ops.OPS.values():
        public = _backend.allocating(info.fn)  # PyTorch's error where an allocation fails
        for name in info.functions:
            namespace.setdefault(name, public)


_export_ops()
from glassgrad.sparse._ops import spmm  # noqa: E402 - mm, with addmm's dtype check

for _fn in _ops.elementwise.complex.FUNCTIONS:  # real, imag, view_as_real, complex, polar, ...
    globals()[_fn.__name__] = _fn
from glassgrad.ops.fft.stft import istft, stft  # noqa: E402 - torch.stft, torch.istft


def is_tensor(obj) -> bool:
    """True if ``obj`` is a glassgrad Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:
    """True if ``input`` has a floating-point dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(
            "is_floating_point(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    return input.is_floating_point()


def numel(input) -> int:
    """The number of elements of ``input``."""
    return input.numel()


def _two_tensors(name, input, other, first=1):
    """PyTorch's TypeError for a non-tensor argument (positions count from ``first``)."""
    from glassgrad._tensor_info import _type_name

    for position, (label, value) in enumerate((("input", input), ("other", other)), first):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{name}(): argument '{label}' (position {position}) must be Tensor, not "
                f"{_type_name(value)}"
            )


def equal(input, other) -> bool:
    """True if both tensors have the same shape and elements (any dtypes)."""
    import numpy as _np

    _two_tensors("equal", input, other)
    # np.array_equal and np.allclose return Python bools; ``bool`` here is glassgrad.bool.
    return input.shape == other.shape and _np.array_equal(input._data, other._data)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True if all elements are close (``|a - b| <= atol + rtol * |b|``, broadcasting)."""
    import numpy as _np

    _two_tensors("allclose", input, other)
    if input.dtype != other.dtype:  # PyTorch's allclose is isclose(...).all()
        raise RuntimeError(f"{input.dtype._legacy[:-6]} did not match {other.dtype._legacy[:-6]}")
    try:
        _np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        from glassgrad._errors import broadcast_error

        raise broadcast_error(input.shape, other.shape) from None
    return _np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan)


def relu_(input):
    """``input.relu_()``: ReLU in place."""
    return input.relu_()


def _equal_method(self, other) -> bool:
    """``torch.equal(self, other)``."""
    _two_tensors("equal", self, other, 0)
    return equal(self, other)


def _allclose_method(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """``torch.allclose(self, other, ...)``."""
    _two_tensors("allclose", self, other, 0)
    return allclose(self, other, rtol, atol, equal_nan)


_tensor_method(_equal_method, "equal")
_tensor_method(_allclose_method, "allclose")


def is_complex(input) -> bool:
    """True if ``input`` has a complex dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(
            "is_complex(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    return input.is_complex()


from glassgrad import (  # noqa: E402, F401
    _C,  # torch._C's switches (forward grad)
    cpu,
    distributed,  # torch.distributed (MPI is loaded only when used)
    distributions,  # noqa: E402, F401 - torch.distributions
    fft,  # torch.fft (on scipy.fft)
    func,  # noqa: E402, F401 - torch.func (grad, vjp, jacrev, vmap, ...)
    linalg,  # noqa: E402, F401 - torch.linalg's norms
    random,  # noqa: E402, F401 - torch.random
    special,  # noqa: E402, F401 - torch.special
    testing,  # noqa: E402, F401 - torch.testing.assert_close
    version,
    xpu,
)
from glassgrad.func import vmap  # noqa: E402, F401 - torch.vmap
from glassgrad.nn import attention as _attention  # noqa: E402, F401 - torch.nn.attention
from glassgrad.ops.linalg.factorize import svd as _svd  # noqa: E402 - not in the op table
from glassgrad.ops.linalg.inverse import cholesky as _cholesky  # noqa: E402 - not in the table

# out= for these two, through the one implementation every op uses
svd = _takes_out("svd", _svd, "expected", grad_name="_linalg_svd")
cholesky = _takes_out("cholesky", _cholesky, "cholesky")
from glassgrad import _foreach as _foreach_ops  # noqa: E402 - torch._foreach_* (optimizers)
from glassgrad.serialization import load, save  # noqa: E402 - checkpoints (PyTorch's format)

globals().update({name: getattr(_foreach_ops, name) for name in _foreach_ops.__all__})

backends._attention_names()
pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
newaxis = None


def _assert(condition, message) -> None:
    """``assert condition, message`` as a function (PyTorch's ``torch._assert``)."""
    assert condition, message


# Autocast's op lists and bfloat16 arithmetic (see amp/_policy), wherever scripts reach the ops.
amp._policy.configure((_sys.modules[__name__], nn.functional))

# Keep freed array memory for reuse instead of faulting it back in every step (see backend).
_backend.tune_allocator()
_backend.silence_float_warnings()
