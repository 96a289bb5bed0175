"""One call for each public name that the op table does not describe (see test_public_names).

Keys: ``"name"`` for ``glassgrad.name``, ``"F.name"``, ``"linalg.name"``, ``"special.name"``,
``"Tensor.name"``. Values: ``lambda L: ...`` with ``L`` glassgrad or torch. A value of None marks a
name that is not called (a constant: its repr is compared instead).
"""

from __future__ import annotations

import io
import math


def x(L):
    return L.tensor([[0.5, -1.0, 2.0], [3.0, -0.25, 1.5]])


def sq(L):
    return L.tensor([[2.0, 0.5, 0.1], [0.5, 3.0, 0.2], [0.1, 0.2, 1.5]])


def img(L, *shape):
    return L.arange(float(math.prod(shape))).reshape(shape) / 10 - 1


def _cz(L):
    return L.tensor([[0.5 - 1j, 2.0], [-3j, 1.5 + 0.25j]])


def _spectrum(L):
    return L.stft(img(L, 2, 16), 8, window=L.ones(8), return_complex=True)


def _save_load(L):
    buffer = io.BytesIO()
    L.save({"w": x(L)}, buffer)
    buffer.seek(0)
    return L.load(buffer)["w"]


def _seeded(L, fn):
    L.manual_seed(0)
    return tuple(fn().shape)


def _leaf(L):
    return L.tensor([1.0, -2.0, 3.0], requires_grad=True)


def _backward(L):
    w = _leaf(L)
    (w * w).sum().backward()
    return w.grad


def _hooked(L, register):
    w = _leaf(L)
    seen = []
    getattr(w, register)(lambda *a: seen.append(1))
    (w * 2).sum().backward()
    return len(seen)


def _setting(L, setter, getter, value):
    before = getattr(L, getter)()
    getattr(L, setter)(value)
    try:
        return getattr(L, getter)()
    finally:
        getattr(L, setter)(before)


def _default_device(L):
    # None, not "cpu", to undo: PyTorch keeps a device mode active for any device set
    L.set_default_device("cpu")
    try:
        return str(L.get_default_device())
    finally:
        L.set_default_device(None)


def _retained(L):
    w = _leaf(L)
    y = w * 2
    y.retain_grad()
    y.sum().backward()
    return y.grad, y.retains_grad


def _context(L, name, *args):
    with getattr(L, name)(*args):
        return L.is_grad_enabled()


def _autocast(L):
    with L.autocast("cpu"):
        return L.is_autocast_enabled("cpu")


def _setting_autocast(L):
    before = L.get_autocast_dtype("cpu")
    L.set_autocast_dtype("cpu", L.float16)
    try:
        return L.get_autocast_dtype("cpu")
    finally:
        L.set_autocast_dtype("cpu", before)


