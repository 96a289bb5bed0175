"""tensor_repr against PyTorch 2.13 (the oracle): every printed character must match."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassgrad import dtypes
from glassgrad._tensor_str import get_printoptions, printoptions, set_printoptions, tensor_repr

FLOATS = [dtypes.float16, dtypes.float32, dtypes.float64]
INTS = [dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64, dtypes.uint8]
ALL = FLOATS + INTS + [dtypes.bool_]
NAN, INF = math.nan, math.inf


@pytest.fixture(autouse=True)
def _restore_defaults():
    """Print options and the default dtype are global in both libraries: leave them as found."""
    yield
    set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    dtypes.set_default_dtype(dtypes.float32)
    torch.set_default_dtype(torch.float32)


def ours(values, dtype=dtypes.float32, suffixes=()) -> str:
    """glassgrad's repr of these values (given as anything np.array accepts)."""
    return tensor_repr(np.array(values, dtype=dtype.np), dtype, list(suffixes))


def assert_matches_torch(array: np.ndarray, dtype, grad: bool = True) -> None:
    """Compare plain, leaf-requiring-grad and non-leaf reprs of one array with torch's."""
    theirs = torch.from_numpy(array.copy())  # copy: C-contiguous and writable
    assert theirs.dtype is getattr(torch, dtype.name)
    assert tensor_repr(array, dtype, []) == repr(theirs)
    if grad and dtype.is_floating_point:
        leaf = theirs.clone().requires_grad_()
        assert tensor_repr(array, dtype, ["requires_grad=True"]) == repr(leaf)
        # Multiplying by one keeps every value (-0., nan, inf included) and adds a grad_fn.
        assert tensor_repr(array, dtype, ["grad_fn=<MulBackward0>"]) == repr(leaf * 1)


# --- the examples of torch-semantics.md section 1.2, as literal text ---

SPEC_EXAMPLES = [
    ([1.0, 2.0], "tensor([1., 2.])"),
    ([1.0, 2.5], "tensor([1.0000, 2.5000])"),
    (0.1, "tensor(0.1000)"),
    (1 / 3, "tensor(0.3333)"),
    (-1.5, "tensor(-1.5000)"),
    (-0.0, "tensor(-0.)"),
    ([1.5, -20.25], "tensor([  1.5000, -20.2500])"),
    ([-1.0, 10.0, 100.0], "tensor([ -1.,  10., 100.])"),
    ([[1.0, 2.0], [3.0, 4.5]], "tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]])"),
    ([[1.0, 2.0], [3.0, -4.5]], "tensor([[ 1.0000,  2.0000],\n        [ 3.0000, -4.5000]])"),
    ([1.23456789, 100.0], "tensor([  1.2346, 100.0000])"),
    (123456.7, "tensor(123456.7031)"),
    (1e-5, "tensor(1.0000e-05)"),
    (1e8, "tensor(100000000.)"),
    (1.5e8, "tensor(1.5000e+08)"),
    ([1000.0, 1.0], "tensor([1000.,    1.])"),
    ([1001.0, 1.0], "tensor([1.0010e+03, 1.0000e+00])"),
    ([0.001, 1.0], "tensor([0.0010, 1.0000])"),
    ([0.0001, 1.0], "tensor([1.0000e-04, 1.0000e+00])"),
    ([1e10, 1.0], "tensor([1.0000e+10, 1.0000e+00])"),
    (
        [[1e-3, 2.0], [3.0, 4.0]],
        "tensor([[1.0000e-03, 2.0000e+00],\n        [3.0000e+00, 4.0000e+00]])",
    ),
    ([12345.6789, 1.0], "tensor([1.2346e+04, 1.0000e+00])"),
    (NAN, "tensor(nan)"),
    ([NAN, 1.0], "tensor([nan, 1.])"),
    ([NAN, 1.5], "tensor([   nan, 1.5000])"),
    ([-INF, 1.5], "tensor([  -inf, 1.5000])"),
    ([INF, 1.0], "tensor([inf, 1.])"),
    ([NAN, 0.0], "tensor([nan, 0.])"),
    ([-0.0, 1.0], "tensor([-0., 1.])"),
    (np.zeros((2, 3)), "tensor([[0., 0., 0.],\n        [0., 0., 0.]])"),
    ([], "tensor([])"),
    (np.zeros((2, 0)), "tensor([], size=(2, 0))"),
    (
        np.arange(8.0).reshape(2, 2, 2),
        "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])",
    ),
    (
        np.arange(20.0),
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "        14., 15., 16., 17., 18., 19.])",
    ),
    (
        np.arange(20.0, dtype=np.float32) / np.float32(3),
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
        "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
        "        6.0000, 6.3333])",
    ),
    (
        np.arange(2000.0),
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])",
    ),
]


