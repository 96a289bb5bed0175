"""Learning-rate schedulers against PyTorch 2.13: lr sequences, closed forms, state dicts."""

import copy
import math
import warnings

import pytest
import torch

import glassgrad

STEPS = 35


def _optimizer(lib, name="SGD"):
    a = lib.tensor([1.0], requires_grad=True)
    b = lib.tensor([2.0], requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if name == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1)


def _half(epoch):
    return 0.5 ** (epoch // 3)


SCHEDULERS = {
    "StepLR": ("StepLR", {"step_size": 4, "gamma": 0.5}),
    "MultiStepLR": ("MultiStepLR", {"milestones": [3, 7, 7, 20], "gamma": 0.3}),
    "ExponentialLR": ("ExponentialLR", {"gamma": 0.9}),
    "CosineAnnealingLR": ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
    "CosineAnnealingLR-zero": ("CosineAnnealingLR", {"T_max": 7}),
    "LambdaLR": ("LambdaLR", {"lr_lambda": _half}),
    "LambdaLR-list": ("LambdaLR", {"lr_lambda": [_half, lambda e: 1.0 / (e + 1)]}),
    "MultiplicativeLR": ("MultiplicativeLR", {"lr_lambda": lambda e: 0.95}),
    "LinearLR": ("LinearLR", {"start_factor": 0.25, "total_iters": 8}),
    "LinearLR-down": ("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 12}),
    "ConstantLR": ("ConstantLR", {"factor": 0.5, "total_iters": 6}),
    "PolynomialLR": ("PolynomialLR", {"total_iters": 20, "power": 2.0}),
    "OneCycleLR": ("OneCycleLR", {"max_lr": 1.0, "total_steps": STEPS + 1}),
    "OneCycleLR-linear-3phase": (
        "OneCycleLR",
        {
            "max_lr": [1.0, 0.5],
            "total_steps": STEPS + 1,
            "anneal_strategy": "linear",
            "three_phase": True,
            "pct_start": 0.25,
        },
    ),
    "OneCycleLR-epochs": ("OneCycleLR", {"max_lr": 0.3, "epochs": 6, "steps_per_epoch": 6}),
}


def _trace(lib, key, opt_name="SGD", steps=STEPS):
    name, kwargs = SCHEDULERS[key]
    opt = _optimizer(lib, opt_name)
    scheduler = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    trace = [scheduler.get_last_lr()]
    momenta = [[g.get("momentum", g.get("betas")) for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        trace.append(scheduler.get_last_lr())
        momenta.append([g.get("momentum", g.get("betas")) for g in opt.param_groups])
        assert [g["lr"] for g in opt.param_groups] == trace[-1]
    return trace, momenta


@pytest.mark.parametrize("key", sorted(SCHEDULERS))
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_lr_sequence_matches_torch(key, opt_name):
    want_lrs, want_momenta = _trace(torch, key, opt_name)
    got_lrs, got_momenta = _trace(glassgrad, key, opt_name)
    assert got_lrs == want_lrs  # same formulas in the same order: bit-identical floats
    assert got_momenta == want_momenta


CLOSED_FORM = [
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "ConstantLR",
    "PolynomialLR",
]


@pytest.mark.parametrize("key", CLOSED_FORM)
def test_step_with_epoch_uses_the_closed_form_and_warns(key):
    results = []
    for lib in (torch, glassgrad):
        name, kwargs = SCHEDULERS[key]
        opt = _optimizer(lib)
        scheduler = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        trace = []
        for epoch in (5, 2, 11, 30):
            opt.step()
            with pytest.warns(UserWarning, match="The epoch parameter"):
                scheduler.step(epoch)
            trace.append(scheduler.get_last_lr())
        results.append(trace)
    assert results[1] == results[0]


METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9] * 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patience": 2},
        {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": 0.01},
        {"mode": "max", "patience": 2, "threshold_mode": "abs", "threshold": 0.01},
        {"patience": 0, "min_lr": [0.02, 0.001], "eps": 1e-3},
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    traces = []
    for lib in (torch, glassgrad):
        opt = _optimizer(lib)
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        trace = [scheduler.get_last_lr()]
        for metric in METRICS:
            opt.step()
            scheduler.step(metric)
            trace.append((scheduler.get_last_lr(), scheduler.num_bad_epochs, scheduler.best))
        traces.append(trace)
    assert traces[1] == traces[0]


@pytest.mark.parametrize("key", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "LinearLR"])
def test_state_dict_round_trip(key):
    name, kwargs = SCHEDULERS[key]
    opt = _optimizer(glassgrad)
    scheduler = getattr(glassgrad.optim.lr_scheduler, name)(opt, **kwargs)
    for _ in range(10):
        opt.step()
        scheduler.step()
    saved_opt, saved = copy.deepcopy(opt.state_dict()), scheduler.state_dict()
    assert saved["last_epoch"] == 10 and "optimizer" not in saved
    # PyTorch's documented order: build the scheduler, then load the optimizer's state.
    resumed_opt = _optimizer(glassgrad)
    resumed = getattr(glassgrad.optim.lr_scheduler, name)(resumed_opt, **kwargs)
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    for _ in range(10):
        for o, s in ((opt, scheduler), (resumed_opt, resumed)):
            o.step()
            s.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr()


def test_state_dict_keys_match_torch():
    keys = []
    for lib in (torch, glassgrad):
        opt = _optimizer(lib)
        keys.append(set(lib.optim.lr_scheduler.StepLR(opt, 3).state_dict()))
    assert keys[0] - {"_get_lr_called_within_step"} <= keys[1]


def test_plateau_state_dict_round_trip():
    opt = _optimizer(glassgrad)
    scheduler = glassgrad.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for metric in METRICS[:8]:
        scheduler.step(metric)
    resumed = glassgrad.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(glassgrad))
    resumed.load_state_dict(scheduler.state_dict())
    assert resumed.patience == 1 and resumed.best == scheduler.best
    assert resumed.num_bad_epochs == scheduler.num_bad_epochs


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self):
            self.factor = 2.0

        def __call__(self, epoch):
            return self.factor * epoch

    fn = Warmup()
    scheduler = glassgrad.optim.lr_scheduler.LambdaLR(_optimizer(glassgrad), [fn, _half])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"factor": 2.0}, None]
    fn.factor = 5.0
    scheduler.load_state_dict(state)
    assert fn.factor == 2.0


