"""finfo/iinfo, result_type/can_cast, the typed tensor classes, .T/.mT warnings and bool negation,
each compared against PyTorch."""

import ast
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import glassgrad
from glassgrad.ops.shape import view as _shape

FLOATS = ["float16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
ALL = ["bool"] + INTS + FLOATS


def both(name):
    return getattr(glassgrad, name), getattr(torch, name)


def outcome(fn, lib):
    """What ``fn(lib)`` gives: its value, or its exception's type and message."""
    try:
        return "ok", fn(lib)
    except Exception as error:  # noqa: BLE001 - the error itself is what is compared
        return type(error).__name__, str(error)


def assert_same(fn):
    ours, theirs = outcome(fn, glassgrad), outcome(fn, torch)
    assert ours == theirs


# -- finfo / iinfo -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FLOATS)
def test_finfo_matches_torch(name):
    ours, theirs = glassgrad.finfo(getattr(glassgrad, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
        assert type(getattr(ours, field)) is type(getattr(theirs, field)), field
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)


@pytest.mark.parametrize("name", INTS)
def test_iinfo_matches_torch(name):
    ours, theirs = glassgrad.iinfo(getattr(glassgrad, name)), torch.iinfo(getattr(torch, name))
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
        assert type(getattr(ours, field)) is type(getattr(theirs, field)), field
    assert repr(ours) == repr(theirs)


def test_finfo_default_follows_default_dtype():
    assert repr(glassgrad.finfo()) == repr(torch.finfo())
    glassgrad.set_default_dtype(glassgrad.float64)
    try:
        assert glassgrad.finfo().dtype == "float64"
    finally:
        glassgrad.set_default_dtype(glassgrad.float32)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: repr(t.finfo(float)),
        lambda t: repr(t.iinfo(int)),
        lambda t: t.finfo(t.int32),
        lambda t: t.finfo(t.bool),
        lambda t: t.iinfo(t.float32),
        lambda t: t.iinfo(t.bool),
        lambda t: t.finfo("float32"),
        lambda t: t.finfo(np.float32),
        lambda t: t.iinfo(None),
        lambda t: t.finfo(t.float32) == t.finfo(t.float32),
        lambda t: t.finfo(t.float32) == t.finfo(t.float64),
        lambda t: hash(t.finfo(t.float32)),
    ],
)
def test_info_arguments_and_errors_match_torch(fn):
    assert_same(fn)


# -- result_type / can_cast ---------------------------------------------------------------------
def _args(t):
    return [
        t.tensor([1, 2]),
        t.tensor(1.5),
        t.tensor([1], dtype=t.uint8),
        t.tensor(-1),
        t.tensor(1, dtype=t.int8),
        t.tensor([True]),
        t.tensor(True),
        t.tensor([1.0], dtype=t.float16),
        t.tensor(1.0, dtype=t.float64),
        1,
        2.5,
        True,
        np.float32(1),
    ]


@pytest.mark.parametrize("i", range(13))
@pytest.mark.parametrize("j", range(13))
def test_result_type_matches_torch(i, j):
    assert_same(lambda t: str(t.result_type(_args(t)[i], _args(t)[j])))


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.result_type(1, "a"),
        lambda t: t.result_type(None, 1),
        lambda t: t.result_type(t.tensor([1]), None),
        lambda t: t.result_type(np.float32(1), "a"),
        lambda t: t.result_type("a", t.tensor([1])),
        lambda t: t.result_type(1.5, None),
        lambda t: str(t.result_type(tensor=t.tensor([1]), other=2.0)),
        lambda t: t.can_cast("a", t.int32),
        lambda t: t.can_cast(t.int32, "x"),
        lambda t: t.can_cast(float, t.int32),
        lambda t: t.can_cast(np.float32, t.int32),
    ],
)
def test_result_type_and_can_cast_errors_match_torch(fn):
    assert_same(fn)


def test_result_type_two_numbers_use_default_dtype():
    glassgrad.set_default_dtype(glassgrad.float64)
    try:
        assert glassgrad.result_type(1, 2.0) is glassgrad.float64
    finally:
        glassgrad.set_default_dtype(glassgrad.float32)


@pytest.mark.parametrize("a", ALL)
@pytest.mark.parametrize("b", ALL)
def test_can_cast_matches_torch(a, b):
    (ga, ta), (gb, tb) = both(a), both(b)
    assert glassgrad.can_cast(ga, gb) == torch.can_cast(ta, tb)


# -- typed tensor classes and Tensor.type ------------------------------------------------------
CLASSES = [
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
]


def _values(x):
    return x.dtype, tuple(x.shape), x.tolist()


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "build",
    [
        lambda c: c([1, 0, 2]),
        lambda c: c([[1.7, 2], [3, 4]]),
        lambda c: c((1, 2)),
        lambda c: c(np.array([1.0, 2.0])),
        lambda c: c(),
    ],
)
def test_typed_constructor_from_data_matches_torch(cls, build):
    ours, theirs = (
        outcome(lambda t: _values(build(getattr(t, cls))), glassgrad),
        outcome(lambda t: _values(build(getattr(t, cls))), torch),
    )
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert str(ours[1][0]) == str(theirs[1][0]) and ours[1][1:] == theirs[1][1:]
    else:
        assert ours == theirs


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "build",
    [
        lambda t, c: tuple(c(2, 3).shape),
        lambda t, c: tuple(c(0).shape),
        lambda t, c: tuple(c(t.Size([2, 3])).shape),
        lambda t, c: str(c(2, 3).dtype),
        lambda t, c: c(-1),
        lambda t, c: c(2, 3.0),
        lambda t, c: c(3.5),
        lambda t, c: c("a"),
        lambda t, c: c([1], dtype=t.int32),
        lambda t, c: c([1], requires_grad=True),
        lambda t, c: c(2, 3, requires_grad=True),
        lambda t, c: c([1], foo=1),
        lambda t, c: c([1], device="cpu").tolist(),
    ],
)
def test_typed_constructor_shape_form_and_errors_match_torch(cls, build):
    assert_same(lambda t: build(t, getattr(t, cls)))


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.Tensor([1], dtype=t.int32),
        lambda t: t.Tensor(2, 3, requires_grad=True),
        lambda t: t.Tensor([1.0], requires_grad=True),
    ],
)
def test_legacy_constructor_keyword_errors_match_torch(fn):
    assert_same(fn)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("source", ALL)
