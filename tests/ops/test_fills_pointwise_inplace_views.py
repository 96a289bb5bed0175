"""Random in-place fills, addcmul/addcdiv, logit and friends, in-place view ops: against PyTorch."""

import numpy as np
import pytest
import torch

import glassgrad as gg


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc), str(exc).split("\n")[0]
    return None


def _same_error(call):
    expected, got = _error(lambda: call(torch)), _error(lambda: call(gg))
    assert expected is not None
    assert got == expected


# -- random fills ---------------------------------------------------------------------------
FILLS = [
    ("uniform_", (2.0, 5.0), 3.5, (3.0 / 12) ** 0.5 * 3**0.5 / 1.5 * 1.5 / 1.0),
    ("normal_", (1.0, 2.0), 1.0, 2.0),
    ("bernoulli_", (0.3,), 0.3, (0.3 * 0.7) ** 0.5),
    ("exponential_", (2.0,), 0.5, 0.5),
    ("geometric_", (0.25,), 4.0, (0.75 / 0.25**2) ** 0.5),
    ("random_", (3, 9), 5.5, ((6**2 - 1) / 12) ** 0.5),
    ("random_", (4,), 1.5, ((4**2 - 1) / 12) ** 0.5),
]


@pytest.mark.parametrize("name, args, mean, std", FILLS)
def test_fill_distribution(name, args, mean, std):
    if name == "uniform_":
        std = 3.0 / 12**0.5
    t = gg.zeros(200_000, dtype=gg.float64)
    assert getattr(t, name)(*args) is t
    data = t.numpy()
    assert abs(data.mean() - mean) < 0.02 * max(std, 1)
    assert abs(data.std() - std) < 0.02 * max(std, 1)


def test_fill_support():
    assert (gg.zeros(10_000).uniform_(2, 5).numpy() >= 2).all()
    assert (gg.zeros(10_000).uniform_(2, 5).numpy() < 5).all()
    assert set(np.unique(gg.zeros(10_000).bernoulli_().numpy())) == {0.0, 1.0}
    assert set(np.unique(gg.zeros(10_000, dtype=gg.int64).random_(3, 9).numpy())) == set(
        range(3, 9)
    )
    assert gg.zeros(10_000).geometric_(0.5).numpy().min() == 1
    assert gg.zeros(10_000).exponential_().numpy().min() > 0
    top = gg.zeros(100_000).random_().numpy()
    assert top.min() >= 0 and top.max() <= 2**24 and top.max() > 2**23
    assert gg.zeros(1000, dtype=gg.uint8).random_().numpy().max() > 200
    assert gg.zeros(1000, dtype=gg.bool).random_().numpy().any()
    probs = gg.tensor([0.0, 1.0, 0.0, 1.0])
    assert gg.zeros(4).bernoulli_(probs).tolist() == [0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "uint8", "bool"])
@pytest.mark.parametrize(
    "name, args",
    [
        ("uniform_", ()),
        ("normal_", ()),
        ("bernoulli_", ()),
        ("random_", ()),
        ("random_", (2,)),
        ("exponential_", ()),
        ("geometric_", (0.5,)),
    ],
)
def test_fill_dtype_and_errors(name, args, dtype):
    def call(lib):
        t = lib.zeros(2, 3, dtype=getattr(lib, dtype))
        out = getattr(t, name)(*args)
        return out is t, t.dtype, tuple(t.shape), t._version

    expected = _error(lambda: call(torch))
    if expected is not None:
        assert _error(lambda: call(gg)) == expected
        return
    got = call(gg)
    assert got[0] and str(got[1]) == str(call(torch)[1])
    assert got[2:] == ((2, 3), 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.zeros(3).uniform_(2, 1),
        lambda lib: lib.zeros(3).uniform_(-1e300, 1),
        lambda lib: lib.zeros(3).uniform_(0, float("inf")),
        lambda lib: lib.zeros(3).normal_(0, -1),
        lambda lib: lib.zeros(3).normal_(0, float("nan")),
        lambda lib: lib.zeros(3).bernoulli_(1.5),
        lambda lib: lib.zeros(3).bernoulli_(float("nan")),
        lambda lib: lib.zeros(3).bernoulli_(lib.tensor([0.1, 1.5, 0.3])),
        lambda lib: lib.zeros(3).bernoulli_(lib.tensor([0.1, 0.5])),
        lambda lib: lib.zeros(3).bernoulli_(lib.tensor([1, 0, 1])),
        lambda lib: lib.zeros(3).exponential_(0),
        lambda lib: lib.zeros(3).exponential_(-1),
        lambda lib: lib.zeros(3).geometric_(1),
        lambda lib: lib.zeros(3).geometric_(0),
        lambda lib: lib.zeros(3).random_(10, 2),
        lambda lib: lib.zeros(3).random_(0.5, 3),
        lambda lib: lib.zeros(3).random_(2.5),
        lambda lib: lib.zeros(3, dtype=lib.int8).random_(0, 300),
        lambda lib: lib.zeros(3, dtype=lib.uint8).random_(-1, 4),
        lambda lib: lib.zeros(3, dtype=lib.bool).random_(0, 3),
        lambda lib: lib.zeros(3).normal_(generator=5),
        lambda lib: lib.zeros(3, requires_grad=True).normal_(),
        lambda lib: lib.zeros(3, requires_grad=True).uniform_(2, 1),
    ],
)
def test_fill_errors(call):
    _same_error(call)