@pytest.mark.parametrize(("values", "expected"), SPEC_EXAMPLES)
def test_spec_float_examples(values, expected):
    assert ours(values) == expected


@pytest.mark.parametrize(
    ("values", "dtype", "suffixes", "expected"),
    [
        ([1, 2, 3], dtypes.int64, [], "tensor([1, 2, 3])"),
        (3, dtypes.int64, [], "tensor(3)"),
        ([[1, -20], [300, 4]], dtypes.int64, [], "tensor([[  1, -20],\n        [300,   4]])"),
        ([True, False], dtypes.bool_, [], "tensor([ True, False])"),
        ([1, 2], dtypes.int32, [], "tensor([1, 2], dtype=torch.int32)"),
        ([1.0, 2.0], dtypes.float64, [], "tensor([1., 2.], dtype=torch.float64)"),
        (
            2.0,
            dtypes.float64,
            ["requires_grad=True"],
            "tensor(2., dtype=torch.float64, requires_grad=True)",
        ),
        (
            [2.0, 4.0],
            dtypes.float64,
            ["grad_fn=<MulBackward0>"],
            "tensor([2., 4.], dtype=torch.float64, grad_fn=<MulBackward0>)",
        ),
        (2.5, dtypes.float16, [], "tensor(2.5000, dtype=torch.float16)"),
        (
            [1.0, 1.0, 1.0],
            dtypes.float32,
            ["requires_grad=True"],
            "tensor([1., 1., 1.], requires_grad=True)",
        ),
        (2.0, dtypes.float32, ["requires_grad=True"], "tensor(2., requires_grad=True)"),
        (6.0, dtypes.float32, ["grad_fn=<MulBackward0>"], "tensor(6., grad_fn=<MulBackward0>)"),
        (192.0, dtypes.float32, [], "tensor(192.)"),
        (np.zeros(0), dtypes.float32, ["requires_grad=True"], "tensor([], requires_grad=True)"),
        (np.zeros(0), dtypes.int64, [], "tensor([], dtype=torch.int64)"),
        (
            np.arange(12.0, dtype=np.float32) / np.float32(7),
            dtypes.float32,
            ["grad_fn=<DivBackward0>"],
            "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
            "        1.2857, 1.4286, 1.5714], grad_fn=<DivBackward0>)",
        ),
        (
            np.arange(9.0, dtype=np.float32) / np.float32(7),
            dtypes.float32,
            ["grad_fn=<DivBackward0>"],
            "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429],\n"
            "       grad_fn=<DivBackward0>)",
        ),
        (
            np.arange(9.0),
            dtypes.float64,
            ["requires_grad=True"],
            "tensor([0., 1., 2., 3., 4., 5., 6., 7., 8.], dtype=torch.float64,\n"
            "       requires_grad=True)",
        ),
    ],
)
def test_spec_dtype_and_suffix_examples(values, dtype, suffixes, expected):
    assert ours(values, dtype, suffixes) == expected


# --- hand-picked cases against torch ---