TOP = {
    # torch.utils.dlpack: the top-level name
    "from_dlpack": lambda L: L.from_dlpack(L.arange(3.0).numpy()),
    # torch.<loss>: ATen's forms, whose int reduction defaults to none
    "binary_cross_entropy_with_logits": lambda L: L.binary_cross_entropy_with_logits(
        x(L), L.full((2, 3), 0.5)
    ),
    "cosine_embedding_loss": lambda L: L.cosine_embedding_loss(x(L), x(L).flip(1), L.ones(2)),
    "kl_div": lambda L: L.kl_div(x(L), L.full((2, 3), 0.5), 1),
    "margin_ranking_loss": lambda L: L.margin_ranking_loss(x(L), x(L).flip(1), L.ones(2, 3)),
    "BoolTensor": lambda L: L.BoolTensor([True, False]),
    "ByteTensor": lambda L: L.ByteTensor([1, 2]),
    "CharTensor": lambda L: L.CharTensor([1, -2]),
    "DoubleTensor": lambda L: L.DoubleTensor([1.5, 2]),
    "FloatTensor": lambda L: L.FloatTensor([1.5, 2]),
    "HalfTensor": lambda L: L.HalfTensor([1.5, 2]),
    "IntTensor": lambda L: L.IntTensor([1, 2]),
    "LongTensor": lambda L: L.LongTensor([1, 2]),
    "ShortTensor": lambda L: L.ShortTensor([1, 2]),
    "Generator": lambda L: L.Generator().manual_seed(3).initial_seed(),
    "OutOfMemoryError": lambda L: issubclass(L.OutOfMemoryError, RuntimeError),
    "Size": lambda L: L.Size([2, 3]).numel(),
    "Tensor": lambda L: L.Tensor([1.0, 2.0]),
    "allclose": lambda L: L.allclose(x(L), x(L) + 1e-9),
    "arange": lambda L: L.arange(1, 7, 2),
    "are_deterministic_algorithms_enabled": lambda L: L.are_deterministic_algorithms_enabled(),
    "as_tensor": lambda L: L.as_tensor([1, 2, 3]),
    "bool": None,
    "can_cast": lambda L: (L.can_cast(L.float32, L.int64), L.can_cast(L.int32, L.float32)),
    "channels_last": None,
    "channels_last_3d": None,
    "cholesky": lambda L: L.cholesky(sq(L)),
    "compile": lambda L: L.compile(lambda t: t * 2)(x(L)),
    "contiguous_format": None,
    "default_generator": lambda L: L.default_generator.manual_seed(1).initial_seed(),
    "device": lambda L: str(L.device("cpu")),
    "double": None,
    "dtype": lambda L: isinstance(L.float32, L.dtype),
    "embedding": lambda L: L.embedding(x(L), L.tensor([1, 0])),
    "empty": lambda L: tuple(L.empty(2, 3).shape),
    "empty_like": lambda L: tuple(L.empty_like(x(L)).shape),
    "enable_grad": lambda L: _context(L, "enable_grad"),
    "equal": lambda L: L.equal(x(L), x(L)),
    "eye": lambda L: L.eye(2, 3),
    "finfo": lambda L: (L.finfo(L.float32).eps, L.finfo(L.float64).max),
    "float": None,
    "float16": None,
    "float32": None,
    "float64": None,
    "from_numpy": lambda L: L.from_numpy(x(L).numpy()),
    "full": lambda L: L.full((2, 2), 1.5),
    "full_like": lambda L: L.full_like(x(L), 2),
    "get_default_device": lambda L: str(L.get_default_device()),
    "get_default_dtype": lambda L: L.get_default_dtype(),
    "get_deterministic_debug_mode": lambda L: L.get_deterministic_debug_mode(),
    "get_float32_matmul_precision": lambda L: L.get_float32_matmul_precision(),
    "get_num_interop_threads": lambda L: L.get_num_interop_threads() >= 1,
    "get_num_threads": lambda L: L.get_num_threads() >= 1,
    "get_printoptions": lambda L: L.get_printoptions()["precision"],
    # (the state's first 8 bytes hold the seed, in both)
    "get_rng_state": lambda L: (L.manual_seed(5), L.get_rng_state()[:8].view(L.int64))[1],
    "half": None,
    "iinfo": lambda L: (L.iinfo(L.int32).max, L.iinfo(L.int8).min),
    "inference_mode": lambda L: _context(L, "inference_mode"),
    "initial_seed": lambda L: L.manual_seed(5).initial_seed(),
    "int": None,
    "int16": None,
    "int32": None,
    "int64": None,
    "int8": None,
    "is_anomaly_check_nan_enabled": lambda L: L.is_anomaly_check_nan_enabled(),
    "is_anomaly_enabled": lambda L: L.is_anomaly_enabled(),
    "is_complex": lambda L: L.is_complex(x(L)),
    "is_deterministic_algorithms_warn_only_enabled": (
        lambda L: L.is_deterministic_algorithms_warn_only_enabled()
    ),
    "is_floating_point": lambda L: L.is_floating_point(x(L)),
    "is_grad_enabled": lambda L: L.is_grad_enabled(),
    "is_inference_mode_enabled": lambda L: L.is_inference_mode_enabled(),
    "is_tensor": lambda L: (L.is_tensor(x(L)), L.is_tensor(1.0)),
    "linspace": lambda L: L.linspace(0, 1, 5),
    "load": _save_load,
    "long": None,
    "manual_seed": lambda L: L.manual_seed(7).initial_seed(),
    "memory_format": lambda L: isinstance(L.channels_last, L.memory_format),
    "no_grad": lambda L: _context(L, "no_grad"),
    "numel": lambda L: L.numel(x(L)),
    "ones": lambda L: L.ones(2, 3, dtype=L.int64),
    "ones_like": lambda L: L.ones_like(x(L)),
    "preserve_format": None,
    "promote_types": lambda L: L.promote_types(L.int32, L.float32),
    "rand": lambda L: _seeded(L, lambda: L.rand(2, 3)),
    "rand_like": lambda L: _seeded(L, lambda: L.rand_like(x(L))),
    "randint": lambda L: _seeded(L, lambda: L.randint(0, 5, (4,))),
    "randint_like": lambda L: _seeded(L, lambda: L.randint_like(x(L), 3)),
    "randn": lambda L: _seeded(L, lambda: L.randn(3, 2)),
    "randn_like": lambda L: _seeded(L, lambda: L.randn_like(x(L))),
    "randperm": lambda L: L.randperm(6).sort().values,
    "result_type": lambda L: L.result_type(L.tensor([1, 2]), 1.5),
    "save": _save_load,
    "seed": lambda L: isinstance(L.seed(), int),
    "set_anomaly_enabled": lambda L: _setting(L, "set_anomaly_enabled", "is_anomaly_enabled", True),
    "set_default_device": lambda L: _default_device(L),
    "set_default_dtype": (
        lambda L: _setting(L, "set_default_dtype", "get_default_dtype", L.float64)
    ),
    "set_deterministic_debug_mode": lambda L: _setting(
        L, "set_deterministic_debug_mode", "get_deterministic_debug_mode", 1
    ),
    "set_float32_matmul_precision": lambda L: _setting(
        L, "set_float32_matmul_precision", "get_float32_matmul_precision", "high"
    ),
    "set_grad_enabled": lambda L: _context(L, "set_grad_enabled", False),
    "set_num_interop_threads": lambda L: L.get_num_interop_threads() >= 1,  # settable once only
    "set_num_threads": lambda L: _setting(L, "set_num_threads", "get_num_threads", 1),
    "set_printoptions": lambda L: (
        L.set_printoptions(precision=2),
        str(x(L)),
        L.set_printoptions(profile="default"),
    )[1],
    "set_rng_state": lambda L: L.set_rng_state(L.get_rng_state()),
    "short": None,
    "svd": lambda L: L.svd(sq(L)).S,
    "tensor": lambda L: L.tensor([[1, 2], [3, 4]], dtype=L.float64),
    "uint8": None,
    "use_deterministic_algorithms": lambda L: (
        L.use_deterministic_algorithms(False),
        L.are_deterministic_algorithms_enabled(),
    )[1],
    "autocast": lambda L: _autocast(L),
    "bfloat16": None,
    "e": None,
    "get_autocast_dtype": lambda L: L.get_autocast_dtype("cpu"),
    "inf": None,
    "is_autocast_enabled": lambda L: L.is_autocast_enabled(),
    "nan": None,
    "newaxis": None,
    "pi": None,
    "set_autocast_dtype": lambda L: _setting_autocast(L),
    "bernoulli": lambda L: _seeded(L, lambda: L.bernoulli(L.full((2, 3), 0.5))),
    "multinomial": lambda L: _seeded(L, lambda: L.multinomial(L.tensor([0.2, 0.8]), 3, True)),
    "normal": lambda L: _seeded(L, lambda: L.normal(x(L), 1.0)),
    "vmap": lambda L: L.vmap(lambda row: row @ row)(x(L)),
    "zeros": lambda L: L.zeros(2, 1),
    "zeros_like": lambda L: L.zeros_like(x(L)),
    # torch.distributions' samplers
    "poisson": lambda L: _seeded(L, lambda: L.poisson(L.full((2, 3), 2.0))),
    "binomial": lambda L: _seeded(L, lambda: L.binomial(L.full((2, 3), 5.0), L.full((3,), 0.5))),
    # complex numbers
    "cdouble": None,
    "cfloat": None,
    "chalf": None,
    "complex128": None,
    "complex32": None,
    "complex64": None,
    "angle": lambda L: L.angle(_cz(L)),
    "complex": lambda L: L.complex(x(L), -x(L)),
    "conj": lambda L: L.conj(_cz(L)) * 1,
    "conj_physical": lambda L: L.conj_physical(_cz(L)),
    "imag": lambda L: L.imag(_cz(L)),
    "is_conj": lambda L: (L.is_conj(_cz(L).conj()), L.is_conj(_cz(L))),
    "polar": lambda L: L.polar(x(L).abs(), x(L)),
    "real": lambda L: L.real(_cz(L)),
    "resolve_conj": lambda L: L.resolve_conj(_cz(L).conj()),
    "view_as_complex": lambda L: L.view_as_complex(img(L, 3, 2)),
    "view_as_real": lambda L: L.view_as_real(_cz(L)),
    # torch.stft / torch.istft
    "stft": lambda L: L.stft(img(L, 2, 16), 8, window=L.ones(8), return_complex=True),
    "istft": lambda L: L.istft(_spectrum(L), 8, window=L.ones(8)),
    # ops real code uses (index writes, splits, statistics, histograms...)
    "logspace": lambda L: (L.logspace(0, 2, 5), L.logspace(-1, 1, 3, base=2, dtype=L.float64)),
    "hann_window": lambda L: (L.hann_window(6), L.hann_window(5, periodic=False)),
    "relu_": lambda L: L.relu_(x(L) * 1),
    "frombuffer": lambda L: L.frombuffer(bytearray(b"\x01\x00\x02\x00"), dtype=L.int16),
}