@pytest.mark.parametrize(
    "name, args",
    [
        ("uniform_", ()),
        ("normal_", ()),
        ("bernoulli_", ()),
        ("random_", ()),
        ("random_", (5,)),
        ("random_", (1, 5)),
        ("exponential_", ()),
        ("geometric_", (0.5,)),
    ],
)
def test_fill_graph(name, args):
    """A fill on a non-leaf is recorded (PyTorch's node name); its gradient to ``self`` is 0."""
    found = []
    for lib in (torch, gg):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        getattr(y, name)(*args)
        (y * x).sum().backward()
        found.append((type(y.grad_fn).__name__, y._version, x.grad.tolist() == y.tolist()))
    assert found[0] == found[1]


def test_bernoulli_tensor_p_graph():
    found = []
    for lib in (torch, gg):
        x = lib.ones(3, requires_grad=True)
        p = lib.tensor([0.1, 0.5, 0.9], requires_grad=True)
        y = (x * 2).bernoulli_(p)
        y.sum().backward()
        found.append((type(y.grad_fn).__name__, x.grad.tolist(), p.grad.tolist()))
    assert found[0] == found[1]


def test_fill_leaf_under_no_grad_and_data():
    w = gg.zeros(4, 5, requires_grad=True)
    with gg.no_grad():
        w.normal_(0.0, 0.02)
    assert w.is_leaf and w.requires_grad and w._version == 1 and w.grad_fn is None
    w.data.uniform_(-1, 1)
    assert w.is_leaf and np.abs(w.detach().numpy()).max() <= 1
    conv = gg.nn.Conv2d(3, 8, 3)
    conv.weight.data.normal_(0.0, 0.02)
    assert abs(conv.weight.detach().numpy().std() - 0.02) < 0.01


@pytest.mark.parametrize(
    "name, args",
    [
        ("uniform_", (-1, 1)),
        ("normal_", (0, 1)),
        ("bernoulli_", (0.5,)),
        ("random_", (0, 100)),
        ("exponential_", (1.0,)),
        ("geometric_", (0.3,)),
    ],
)
def test_fill_reproducible(name, args):
    gg.manual_seed(7)
    first = getattr(gg.zeros(50), name)(*args).tolist()
    gg.manual_seed(7)
    again = getattr(gg.zeros(50), name)(*args).tolist()
    assert first == again
    assert getattr(gg.zeros(50), name)(*args).tolist() != first
    generator = gg.Generator().manual_seed(3)
    own = getattr(gg.zeros(50), name)(*args, generator=generator).tolist()
    generator.manual_seed(3)
    assert getattr(gg.zeros(50), name)(*args, generator=generator).tolist() == own


def test_fill_through_view_writes_base():
    base = gg.zeros(4, 4)
    base[1].fill_(7).uniform_(10, 11)
    data = base.numpy()
    assert (data[1] >= 10).all() and (data[0] == 0).all() and (data[2:] == 0).all()


# -- addcmul / addcdiv ----------------------------------------------------------------------
_MADE = []  # the leaves that require grad, in order of creation (for the gradient tests)