# fmt: off
HAND_PICKED = [
    0.0, 1.0, -1.0, 0.5, 1e-4, 9.9999e-5, 1e-45, 3.4e38, 65504.0, 1e8, 1e8 + 1, 99999999.0,
    [0.0, -0.0], [-0.0, -0.0], [NAN, NAN], [INF, -INF], [NAN, INF, -INF, 0.0],
    [NAN, INF, 2.5, -1e-6], [INF, 1e9], [-INF, 123.0], [1e-9, 1e9], [0.1, 0.2, 0.3],
    [9.99995, 1.0], [0.99995, 10.0], [-999.5, 0.5], [1000.0, 1.0], [1000.5, 1.0],
    [1e20, -1e20], [-1e-20, 5.0], [1.0, 2.0, 1000.0], [1.0, 2.0, 1001.0], [123456789.0],
    list(range(-40, 40)), [i / 7 for i in range(-30, 30)], [10.0**e for e in range(-8, 9)],
    np.linspace(-1, 1, 25).reshape(5, 5), np.arange(24.0).reshape(2, 3, 4),
    np.arange(120.0).reshape(2, 3, 4, 5) / 3, np.arange(-60.0, 60.0).reshape(1, 2, 3, 4, 5),
    np.full((3, 1), NAN), np.ones((1, 1, 1)), np.arange(1001.0), np.arange(1000.0),
    np.arange(1001.0) / 3, np.arange(3000.0).reshape(30, 100),
    np.arange(40000.0).reshape(20, 20, 100), np.arange(5000.0).reshape(5, 1000) / 1e6,
    np.eye(40), np.logspace(-10, 10, 50),
]
# fmt: on


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
@pytest.mark.parametrize("values", HAND_PICKED, ids=range(len(HAND_PICKED)))
def test_hand_picked_floats(values, dtype):
    with np.errstate(over="ignore"):  # float16 overflows to inf exactly as torch's cast does
        array = np.array(values, dtype=dtype.np)
    assert_matches_torch(array, dtype)


INT_CASES = [
    0,
    7,
    -128,
    [0],
    [1, 2, 3],
    [-5, 100, 3],
    list(range(0, 127, 3)),
    np.arange(-60, 60).reshape(3, 40),
    np.arange(24).reshape(2, 3, 4),
    np.arange(5000),
    np.arange(2000).reshape(2, 10, 100) % 127,
]


@pytest.mark.parametrize("dtype", INTS, ids=lambda d: d.name)
@pytest.mark.parametrize("values", INT_CASES, ids=range(len(INT_CASES)))
def test_hand_picked_integers(values, dtype):
    array = np.array(values).astype(dtype.np)  # wraps out-of-range values, as torch would see them
    assert_matches_torch(array, dtype)


def test_integer_extremes():
    for dtype in INTS:
        info = np.iinfo(dtype.np)
        assert_matches_torch(np.array([info.min, 0, info.max], dtype=dtype.np), dtype)


@pytest.mark.parametrize(
    "values",
    [
        True,
        False,
        [True],
        [False],
        [True, True],
        [[True, False], [False, True]],
        np.arange(2000) % 3 == 0,
        np.zeros((2, 0), dtype=bool),
        np.zeros(0, dtype=bool),
    ],
)
def test_bool(values):
    assert_matches_torch(np.array(values, dtype=np.bool_), dtypes.bool_)


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3), (1, 0, 2), (0, 0, 0, 0)])
def test_empty(dtype, shape):
    assert_matches_torch(np.zeros(shape, dtype=dtype.np), dtype)


@pytest.mark.parametrize(
    "suffixes",
    [
        ["requires_grad=True", "grad_fn=<SomeVeryLongBackwardClassNameThatGoesOnAndOn0>"],
        ["x" * 10, "y" * 50, "z" * 5],
        ["w" * 90],
        ["a=1"] * 30,
    ],
)
def test_suffix_wrapping_matches_torch(suffixes):
    # torch never makes these suffix lists itself, so its own _add_suffixes is the oracle.
    for array in (np.arange(9.0, dtype=np.float32) / 7, np.array(1.5, dtype=np.float32)):
        body = repr(torch.from_numpy(array.copy()))[: -len(")")]
        expected = torch._tensor_str._add_suffixes(body, suffixes, 7, force_newline=False)
        assert tensor_repr(array, dtypes.float32, suffixes) == expected


@pytest.mark.parametrize("default", [dtypes.float64, dtypes.float16])
def test_default_dtype_changes_the_dtype_suffix(default):
    dtypes.set_default_dtype(default)
    torch.set_default_dtype(getattr(torch, default.name))
    for dtype in ALL:
        assert_matches_torch(np.array([1, 0, 1], dtype=dtype.np), dtype)
        assert_matches_torch(np.zeros((0,), dtype=dtype.np), dtype)


# --- print options ---