def _warnings(lib, order):
    opt = _optimizer(lib)
    scheduler = lib.optim.lr_scheduler.StepLR(opt, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in order:
            opt.step() if call == "opt" else scheduler.step()
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("order", [("sched", "opt"), ("opt", "sched")])
def test_call_order_warning_matches_torch(order):
    assert _warnings(glassgrad, order) == _warnings(torch, order)


def _error(lib, action):
    with pytest.raises(Exception) as info:
        action(lib)
    return type(info.value).__name__, str(info.value)


ERRORS = {
    "not_optimizer": lambda lib: lib.optim.lr_scheduler.StepLR(object(), 3),
    "linear_start": lambda lib: lib.optim.lr_scheduler.LinearLR(_optimizer(lib), 0.0),
    "plateau_factor": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        _optimizer(lib), factor=1.0
    ),
    "plateau_mode": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        _optimizer(lib), mode="up"
    ),
    "onecycle_total": lambda lib: lib.optim.lr_scheduler.OneCycleLR(_optimizer(lib), 1.0),
    "onecycle_past_end": lambda lib: [
        scheduler.step()
        for scheduler in [lib.optim.lr_scheduler.OneCycleLR(_optimizer(lib), 1.0, total_steps=2)]
        for _ in range(3)
    ],
    "lambda_count": lambda lib: lib.optim.lr_scheduler.LambdaLR(_optimizer(lib), [_half]),
    "resume_without_initial_lr": lambda lib: lib.optim.lr_scheduler.StepLR(
        _optimizer(lib), 3, last_epoch=4
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _error(torch, ERRORS[case])
        got = _error(glassgrad, ERRORS[case])
    if case == "resume_without_initial_lr":  # PyTorch's text is long; the first line says it
        assert got[0] == want[0] and want[1].startswith(got[1].split(" when")[0])
        return
    assert got == want


def test_cosine_annealing_follows_the_closed_form():
    opt = _optimizer(glassgrad)
    scheduler = glassgrad.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    for epoch in range(1, 11):
        opt.step()
        scheduler.step()
        want = 0.1 * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert scheduler.get_last_lr()[0] == pytest.approx(want, abs=1e-12)