def _pair(lib, data, dtype="float64", grad=False):
    made = lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=grad)
    if grad:
        _MADE.append(made)
    return made


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("value", [1, 0.5, -2])
def test_addc_values_and_grads(name, value):
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(2, 3)), rng.normal(size=(3,)), rng.uniform(0.5, 2, size=(2, 3))
    found = []
    for lib in (torch, gg):
        ts = [_pair(lib, v.tolist(), grad=True) for v in (a, b, c)]
        out = getattr(lib, name)(*ts, value=value)
        (out * out).sum().backward()
        found.append(
            (type(out.grad_fn).__name__, out.tolist(), [t.grad.numpy().tolist() for t in ts])
        )
    assert found[0][0] == found[1][0] == name.capitalize() + "Backward0"
    np.testing.assert_allclose(found[1][1], found[0][1], rtol=1e-12)
    for got, expected in zip(found[1][2], found[0][2], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addc_central_differences(name):
    rng = np.random.default_rng(1)
    values = [rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, size=4)]
    ts = [gg.tensor(v, requires_grad=True) for v in values]
    getattr(gg, name)(*ts, value=0.7).sum().backward()
    for index, t in enumerate(ts):
        step = 1e-6
        numeric = []
        for k in range(4):
            hi = [v.copy() for v in values]
            lo = [v.copy() for v in values]
            hi[index][k] += step
            lo[index][k] -= step
            f = getattr(np, "multiply" if name == "addcmul" else "divide")
            numeric.append(
                ((hi[0] + 0.7 * f(hi[1], hi[2])) - (lo[0] + 0.7 * f(lo[1], lo[2]))).sum()
                / (2 * step)
            )
        np.testing.assert_allclose(t.grad.numpy(), numeric, rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.addcmul(
            _pair(lib, [1, 2], "int64"),
            _pair(lib, [3, 4], "int64"),
            _pair(lib, [5, 6], "int64"),
            value=2,
        ),
        lambda lib: lib.addcmul(
            _pair(lib, [1, 2], "int64"),
            _pair(lib, [3.0, 4], "float32"),
            _pair(lib, [5, 6], "int64"),
        ),
        lambda lib: lib.addcmul(
            _pair(lib, [1.0, 2], "float32"), _pair(lib, [3.0, 4]), _pair(lib, [5.0, 6], "float32")
        ),
        lambda lib: lib.addcmul(
            _pair(lib, [1.0, 2], "float32"), _pair(lib, [3.0, 4], "float32"), _pair(lib, 2.0)
        ),
        lambda lib: lib.addcdiv(
            _pair(lib, [1, 2], "bool"),
            _pair(lib, [3.0, 4], "float32"),
            _pair(lib, [5.0, 6], "float32"),
        ),
        lambda lib: lib.addcdiv(
            _pair(lib, [1.0, 2]), _pair(lib, [3, 4], "int64"), _pair(lib, [5, 6], "int64")
        ),
        lambda lib: lib.addcmul(_pair(lib, [1.0, 2]), _pair(lib, [3.0, 4, 5]), _pair(lib, [1.0])),
        lambda lib: lib.addcmul(_pair(lib, [1.0, 2]), 2.0, _pair(lib, [1.0])),
        lambda lib: _pair(lib, [1.0]).addcmul_(_pair(lib, [1.0, 2]), _pair(lib, [1.0, 2])),
        lambda lib: _pair(lib, [1.0, 2], grad=True).addcmul_(
            _pair(lib, [1.0, 2]), _pair(lib, [1.0, 2])
        ),
        lambda lib: _pair(lib, [1.0, 2], "float32").addcdiv_(
            _pair(lib, [1.0, 2]), _pair(lib, [3.0, 2]), value=0.5
        ),
    ],
)
def test_addc_dtypes_and_errors(call):
    expected = _error(lambda: call(torch))
    if expected is not None:
        assert _error(lambda: call(gg)) == expected
        return
    want, got = call(torch), call(gg)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_allclose(got.tolist(), want.tolist())