OPTION_CASES = [
    {"precision": 2},
    {"precision": 0},
    {"precision": 10},
    {"threshold": 5},
    {"threshold": 5, "edgeitems": 1},
    {"threshold": 5, "edgeitems": 0},
    {"edgeitems": 0},
    {"linewidth": 30},
    {"linewidth": 1},
    {"linewidth": 200},
    {"sci_mode": True},
    {"sci_mode": False},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 6},
]
OPTION_ARRAYS = [
    np.array([1.12345, 2.0], dtype=np.float32),
    np.array(1.12345),
    np.arange(10.0, dtype=np.float32),
    np.arange(10),
    np.arange(2000.0, dtype=np.float32) / 7,
    np.arange(60.0, dtype=np.float32).reshape(3, 4, 5) * 1e5,
    np.array([0.0, NAN], dtype=np.float32),
    np.array([1e-10, 1.0, 1e10]),
    np.arange(3000) % 2 == 0,
]


@pytest.mark.parametrize("options", OPTION_CASES, ids=str)
def test_printoptions_match_torch(options):
    set_printoptions(**options)
    torch.set_printoptions(**options)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    for array in OPTION_ARRAYS:
        assert_matches_torch(array, dtypes.to_dtype(array.dtype))


def test_options_reset_and_context_manager():
    assert get_printoptions() == {
        "precision": 4,
        "threshold": 1000,
        "edgeitems": 3,
        "linewidth": 80,
        "sci_mode": None,
    }
    set_printoptions(sci_mode=True)
    set_printoptions(precision=3)  # like torch, any call without sci_mode resets it
    assert get_printoptions()["sci_mode"] is None
    with printoptions(precision=1):
        assert ours([1.25]) == "tensor([1.2])"
    assert ours([1.25]) == "tensor([1.250])"
    set_printoptions(profile="nonsense")  # ignored silently, as torch does
    assert get_printoptions()["precision"] == 3


# --- properties ---

REGIMES = {
    "integral": st.integers(-1000, 1000).map(float),
    "quarters": st.integers(-400, 400).map(lambda n: n / 4),
    "unit": st.floats(-10, 10),
    "tiny": st.floats(-12, -3).map(lambda e: 10.0**e)
    | st.floats(-12, -3).map(lambda e: -(10.0**e)),
    "huge": st.floats(3, 30).map(lambda e: 10.0**e) | st.floats(3, 30).map(lambda e: -(10.0**e)),
    "special": st.sampled_from([NAN, INF, -INF, 0.0, -0.0]),
}


@st.composite
def float_arrays(draw):
    """Arrays of 0-4 dims whose values mix one or more magnitude regimes."""
    dtype = draw(st.sampled_from(FLOATS))
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=4)))
    names = draw(st.lists(st.sampled_from(sorted(REGIMES)), min_size=1, max_size=3, unique=True))
    elements = st.one_of([REGIMES[name] for name in names])
    values = draw(st.lists(elements, min_size=math.prod(shape), max_size=math.prod(shape)))
    with np.errstate(over="ignore"):
        return np.array(values, dtype=dtype.np).reshape(shape), dtype


@st.composite
def int_arrays(draw):
    """Integer and bool arrays of 0-4 dims spanning each dtype's range."""
    dtype = draw(st.sampled_from(INTS + [dtypes.bool_]))
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=4)))
    if dtype is dtypes.bool_:
        elements = st.booleans()
    else:
        info = np.iinfo(dtype.np)
        elements = st.integers(int(info.min), int(info.max)) | st.integers(-3, 3).filter(
            lambda n: n >= info.min
        )
    values = draw(st.lists(elements, min_size=math.prod(shape), max_size=math.prod(shape)))
    return np.array(values, dtype=dtype.np).reshape(shape), dtype


PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(float_arrays())
def test_random_float_arrays_match_torch(case):
    assert_matches_torch(*case)


@PROPERTY
@given(int_arrays())
def test_random_int_arrays_match_torch(case):
    assert_matches_torch(*case)


options_strategy = st.fixed_dictionaries(
    {},
    optional={
        "precision": st.integers(0, 8),
        "threshold": st.integers(0, 60),
        "edgeitems": st.integers(0, 4),
        "linewidth": st.integers(1, 120),
        "sci_mode": st.sampled_from([True, False]),
        "profile": st.sampled_from(["default", "short", "full"]),
    },
)


@PROPERTY
@given(st.one_of(float_arrays(), int_arrays()), options_strategy)
def test_random_arrays_under_random_options_match_torch(case, options):
    try:
        set_printoptions(**options)
        torch.set_printoptions(**options)
        assert_matches_torch(*case)
    finally:
        set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