def F(L):
    return L.nn.functional


def _mha(L):
    q = img(L, 2, 1, 4)
    w = img(L, 12, 4) / 4
    out, weights = F(L).multi_head_attention_forward(
        q, q, q, 4, 2, w, L.zeros(12), None, None, False, 0.0, img(L, 4, 4) / 5, L.zeros(4)
    )
    return out, weights


FUNCTIONAL = {
    "adaptive_avg_pool1d": lambda L: F(L).adaptive_avg_pool1d(img(L, 1, 2, 5), 3),
    "adaptive_avg_pool2d": lambda L: F(L).adaptive_avg_pool2d(img(L, 1, 2, 5, 4), 2),
    "adaptive_max_pool1d": lambda L: F(L).adaptive_max_pool1d(img(L, 1, 2, 5), 3),
    "adaptive_max_pool2d": lambda L: F(L).adaptive_max_pool2d(img(L, 1, 2, 5, 4), 2),
    "avg_pool1d": lambda L: F(L).avg_pool1d(img(L, 1, 2, 6), 2),
    "avg_pool2d": lambda L: F(L).avg_pool2d(img(L, 1, 2, 4, 4), 2),
    "batch_norm": lambda L: F(L).batch_norm(img(L, 4, 3), None, None, training=True),
    "bilinear": lambda L: F(L).bilinear(img(L, 2, 3), img(L, 2, 2), img(L, 4, 3, 2)),
    "binary_cross_entropy": lambda L: F(L).binary_cross_entropy(
        L.tensor([0.2, 0.9]), L.tensor([0.0, 1.0])
    ),
    "binary_cross_entropy_with_logits": lambda L: F(L).binary_cross_entropy_with_logits(
        x(L), L.ones(2, 3)
    ),
    "celu": lambda L: F(L).celu(x(L), 2.0),
    "celu_": lambda L: F(L).celu_(x(L), 2.0),
    "channel_shuffle": lambda L: F(L).channel_shuffle(img(L, 1, 4, 2, 2), 2),
    "conv1d": lambda L: F(L).conv1d(img(L, 1, 2, 6), img(L, 3, 2, 3)),
    "conv2d": lambda L: F(L).conv2d(img(L, 1, 2, 4, 4), img(L, 3, 2, 2, 2), padding=1),
    "conv3d": lambda L: F(L).conv3d(img(L, 1, 1, 3, 3, 3), img(L, 2, 1, 2, 2, 2)),
    "conv_transpose1d": lambda L: F(L).conv_transpose1d(img(L, 1, 2, 4), img(L, 2, 3, 3)),
    "conv_transpose2d": lambda L: F(L).conv_transpose2d(img(L, 1, 2, 3, 3), img(L, 2, 1, 2, 2)),
    "conv_transpose3d": lambda L: F(L).conv_transpose3d(
        img(L, 1, 1, 2, 2, 2), img(L, 1, 2, 2, 2, 2)
    ),
    "cosine_embedding_loss": lambda L: F(L).cosine_embedding_loss(
        x(L), x(L).flip(0), L.tensor([1, -1])
    ),
    "cosine_similarity": lambda L: F(L).cosine_similarity(x(L), x(L).flip(1)),
    "cross_entropy": lambda L: F(L).cross_entropy(x(L), L.tensor([2, 0])),
    "dropout": lambda L: F(L).dropout(x(L), 0.5, training=False),
    "dropout1d": lambda L: F(L).dropout1d(img(L, 2, 3, 4), 0.0),
    "dropout2d": lambda L: F(L).dropout2d(img(L, 2, 3, 2, 2), 0.0),
    "dropout3d": lambda L: F(L).dropout3d(img(L, 2, 3, 2, 2, 2), 0.0),
    "alpha_dropout": lambda L: F(L).alpha_dropout(x(L), 0.5, training=False),
    "feature_alpha_dropout": lambda L: F(L).feature_alpha_dropout(img(L, 2, 3, 2), 0.0),
    "elu": lambda L: F(L).elu(x(L)),
    "elu_": lambda L: F(L).elu_(x(L)),
    "embedding": lambda L: F(L).embedding(L.tensor([[0, 2]]), img(L, 3, 4)),
    "embedding_bag": lambda L: F(L).embedding_bag(
        L.tensor([0, 2, 1]), img(L, 3, 4), L.tensor([0, 1])
    ),
    "gaussian_nll_loss": lambda L: F(L).gaussian_nll_loss(x(L), x(L) * 0, L.ones(2, 3)),
    "gelu": lambda L: F(L).gelu(x(L)),
    "glu": lambda L: F(L).glu(img(L, 2, 4)),
    "group_norm": lambda L: F(L).group_norm(img(L, 2, 4, 3), 2),
    "hardsigmoid": lambda L: F(L).hardsigmoid(x(L)),
    "hardswish": lambda L: F(L).hardswish(x(L)),
    "hardtanh": lambda L: F(L).hardtanh(x(L)),
    "hardtanh_": lambda L: F(L).hardtanh_(x(L), -0.5, 0.5),
    "hinge_embedding_loss": lambda L: F(L).hinge_embedding_loss(x(L), L.ones(2, 3)),
    "huber_loss": lambda L: F(L).huber_loss(x(L), L.zeros(2, 3)),
    "instance_norm": lambda L: F(L).instance_norm(img(L, 2, 3, 4)),
    "interpolate": lambda L: F(L).interpolate(img(L, 1, 1, 3), scale_factor=2.0),
    "kl_div": lambda L: F(L).kl_div(x(L), L.full((2, 3), 0.5), reduction="batchmean"),
    "l1_loss": lambda L: F(L).l1_loss(x(L), L.zeros(2, 3)),
    "layer_norm": lambda L: F(L).layer_norm(x(L), (3,)),
    "leaky_relu": lambda L: F(L).leaky_relu(x(L), 0.1),
    "leaky_relu_": lambda L: F(L).leaky_relu_(x(L), 0.1),
    "linear": lambda L: F(L).linear(x(L), img(L, 4, 3), L.ones(4)),
    "local_response_norm": lambda L: F(L).local_response_norm(img(L, 1, 4, 3), 2),
    "log_softmax": lambda L: F(L).log_softmax(x(L), dim=1),
    "logsigmoid": lambda L: F(L).logsigmoid(x(L)),
    "lp_pool1d": lambda L: F(L).lp_pool1d(img(L, 1, 2, 6).abs(), 2.0, 2),
    "lp_pool2d": lambda L: F(L).lp_pool2d(img(L, 1, 2, 4, 4).abs(), 2.0, 2),
    "margin_ranking_loss": lambda L: F(L).margin_ranking_loss(x(L), x(L).flip(1), L.ones(2, 3)),
    "max_pool1d": lambda L: F(L).max_pool1d(img(L, 1, 2, 6), 2),
    "max_pool2d": lambda L: F(L).max_pool2d(img(L, 1, 2, 4, 4), 2),
    "mish": lambda L: F(L).mish(x(L)),
    "mse_loss": lambda L: F(L).mse_loss(x(L), L.zeros(2, 3)),
    "multi_head_attention_forward": _mha,
    "multi_margin_loss": lambda L: F(L).multi_margin_loss(x(L), L.tensor([2, 0])),
    "nll_loss": lambda L: F(L).nll_loss(x(L), L.tensor([2, 0])),
    "normalize": lambda L: F(L).normalize(x(L)),
    "one_hot": lambda L: F(L).one_hot(L.tensor([2, 0]), 4),
    "pad": lambda L: F(L).pad(x(L), (1, 2), value=0.5),
    "pairwise_distance": lambda L: F(L).pairwise_distance(x(L), x(L).flip(1)),
    "pixel_shuffle": lambda L: F(L).pixel_shuffle(img(L, 1, 4, 2, 2), 2),
    "pixel_unshuffle": lambda L: F(L).pixel_unshuffle(img(L, 1, 1, 4, 4), 2),
    "poisson_nll_loss": lambda L: F(L).poisson_nll_loss(x(L), L.ones(2, 3)),
    "prelu": lambda L: F(L).prelu(x(L), L.tensor([0.25])),
    "relu": lambda L: F(L).relu(x(L)),
    "relu6": lambda L: F(L).relu6(x(L) * 4),
    "relu_": lambda L: F(L).relu_(x(L)),
    "rms_norm": lambda L: F(L).rms_norm(x(L), (3,)),
    "rrelu": lambda L: F(L).rrelu(x(L)),
    "rrelu_": lambda L: F(L).rrelu_(x(L)),
    "scaled_dot_product_attention": lambda L: F(L).scaled_dot_product_attention(
        img(L, 1, 2, 3), img(L, 1, 2, 3), img(L, 1, 2, 3)
    ),
    "selu": lambda L: F(L).selu(x(L)),
    "selu_": lambda L: F(L).selu_(x(L)),
    "sigmoid": lambda L: F(L).sigmoid(x(L)),
    "silu": lambda L: F(L).silu(x(L)),
    "smooth_l1_loss": lambda L: F(L).smooth_l1_loss(x(L), L.zeros(2, 3)),
    "soft_margin_loss": lambda L: F(L).soft_margin_loss(x(L), L.ones(2, 3)),
    "softmax": lambda L: F(L).softmax(x(L), dim=0),
    "softmin": lambda L: F(L).softmin(x(L), dim=1),
    "softplus": lambda L: F(L).softplus(x(L)),
    "softsign": lambda L: F(L).softsign(x(L)),
    "tanh": lambda L: F(L).tanh(x(L)),
    "tanhshrink": lambda L: F(L).tanhshrink(x(L)),
    "threshold": lambda L: F(L).threshold(x(L), 0.5, -2.0),
    "threshold_": lambda L: F(L).threshold_(x(L), 0.5, -2.0),
    "triplet_margin_loss": lambda L: F(L).triplet_margin_loss(x(L), x(L).flip(0), x(L) * 2),
    # nn layers (fold, 3-d pools, unpooling, grid sampling, shrink)
    "fold": lambda L: F(L).fold(img(L, 1, 4, 4), 3, 2),
    "unfold": lambda L: F(L).unfold(img(L, 1, 2, 4, 4), 2, stride=2),
    "hardshrink": lambda L: F(L).hardshrink(x(L), 0.75),
    "affine_grid": lambda L: F(L).affine_grid(img(L, 1, 2, 3), (1, 1, 2, 3), align_corners=False),
    "grid_sample": lambda L: F(L).grid_sample(
        img(L, 1, 2, 3, 4), img(L, 1, 2, 2, 2) / 2, align_corners=True
    ),
    "softshrink": lambda L: F(L).softshrink(x(L), 0.75),
    "gumbel_softmax": lambda L: F(L).gumbel_softmax(x(L), hard=True).sum(-1),
    "lp_pool3d": lambda L: F(L).lp_pool3d(img(L, 1, 2, 4, 4, 4).abs(), 2, 2),
    "max_pool3d": lambda L: F(L).max_pool3d(img(L, 1, 2, 4, 4, 4), 2, return_indices=True),
    "avg_pool3d": lambda L: F(L).avg_pool3d(img(L, 1, 2, 4, 4, 4), 2),
    "adaptive_avg_pool3d": lambda L: F(L).adaptive_avg_pool3d(img(L, 1, 2, 4, 4, 4), 3),
    "adaptive_max_pool3d": lambda L: F(L).adaptive_max_pool3d(img(L, 1, 2, 4, 4, 4), 3),
    "max_unpool1d": lambda L: F(L).max_unpool1d(
        *F(L).max_pool1d(img(L, 1, 2, 6), 2, return_indices=True), 2
    ),
    "max_unpool2d": lambda L: F(L).max_unpool2d(
        *F(L).max_pool2d(img(L, 1, 2, 4, 4), 2, return_indices=True), 2
    ),
    "max_unpool3d": lambda L: F(L).max_unpool3d(
        *F(L).max_pool3d(img(L, 1, 2, 4, 4, 4), 2, return_indices=True), 2
    ),
}
LINALG = {
    "LinAlgError": lambda L: issubclass(L.linalg.LinAlgError, RuntimeError),
    "cholesky": lambda L: L.linalg.cholesky(sq(L)),
    "cross": lambda L: L.linalg.cross(x(L), x(L).flip(1)),
    "det": lambda L: L.linalg.det(sq(L)),
    "eigh": lambda L: L.linalg.eigh(sq(L)).eigenvalues,
    "inv": lambda L: L.linalg.inv(sq(L)),
    "matrix_norm": lambda L: L.linalg.matrix_norm(sq(L)),
    "norm": lambda L: L.linalg.norm(x(L)),
    "pinv": lambda L: L.linalg.pinv(x(L)),
    "qr": lambda L: L.linalg.qr(sq(L)).R.abs(),
    "slogdet": lambda L: L.linalg.slogdet(sq(L)),
    "solve": lambda L: L.linalg.solve(sq(L), x(L).T),
    "svd": lambda L: L.linalg.svd(sq(L)).S,
    "svdvals": lambda L: L.linalg.svdvals(x(L)),
    "vector_norm": lambda L: L.linalg.vector_norm(x(L), 3),
}
SPECIAL = {
    "airy_ai": lambda L: L.special.airy_ai(x(L)),
    "multigammaln": lambda L: L.special.multigammaln(x(L).abs() + 2, 2),
    "polygamma": lambda L: L.special.polygamma(1, x(L).abs() + 0.5),
    "psi": lambda L: L.special.psi(x(L).abs() + 0.5),
    "log_softmax": lambda L: L.special.log_softmax(x(L), 1),
    "softmax": lambda L: L.special.softmax(x(L), 0),
    "logsumexp": lambda L: L.special.logsumexp(x(L), 1),
    "zeta": lambda L: L.special.zeta(x(L).abs() + 1.5, L.tensor(2.0)),
    "expit": lambda L: L.special.expit(x(L)),
    "gammaln": lambda L: L.special.gammaln(x(L).abs() + 0.5),
}