def test_addc_inplace_optimizer_step():
    found = []
    for lib in (torch, gg):
        p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        exp_avg_sq = lib.tensor([0.5, 0.25, 1.0])
        grad = lib.tensor([0.1, -0.2, 0.3])
        with lib.no_grad():
            exp_avg_sq.mul_(0.9).addcmul_(grad, grad, value=0.1)
            p.addcdiv_(grad, exp_avg_sq.sqrt().add_(1e-8), value=-0.01)
        y = lib.tensor([1.0, 2.0], requires_grad=True) * 1
        y.addcmul_(y.detach(), y.detach())
        found.append((p.tolist(), exp_avg_sq.tolist(), p._version, type(y.grad_fn).__name__))
    np.testing.assert_allclose(found[1][0], found[0][0], rtol=1e-6)
    np.testing.assert_allclose(found[1][1], found[0][1], rtol=1e-6)
    assert found[1][2:] == found[0][2:]


# -- logit, deg2rad, rad2deg, float_power, shifts ------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.logit(_pair(lib, [-0.5, 0.0, 0.1, 0.5, 0.9, 1.0, 1.5], grad=True)),
        lambda lib: lib.logit(_pair(lib, [-0.5, 0.1, 0.2, 0.5, 0.85, 1.5], grad=True), 0.2),
        lambda lib: _pair(lib, [0.1, 0.7], "float32", grad=True).logit(eps=0.3),
        lambda lib: lib.deg2rad(_pair(lib, [0.0, 90.0, -45.0], "float32", grad=True)),
        lambda lib: lib.rad2deg(_pair(lib, [0.0, 1.0, -3.0], grad=True)),
        lambda lib: lib.float_power(_pair(lib, [0.5, 2.0], "float32", grad=True), 2),
        lambda lib: lib.float_power(
            _pair(lib, [0.5, 2.0], grad=True), _pair(lib, [1.5, 3.0], grad=True)
        ),
        lambda lib: lib.float_power(2, _pair(lib, [0.5, 2.0], "float32", grad=True)),
    ],
)
def test_pointwise_grads(call):
    found = []
    for lib in (torch, gg):
        _MADE.clear()
        out = call(lib)
        leaves = list(_MADE)
        out.sum().backward()
        found.append(
            (
                str(out.dtype),
                type(out.grad_fn).__name__,
                out.tolist(),
                [leaf.grad.tolist() for leaf in leaves],
            )
        )
    assert found[0][:2] == found[1][:2]
    np.testing.assert_allclose(found[1][2], found[0][2], rtol=1e-6)
    for got, want in zip(found[1][3], found[0][3], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.logit(_pair(lib, [1, 2], "int64")),
        lambda lib: lib.deg2rad(_pair(lib, [1, 2], "int64")),
        lambda lib: lib.rad2deg(_pair(lib, [True], "bool")),
        lambda lib: lib.deg2rad(_pair(lib, [1, 2], "float16")),
        lambda lib: lib.float_power(_pair(lib, [1, 2], "int64"), 2),
        lambda lib: _pair(lib, [1, 2], "int64").float_power(0.5),
        lambda lib: _pair(lib, [1, 2], "int64").float_power_(2),
        lambda lib: _pair(lib, [1, 2], "float32").float_power_(2),
        lambda lib: _pair(lib, [1, 2]).float_power_(2),
        lambda lib: _pair(lib, [1, 2, 3], "int64") << 1,
        lambda lib: _pair(lib, [1, 2, -8], "int64") >> 1,
        lambda lib: 1 << _pair(lib, [1, 2, 3], "int64"),
        lambda lib: 64 >> _pair(lib, [1, 2, 3], "int64"),
        lambda lib: _pair(lib, [1, 2, 3], "int64") << 70,
        lambda lib: _pair(lib, [1, 2, 3], "int64") << -1,
        lambda lib: _pair(lib, [-1, 5], "int64") >> 70,
        lambda lib: _pair(lib, [1], "uint8") << 7,
        lambda lib: _pair(lib, [1], "uint8") << 8,
        lambda lib: _pair(lib, [1], "int8") << 7,
        lambda lib: _pair(lib, [1], "int32") << 32,
        lambda lib: _pair(lib, [True], "bool") << 1,
        lambda lib: lib.bitwise_left_shift(
            _pair(lib, [1, 2], "int64"), _pair(lib, [1, 3], "int64")
        ),
        lambda lib: lib.bitwise_right_shift(_pair(lib, [9, 2], "int64"), _pair(lib, 1, "int8")),
        lambda lib: _pair(lib, [1.0]) << 1,
        lambda lib: _pair(lib, [1.0]) >> 1,
        lambda lib: _pair(lib, [1], "int64") << 1.5,
    ],
)
def test_pointwise_values_and_errors(call):
    expected = _error(lambda: call(torch))
    if expected is not None:
        assert _error(lambda: call(gg)) == expected
        return
    want, got = call(torch), call(gg)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_allclose(got.tolist(), want.tolist(), rtol=1e-6)


