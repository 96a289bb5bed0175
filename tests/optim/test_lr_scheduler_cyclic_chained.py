"""CosineAnnealingWarmRestarts, CyclicLR, SequentialLR and ChainedScheduler against PyTorch."""

import copy
import warnings

import pytest
import torch

import glassgrad

STEPS = 40


def _optimizer(lib, name="SGD"):
    a = lib.tensor([1.0], requires_grad=True)
    b = lib.tensor([2.0], requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if name == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    if name == "Adagrad":
        return lib.optim.Adagrad(groups, lr=0.1)
    return lib.optim.Adam(groups, lr=0.1)


class Halving:
    """A callable object, whose ``__dict__`` state_dict() keeps."""

    def __init__(self):
        self.base = 0.5

    def __call__(self, x):
        return self.base**x


def _build(lib, key, opt):
    s = lib.optim.lr_scheduler
    builders = {
        "warm": lambda: s.CosineAnnealingWarmRestarts(opt, T_0=5),
        "warm-mult": lambda: s.CosineAnnealingWarmRestarts(opt, 3, T_mult=2, eta_min=0.001),
        "cyclic": lambda: s.CyclicLR(opt, 0.01, 0.1, step_size_up=4),
        "cyclic-2": lambda: s.CyclicLR(
            opt, [0.01, 0.02], [0.1, 0.3], 3, step_size_down=5, mode="triangular2"
        ),
        "cyclic-exp": lambda: s.CyclicLR(
            opt, 0.01, 0.1, 4, mode="exp_range", gamma=0.9, base_momentum=[0.7, 0.75]
        ),
        "cyclic-fn": lambda: s.CyclicLR(
            opt, 0.01, 0.1, 5, scale_fn=lambda x: 1.0 / (x + 1), scale_mode="iterations"
        ),
        "cyclic-object": lambda: s.CyclicLR(opt, 0.01, 0.1, 3, scale_fn=Halving()),
        "cyclic-no-momentum": lambda: s.CyclicLR(opt, 0.01, 0.1, 3, cycle_momentum=False),
        "sequential": lambda: s.SequentialLR(
            opt, [s.ConstantLR(opt, factor=0.1, total_iters=8), s.ExponentialLR(opt, 0.9)], [6]
        ),
        "sequential-3": lambda: s.SequentialLR(
            opt,
            [
                s.LinearLR(opt, start_factor=0.2, total_iters=5),
                s.CosineAnnealingLR(opt, T_max=10, eta_min=0.002),
                s.StepLR(opt, 4, gamma=0.5),
            ],
            milestones=[5, 15],
        ),
        "chained": lambda: s.ChainedScheduler(
            [s.ConstantLR(opt, factor=0.1, total_iters=10), s.ExponentialLR(opt, gamma=0.9)]
        ),
        "chained-opt": lambda: s.ChainedScheduler(
            [s.LinearLR(opt, 0.5, total_iters=6), s.MultiStepLR(opt, [3, 9], 0.5)], opt
        ),
        "sequential-in-chained": lambda: s.ChainedScheduler(
            [
                s.SequentialLR(
                    opt, [s.ConstantLR(opt, 0.5, total_iters=3), s.StepLR(opt, 2, 0.8)], [4]
                ),
                s.ExponentialLR(opt, 0.95),
            ]
        ),
        "polynomial": lambda: s.PolynomialLR(opt, total_iters=12, power=0.5),
    }
    return builders[key]()


KEYS = [
    "warm",
    "warm-mult",
    "cyclic",
    "cyclic-2",
    "cyclic-exp",
    "cyclic-fn",
    "cyclic-object",
    "cyclic-no-momentum",
    "sequential",
    "sequential-3",
    "chained",
    "chained-opt",
    "sequential-in-chained",
    "polynomial",
]


def _momenta(opt):
    return [g.get("momentum", g.get("betas")) for g in opt.param_groups]


def _trace(lib, key, opt_name="SGD", steps=STEPS):
    opt = _optimizer(lib, opt_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler = _build(lib, key, opt)
        trace = [(scheduler.get_last_lr(), _momenta(opt), getattr(scheduler, "last_epoch", None))]
        for _ in range(steps):
            opt.step()
            scheduler.step()
            trace.append(
                (scheduler.get_last_lr(), _momenta(opt), getattr(scheduler, "last_epoch", None))
            )
            assert [g["lr"] for g in opt.param_groups] == trace[-1][0]
    return trace, [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_lr_and_momentum_sequences_and_warnings_match_torch(key, opt_name):
    want = _trace(torch, key, opt_name)
    got = _trace(glassgrad, key, opt_name)
    assert got[0] == want[0]  # same formulas in the same order: bit-identical floats
    assert got[1] == want[1]


def test_scheduler_stepped_before_optimizer_warns_like_torch():
    def run(lib, key):
        opt = _optimizer(lib)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scheduler = _build(lib, key, opt)
            scheduler.step()
            scheduler.step()
        return [str(w.message) for w in caught]

    for key in ("warm", "cyclic", "sequential", "chained"):
        assert run(glassgrad, key) == run(torch, key), key


EPOCHS = [0.5, 1.0, 2.25, 7, 3, 12.5, 26, None, None, 40.75, None, 2]


@pytest.mark.parametrize("t_mult", [1, 2, 3])
def test_warm_restarts_fractional_and_interleaved_epochs(t_mult):
    traces = []
    for lib in (torch, glassgrad):
        opt = _optimizer(lib)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 4, t_mult, 0.005)
        trace = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch in EPOCHS:
                opt.step()
                scheduler.step(epoch)
                trace.append((scheduler.get_last_lr(), scheduler.T_cur, scheduler.T_i))
                trace.append(getattr(scheduler, "last_epoch", None))
        traces.append((trace, [str(w.message) for w in caught]))
    assert traces[1] == traces[0]


@pytest.mark.parametrize("key", KEYS)
def test_state_dict_keys_match_torch(key):
    def keys(state):
        if isinstance(state, dict):
            return {k: keys(v) if k == "_schedulers" else None for k, v in state.items()}
        return [keys(s) for s in state]

    def saved(lib):
        opt = _optimizer(lib)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler = _build(lib, key, opt)
            for _ in range(3):
                opt.step()
                scheduler.step()
        return scheduler.state_dict()

    want, got = saved(torch), saved(glassgrad)
    assert keys(got) == keys(want)
    if "_scale_fn_custom" in want:
        assert got["_scale_fn_custom"] == want["_scale_fn_custom"]


@pytest.mark.parametrize("key", KEYS)
def test_state_dict_round_trip(key):
    opt = _optimizer(glassgrad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = _build(glassgrad, key, opt)
        for _ in range(11):
            opt.step()
            scheduler.step()
        saved_opt, saved = copy.deepcopy(opt.state_dict()), copy.deepcopy(scheduler.state_dict())
        resumed_opt = _optimizer(glassgrad)
        resumed = _build(glassgrad, key, resumed_opt)
        resumed_opt.load_state_dict(saved_opt)
        resumed.load_state_dict(saved)
        for _ in range(15):
            for o, s in ((opt, scheduler), (resumed_opt, resumed)):
                o.step()
                s.step()
            assert resumed.get_last_lr() == scheduler.get_last_lr()
            assert _momenta(resumed_opt) == _momenta(opt)


def test_cyclic_state_dict_restores_a_callable_objects_state():
    opt = _optimizer(glassgrad)
    fn = Halving()
    scheduler = glassgrad.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, 3, scale_fn=fn)
    state = scheduler.state_dict()
    assert state["_scale_fn_custom"] == {"base": 0.5}
    fn.base = 0.9
    scheduler.load_state_dict(state)
    assert fn.base == 0.5


def _error(lib, action):
    with pytest.raises(Exception) as info:
        action(lib)
    return type(info.value).__name__, str(info.value)


def _s(lib):
    return lib.optim.lr_scheduler


def _other_optimizer_sequence(lib):
    opt, other = _optimizer(lib), _optimizer(lib)
    s = _s(lib)
    return s.SequentialLR(opt, [s.StepLR(opt, 2), s.StepLR(other, 2)], [3])


ERRORS = {
    "warm_t0_zero": lambda lib: _s(lib).CosineAnnealingWarmRestarts(_optimizer(lib), 0),
    "warm_t0_float": lambda lib: _s(lib).CosineAnnealingWarmRestarts(_optimizer(lib), 2.0),
    "warm_t_mult": lambda lib: _s(lib).CosineAnnealingWarmRestarts(_optimizer(lib), 2, 0),
    "warm_t_mult_float": lambda lib: _s(lib).CosineAnnealingWarmRestarts(_optimizer(lib), 2, 1.5),
    "warm_eta_min": lambda lib: _s(lib).CosineAnnealingWarmRestarts(_optimizer(lib), 2, 1, "0"),
    "warm_negative_epoch": lambda lib: (
        _s(lib).CosineAnnealingWarmRestarts(_optimizer(lib), 2).step(-1)
    ),
    "cyclic_mode": lambda lib: _s(lib).CyclicLR(_optimizer(lib), 0.01, 0.1, mode="saw"),
    "cyclic_no_momentum": lambda lib: _s(lib).CyclicLR(_optimizer(lib, "Adagrad"), 0.01, 0.1),
    "cyclic_lengths": lambda lib: _s(lib).CyclicLR(_optimizer(lib), [0.01], 0.1),
    "cyclic_max_lengths": lambda lib: _s(lib).CyclicLR(_optimizer(lib), 0.01, [0.1, 0.2, 0.3]),
    "cyclic_not_optimizer": lambda lib: _s(lib).CyclicLR(object(), 0.01, 0.1),
    "sequential_empty": lambda lib: _s(lib).SequentialLR(_optimizer(lib), [], []),
    "sequential_milestones": lambda lib: _s(lib).SequentialLR(
        _optimizer(lib), [_s(lib).StepLR(_optimizer(lib), 2)], [3]
    ),
    "sequential_not_scheduler": lambda lib: _s(lib).SequentialLR(_optimizer(lib), [object()], []),
    "sequential_plateau": lambda lib: (
        lambda opt: _s(lib).SequentialLR(opt, [_s(lib).ReduceLROnPlateau(opt)], [])
    )(_optimizer(lib)),
    "chained_empty": lambda lib: _s(lib).ChainedScheduler([]),
    "chained_plateau": lambda lib: _s(lib).ChainedScheduler(
        [_s(lib).ReduceLROnPlateau(_optimizer(lib))]
    ),
    # PyTorch's ChainedScheduler has no closed form to restart from at a milestone.
    "chained_in_sequential": lambda lib: (
        lambda opt, s: [
            s.SequentialLR(
                opt, [s.StepLR(opt, 2), s.ChainedScheduler([s.StepLR(opt, 3)])], [1]
            ).step()
        ]
    )(_optimizer(lib), _s(lib)),
    "chained_not_scheduler": lambda lib: _s(lib).ChainedScheduler([object()], _optimizer(lib)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _error(torch, ERRORS[case])
        got = _error(glassgrad, ERRORS[case])
    assert got == want


def test_mixed_optimizers_error_matches_torch_up_to_the_optimizer_repr():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _error(torch, _other_optimizer_sequence)
        got = _error(glassgrad, _other_optimizer_sequence)
    assert got[0] == want[0] == "ValueError"
    # The message embeds the optimizer's printout, which depends on its parameters' addresses.
    assert got[1].split(" has ")[0] == want[1].split(" has ")[0]
    assert got[1].endswith("which is different from SGD.") and want[1].endswith(
        "which is different from SGD."
    )


def test_new_schedulers_are_exported_like_torch():
    for name in ("CosineAnnealingWarmRestarts", "CyclicLR", "SequentialLR", "ChainedScheduler"):
        assert name in glassgrad.optim.lr_scheduler.__all__
        assert getattr(glassgrad.optim.lr_scheduler, name).__name__ == name
    assert sorted(glassgrad.optim.lr_scheduler.__all__) == sorted(torch.optim.lr_scheduler.__all__)


def _edge_cases(lib):
    out = []
    opt = lib.optim.SGD([lib.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    s = lib.optim.lr_scheduler
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out.append(s.CosineAnnealingWarmRestarts(opt, 3).get_lr())
        out.append((s.CyclicLR(opt, 0.01, 0.1, 2).get_lr(), opt.param_groups[0]["momentum"]))
    out.append([str(w.message) for w in caught])
    resumed = s.CyclicLR(opt, 0.01, 0.1, 2, last_epoch=5)
    out.append((resumed.get_last_lr(), resumed.last_epoch, opt.param_groups[0]["momentum"]))
    warm = s.CosineAnnealingWarmRestarts(opt, 3, 2, last_epoch=7)
    out.append((warm.get_last_lr(), warm.T_cur, warm.T_i))
    # A Tensor lr is updated in place and reported as copies.
    opt = lib.optim.SGD([lib.tensor([1.0], requires_grad=True)], lr=lib.tensor(0.1), momentum=0.9)
    cyclic = s.CyclicLR(opt, lib.tensor(0.01), 0.1, 2)
    for _ in range(5):
        opt.step()
        cyclic.step()
        out.append([(type(x).__name__, float(x)) for x in cyclic.get_last_lr()])
    return out


def test_get_lr_warning_resuming_and_tensor_lrs_match_torch():
    assert _edge_cases(glassgrad) == _edge_cases(torch)