def test_typed_constructor_from_a_tensor_matches_torch(cls, source):
    def build(t):
        made = getattr(t, cls)(t.ones(2, dtype=getattr(t, source)))
        return str(made.dtype), made.tolist()

    assert_same(build)


def test_typed_constructor_aliases_a_tensor_of_its_dtype():
    a = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    b = glassgrad.FloatTensor(a)
    assert b is not a and type(b.grad_fn).__name__ == "AliasBackward0"
    b.detach()[0] = 5.0  # shared storage: the write shows in the source
    assert a.tolist() == [5.0, 2.0]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", ALL)
def test_isinstance_checks_dtype_like_torch(cls, dtype):
    def check(t):
        return isinstance(t.ones(2, dtype=getattr(t, dtype)), getattr(t, cls))

    assert_same(check)
    assert not isinstance(3, glassgrad.FloatTensor)
    assert repr(glassgrad.FloatTensor) == repr(torch.FloatTensor) == "<class 'torch.FloatTensor'>"


@pytest.mark.parametrize("dtype", ALL)
@pytest.mark.parametrize(
    "target",
    [
        None,
        "torch.LongTensor",
        "torch.BoolTensor",
        "torch.Tensor",
        "torch.Foo",
        "float",
        "torch.int32",
        "FloatTensor",
    ],
)
def test_type_method_matches_torch(dtype, target):
    def convert(t):
        x = t.ones(2, dtype=getattr(t, dtype))
        got = x.type(target)
        return got if isinstance(got, str) else (str(got.dtype), got.tolist())

    assert_same(convert)


@pytest.mark.parametrize("cls", CLASSES + ["Tensor"])
def test_type_method_takes_classes_and_dtypes(cls):
    def convert(t):
        got = t.ones(2).type(getattr(t, cls))
        return str(got.dtype), got.tolist()

    assert_same(convert)
    assert_same(lambda t: str(t.ones(2).type(t.int32).dtype))
    x = glassgrad.ones(2)
    assert x.type(glassgrad.float32) is x and x.type("torch.FloatTensor") is x


# -- .T / .mT warnings, bool negation -----------------------------------------------------------
@pytest.fixture
def fresh_warnings():
    _shape._WARNED.clear()
    yield
    _shape._WARNED.clear()


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught]


_TORCH_WARNINGS = """
import warnings, torch
warnings.simplefilter("always")
for shape in [(3,), (2, 3, 4), ()]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            torch.ones(shape).T
    print(repr([str(w.message).split(" (Triggered internally")[0] for w in caught]))
"""


@pytest.fixture(scope="module")
def torch_t_warnings():
    """What a fresh PyTorch process warns for .T on 1-d, 3-d (after 1-d) and 0-d tensors."""
    done = subprocess.run(
        [sys.executable, "-c", _TORCH_WARNINGS], capture_output=True, text=True, check=True
    )
    return [ast.literal_eval(line) for line in done.stdout.splitlines()]


def test_t_warns_once_like_torch(fresh_warnings, torch_t_warnings):
    ours = [_caught(lambda s=s: [glassgrad.ones(s).T for _ in range(3)]) for s in SHAPES]
    assert ours == torch_t_warnings
    assert len(ours[0]) == 1 and ours[1] == [] and len(ours[2]) == 1
    assert _caught(lambda: glassgrad.ones(2, 3).T) == []


SHAPES = [(3,), (2, 3, 4), ()]


def test_t_message_on_scalars_is_torchs(fresh_warnings):
    assert _caught(lambda: glassgrad.tensor(1.0).T) == [
        "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."
    ]


def test_t_of_a_scalar_is_a_permute_view(fresh_warnings):
    s = glassgrad.tensor(1.0, requires_grad=True)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        ours = s.T
    assert ours is not s and type(ours.grad_fn).__name__ == "PermuteBackward0"
    ours.backward()
    assert s.grad.item() == 1.0


def test_mt_of_a_scalar_is_the_tensor_with_a_warning(fresh_warnings):
    s = glassgrad.tensor(1.0, requires_grad=True)
    messages = _caught(lambda: [s.mT, s.mT])
    assert s.mT is s
    assert messages == [
        "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases."
    ]
    assert_same(lambda t: t.ones(3).mT)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: -t.tensor([True, False]),
        lambda t: t.neg(t.tensor([True])),
        lambda t: t.negative(t.tensor(True)),
        lambda t: t.tensor([True]).neg_(),
        lambda t: (-t.tensor([1, 2])).tolist(),
    ],
)
def test_bool_negation_raises_like_torch(fn):
    assert_same(fn)


@pytest.mark.parametrize("target", ["DoubleTensor", "torch.DoubleTensor", "float16"])
def test_module_type_takes_typed_classes_like_torch(target):
    def convert(t):
        module = t.nn.Linear(2, 2)
        module.type(getattr(t, target) if not target.startswith("torch.") else target)
        return str(module.weight.dtype), module.weight.requires_grad

    assert_same(convert)