def test_shift_inplace():
    found = []
    for lib in (torch, gg):
        t = _pair(lib, [1, 2, 3], "int64")
        t <<= 2
        t >>= 1
        t.bitwise_left_shift_(1)
        found.append((t.tolist(), t._version))
    assert found[0] == found[1]


# -- in-place view ops ----------------------------------------------------------------------
VIEW_OPS = [
    ("t_", (), (2, 3)),
    ("squeeze_", (), (2, 1, 3)),
    ("squeeze_", (1,), (2, 1, 3)),
    ("squeeze_", ((1, 2),), (2, 1, 1, 3)),
    ("unsqueeze_", (0,), (2, 3)),
    ("unsqueeze_", (-1,), (2, 3)),
    ("transpose_", (0, 2), (2, 1, 3)),
    ("swapaxes_", (0, 1), (2, 3)),
]


@pytest.mark.parametrize("name, args, shape", VIEW_OPS)
def test_view_inplace_graph(name, args, shape):
    found = []
    rng = np.random.default_rng(2)
    values = rng.normal(size=shape)
    for lib in (torch, gg):
        x = lib.tensor(values, requires_grad=True)
        y = x * 2
        assert getattr(y, name)(*args) is y
        weight = lib.arange(float(y.numel())).reshape(y.shape)
        (y * weight).sum().backward()
        found.append(
            (tuple(y.shape), type(y.grad_fn).__name__, y._version, y.tolist(), x.grad.tolist())
        )
    assert found[0] == found[1]


@pytest.mark.parametrize("name, args, shape", VIEW_OPS)
def test_view_inplace_plain_and_leaf(name, args, shape):
    found = []
    for lib in (torch, gg):
        t = lib.arange(float(np.prod(shape))).reshape(shape).clone()
        getattr(t, name)(*args)
        found.append((tuple(t.shape), t.tolist(), t._version, t.is_contiguous()))
        leaf = lib.ones(shape, requires_grad=True)
        found.append(_error(lambda leaf=leaf: getattr(leaf, name)(*args)))
        with lib.no_grad():
            getattr(leaf, name)(*args)
        found.append((tuple(leaf.shape), leaf.is_leaf, leaf.requires_grad))
    assert found[:3] == found[3:]


def test_view_inplace_on_view_writes_base():
    found = []
    for lib in (torch, gg):
        x = lib.arange(6.0).requires_grad_()
        y = x * 1
        v = y.view(2, 3)
        v.t_()
        v[0, 1] = 100.0
        (v * lib.arange(6.0).view(3, 2)).sum().backward()
        found.append((tuple(v.shape), y.tolist(), v.tolist(), x.grad.tolist()))
    assert found[0] == found[1]


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.ones(2, 2, 2).t_(),
        lambda lib: lib.ones(2, 2, 2, requires_grad=True).t_(),
        lambda lib: lib.ones(3).squeeze_(3),
        lambda lib: lib.ones(3).unsqueeze_(5),
        lambda lib: lib.ones(3).transpose_(0, 1),
        lambda lib: lib.ones(3, requires_grad=True).resize_(2),
        lambda lib: (lib.ones(3, requires_grad=True) * 1).resize_(2),
        lambda lib: lib.ones(3).resize_(-1),
    ],
)
def test_view_inplace_errors(call):
    _same_error(call)


def test_resize_():
    found = []
    for lib in (torch, gg):
        t = lib.arange(6.0)
        t.resize_(2, 3)
        first = t.tolist()
        t.resize_((2, 2))
        second = t.tolist()
        t.resize_(3, 3)
        found.append((first, second, tuple(t.shape), t[:1, :].tolist(), t._version))
        w = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            found.append(_error(lambda w=w: w.resize_(2)))
    assert found[:2] == found[2:]