def _filled(L, method, *args):
    t = L.zeros(3, 4)
    L.manual_seed(0)
    getattr(t, method)(*args)
    return tuple(t.shape), t.dtype


TENSOR = {
    "H": lambda L: x(L).H,
    "T": lambda L: x(L).T,
    "backward": _backward,
    "bernoulli_": lambda L: _filled(L, "bernoulli_", 0.5),
    "bfloat16": lambda L: x(L).bfloat16().dtype,
    "bernoulli": lambda L: _seeded(L, lambda: L.full((2, 3), 0.5).bernoulli()),
    "bool": lambda L: x(L).bool(),
    "cauchy_": lambda L: _filled(L, "cauchy_"),
    "log_normal_": lambda L: _filled(L, "log_normal_"),
    "multinomial": lambda L: _seeded(L, lambda: L.tensor([0.2, 0.8]).multinomial(3, True)),
    "is_nested": lambda L: x(L).is_nested,
    "byte": lambda L: x(L).abs().byte(),
    "char": lambda L: x(L).char(),
    "cholesky": lambda L: sq(L).cholesky(),
    "copy_": lambda L: L.zeros(2, 3).copy_(x(L)),
    "cpu": lambda L: x(L).cpu(),
    "cuda": lambda L: x(L).cuda(),
    "data": lambda L: _leaf(L).data,
    "data_ptr": lambda L: isinstance(x(L).data_ptr(), int),
    "detach": lambda L: _leaf(L).detach().requires_grad,
    "detach_": lambda L: (_leaf(L) * 2).detach_().requires_grad,
    "device": lambda L: str(x(L).device),
    "dim": lambda L: x(L).dim(),
    "double": lambda L: x(L).double(),
    "dtype": lambda L: x(L).dtype,
    "element_size": lambda L: x(L).element_size(),
    "exponential_": lambda L: _filled(L, "exponential_"),
    "fill_": lambda L: x(L).fill_(2.5),
    "float": lambda L: L.tensor([1, 2]).float(),
    "geometric_": lambda L: _filled(L, "geometric_", 0.5),
    "get_device": lambda L: x(L).get_device(),
    "grad": lambda L: _backward(L),
    "grad_fn": lambda L: type((_leaf(L) * 2).grad_fn).__name__,
    "half": lambda L: x(L).half(),
    "int": lambda L: x(L).int(),
    "ipu": lambda L: x(L).ipu(),
    "is_complex": lambda L: x(L).is_complex(),
    "is_contiguous": lambda L: (x(L).is_contiguous(), x(L).T.is_contiguous()),
    "is_cpu": lambda L: x(L).is_cpu,
    "is_cuda": lambda L: x(L).is_cuda,
    "is_floating_point": lambda L: x(L).is_floating_point(),
    "is_inference": lambda L: x(L).is_inference(),
    "is_ipu": lambda L: x(L).is_ipu,
    "is_leaf": lambda L: (_leaf(L).is_leaf, (_leaf(L) * 2).is_leaf),
    "is_maia": lambda L: x(L).is_maia,
    "is_meta": lambda L: x(L).is_meta,
    "is_mkldnn": lambda L: x(L).is_mkldnn,
    "is_mps": lambda L: x(L).is_mps,
    "is_mtia": lambda L: x(L).is_mtia,
    "is_pinned": lambda L: x(L).is_pinned(),
    "is_quantized": lambda L: x(L).is_quantized,
    "is_sparse": lambda L: x(L).is_sparse,
    "is_sparse_csr": lambda L: x(L).is_sparse_csr,
    "is_vulkan": lambda L: x(L).is_vulkan,
    "is_xla": lambda L: x(L).is_xla,
    "is_xpu": lambda L: x(L).is_xpu,
    "item": lambda L: x(L)[1, 0].item(),
    "itemsize": lambda L: x(L).itemsize,
    "layout": lambda L: str(x(L).layout),
    "long": lambda L: x(L).long(),
    "mH": lambda L: x(L).mH,
    "mT": lambda L: x(L).mT,
    "nbytes": lambda L: x(L).nbytes,
    "ndim": lambda L: x(L).ndim,
    "ndimension": lambda L: x(L).ndimension(),
    "nelement": lambda L: x(L).nelement(),
    "new_empty": lambda L: tuple(x(L).new_empty(2, 2).shape),
    "new_full": lambda L: x(L).new_full((2,), 3.0),
    "new_ones": lambda L: x(L).new_ones(2, 1),
    "new_tensor": lambda L: x(L).new_tensor([1, 2]),
    "new_zeros": lambda L: x(L).new_zeros((1, 2)),
    "normal_": lambda L: _filled(L, "normal_"),
    "numel": lambda L: x(L).numel(),
    "numpy": lambda L: x(L).numpy().tolist(),
    "output_nr": lambda L: (_leaf(L) * 2).output_nr,
    "pin_memory": lambda L: x(L).pin_memory(),
    "polygamma": lambda L: (x(L).abs() + 0.5).polygamma(1),
    "random_": lambda L: _filled(L, "random_", 0, 5),
    "register_hook": lambda L: _hooked(L, "register_hook"),
    "register_post_accumulate_grad_hook": (
        lambda L: _hooked(L, "register_post_accumulate_grad_hook")
    ),
    "requires_grad": lambda L: (_leaf(L).requires_grad, x(L).requires_grad),
    "requires_grad_": lambda L: x(L).requires_grad_().requires_grad,
    "resize_": lambda L: tuple(x(L).resize_(3, 2).shape),
    "retain_grad": _retained,
    "retains_grad": lambda L: _retained(L)[1],
    "shape": lambda L: tuple(x(L).shape),
    "short": lambda L: x(L).short(),
    "size": lambda L: (tuple(x(L).size()), x(L).size(1)),
    "storage_offset": lambda L: x(L)[1].storage_offset(),
    "stride": lambda L: (x(L).stride(), x(L).T.stride()),
    "svd": lambda L: sq(L).svd().S,
    "to": lambda L: x(L).to(L.float64),
    "tolist": lambda L: x(L).tolist(),
    "type": lambda L: x(L).type(),
    "type_as": lambda L: x(L).type_as(L.tensor([1, 2])),
    "unfold": lambda L: img(L, 2, 5).unfold(1, 2, 2),
    "uniform_": lambda L: _filled(L, "uniform_"),
    "untyped_storage": lambda L: x(L).untyped_storage() is not None,
    "where": lambda L: x(L).where(x(L) > 0, -x(L)),
    "xpu": lambda L: x(L).xpu(),
    # torch.multiprocessing: shared memory
    "share_memory_": lambda L: (x(L).share_memory_().is_shared(), x(L).share_memory_().tolist()),
    "is_shared": lambda L: x(L).is_shared(),
    # ops real code uses (index writes, splits, statistics, histograms...)
    "fill_diagonal_": lambda L: (x(L) * 1).fill_diagonal_(7.0),
    "apply_": lambda L: x(L).apply_(lambda v: v * 2 + 1),
    "new": lambda L: (x(L).new([1, 2]), tuple(x(L).new(2, 3).shape), x(L).new().shape),
    "equal": lambda L: (x(L).equal(x(L)), x(L).equal(x(L) + 1)),
    "allclose": lambda L: (x(L).allclose(x(L) + 1e-9), x(L).allclose(x(L) + 1)),
    # complex numbers
    "angle": lambda L: _cz(L).angle(),
    "cdouble": lambda L: x(L).cdouble(),
    "cfloat": lambda L: x(L).cfloat(),
    "chalf": lambda L: x(L).chalf(),
    "conj": lambda L: _cz(L).conj() + 0,
    "conj_physical": lambda L: _cz(L).conj_physical(),
    "imag": lambda L: _cz(L).imag,
    "is_conj": lambda L: _cz(L).conj().is_conj(),
    "real": lambda L: _cz(L).real,
    "resolve_conj": lambda L: _cz(L).conj().resolve_conj().is_conj(),
    "stft": lambda L: img(L, 16).stft(8, window=L.ones(8), return_complex=True),
    "istft": lambda L: _spectrum(L).istft(8, window=L.ones(8)),
}


# -- sparse tensors ------------------------------------------------------------------------------
def _coo(L):
    indices = L.tensor([[0, 1, 1], [2, 0, 2]])
    return L.sparse_coo_tensor(indices, L.tensor([3.0, 4.0, 5.0]), (2, 3))


def _csr(L):
    return L.sparse_csr_tensor(L.tensor([0, 1, 3]), L.tensor([2, 0, 2]), L.tensor([3.0, 4.0, 5.0]))


def _csc(L):
    return L.sparse_csc_tensor(L.tensor([0, 1, 1, 3]), L.tensor([1, 0, 1]), L.tensor([4.0, 3, 5]))


def _resized(L):
    return tuple(_coo(L).sparse_resize_((3, 4), 2, 0).shape)


SPARSE_TOP = {
    "layout": None,
    "strided": None,
    "sparse_coo": None,
    "sparse_csr": None,
    "sparse_csc": None,
    "sparse_bsr": None,
    "sparse_bsc": None,
    "sparse_coo_tensor": lambda L: _coo(L).to_dense(),
    "sparse_csr_tensor": lambda L: _csr(L).to_dense(),
    "sparse_csc_tensor": lambda L: _csc(L).to_dense(),
    "spmm": lambda L: L.spmm(_coo(L), sq(L)),
}
SPARSE_TENSOR = {
    "to_dense": lambda L: _coo(L).to_dense(),
    "to_sparse": lambda L: x(L).to_sparse().to_dense(),
    "to_sparse_coo": lambda L: x(L).to_sparse_coo().indices(),
    "to_sparse_csr": lambda L: x(L).to_sparse_csr().crow_indices(),
    "to_sparse_csc": lambda L: x(L).to_sparse_csc().ccol_indices(),
    "coalesce": lambda L: _coo(L).coalesce().indices(),
    "is_coalesced": lambda L: (_coo(L).is_coalesced(), _coo(L).coalesce().is_coalesced()),
    "indices": lambda L: _coo(L).coalesce().indices(),
    "values": lambda L: _coo(L).coalesce().values(),
    "sparse_dim": lambda L: (_coo(L).sparse_dim(), x(L).sparse_dim()),
    "dense_dim": lambda L: (_coo(L).dense_dim(), x(L).dense_dim()),
    "crow_indices": lambda L: _csr(L).crow_indices(),
    "col_indices": lambda L: _csr(L).col_indices(),
    "ccol_indices": lambda L: _csc(L).ccol_indices(),
    "row_indices": lambda L: _csc(L).row_indices(),
    "sparse_mask": lambda L: L.ones(2, 3).sparse_mask(_coo(L)).to_dense(),
    "sparse_resize_": _resized,
}
TOP.update(SPARSE_TOP)
TENSOR.update(SPARSE_TENSOR)
