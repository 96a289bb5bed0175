"""``optim.swa_utils`` (AveragedModel, SWALR, update_bn, the averaging functions) and
``lr_scheduler._LRScheduler`` against PyTorch 2.13."""

import numpy as np
import pytest
import torch

import glassgrad


def _model(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2))
    return model.double()


def _same_weights(ours, theirs):
    with glassgrad.no_grad():
        for name, value in theirs.state_dict().items():
            ours.state_dict()[name].copy_(glassgrad.tensor(value.numpy()))


def _train_and_average(lib, model, make_averaged, steps=6):
    averaged = make_averaged(lib, model)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = lib.tensor(rng.standard_normal((8, 3)))
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        averaged.update_parameters(model)
    out = averaged(lib.tensor(np.random.default_rng(5).standard_normal((4, 3))))
    return averaged, out


AVERAGERS = {
    "swa": lambda lib, m: lib.optim.swa_utils.AveragedModel(m),
    "ema_multi_buffers": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.9), use_buffers=True
    ),
    "ema_single": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, avg_fn=lib.optim.swa_utils.get_ema_avg_fn(0.8)
    ),
    "swa_multi": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn()
    ),
    "swa_single": lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, avg_fn=lib.optim.swa_utils.get_swa_avg_fn()
    ),
}


@pytest.mark.parametrize("kind", sorted(AVERAGERS))
def test_averaged_model_matches_torch(kind):
    theirs = _model(torch)
    ours = _model(glassgrad)
    _same_weights(ours, theirs)
    want, want_out = _train_and_average(torch, theirs, AVERAGERS[kind])
    got, got_out = _train_and_average(glassgrad, ours, AVERAGERS[kind])
    np.testing.assert_allclose(got_out.detach().numpy(), want_out.detach().numpy(), rtol=1e-10)
    want_state, got_state = want.state_dict(), got.state_dict()
    assert list(got_state) == list(want_state)
    for name, value in want_state.items():
        assert str(got_state[name].dtype) == str(value.dtype), name
        np.testing.assert_allclose(
            got_state[name].numpy(), value.numpy(), rtol=1e-10, atol=1e-12, err_msg=name
        )


def test_integer_buffers_are_averaged_as_torch():
    results = []
    for lib in (torch, glassgrad):
        model = lib.nn.Module()
        model.register_buffer("count", lib.tensor([10, 20]))
        for make in (
            lambda m, lib=lib: lib.optim.swa_utils.AveragedModel(m, use_buffers=True),
            lambda m, lib=lib: lib.optim.swa_utils.AveragedModel(
                m, use_buffers=True, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.5)
            ),
        ):
            averaged = make(model)
            for value in ([10, 20], [13, 27], [30, 1]):
                model.count.copy_(lib.tensor(value))
                averaged.update_parameters(model)
            results.append(averaged.module.count.tolist())
    assert results[:2] == results[2:]


def test_avg_fn_and_multi_avg_fn_together_is_refused():
    for lib in (torch, glassgrad):
        utils = lib.optim.swa_utils
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            utils.AveragedModel(
                lib.nn.Linear(1, 1), avg_fn=utils.get_swa_avg_fn(), multi_avg_fn=lambda *a: None
            )


@pytest.mark.parametrize("decay", [-0.1, 1.5])
def test_decay_errors_match_torch(decay):
    errors = []
    for lib in (torch, glassgrad):
        for make in (lib.optim.swa_utils.get_ema_avg_fn, lib.optim.swa_utils.get_ema_multi_avg_fn):
            with pytest.raises(ValueError) as info:
                make(decay)
            errors.append(str(info.value))
    assert errors[:2] == errors[2:]


SWALR_CASES = [
    {"swa_lr": 0.05},
    {"swa_lr": 0.05, "anneal_epochs": 3, "anneal_strategy": "linear"},
    {"swa_lr": [0.01, 0.2], "anneal_epochs": 0},
    {"swa_lr": 0.5, "anneal_epochs": 4, "anneal_strategy": "cos"},
]


def _swalr_lrs(lib, kwargs):
    a, b = lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)
    opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=0.1)
    sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
    lrs = [sched.get_last_lr()]
    for _ in range(8):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    state = sched.state_dict()
    return lrs, sorted(state), [g["swa_lr"] for g in opt.param_groups]


@pytest.mark.parametrize("kwargs", SWALR_CASES, ids=str)
def test_swalr_matches_torch(kwargs):
    want, got = _swalr_lrs(torch, kwargs), _swalr_lrs(glassgrad, kwargs)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1:] == want[1:]


def test_swalr_state_dict_round_trip():
    p = glassgrad.zeros(1, requires_grad=True)
    opt = glassgrad.optim.SGD([p], lr=0.1)
    first = glassgrad.optim.swa_utils.SWALR(opt, swa_lr=0.02, anneal_strategy="linear")
    for _ in range(3):
        opt.step()
        first.step()
    resumed = glassgrad.optim.swa_utils.SWALR(opt, swa_lr=0.02)
    resumed.load_state_dict(first.state_dict())
    assert resumed.anneal_func(0.5) == 0.5 and resumed._step_count == first._step_count


@pytest.mark.parametrize(
    "kwargs",
    [{"swa_lr": 0.1, "anneal_strategy": "exp"}, {"swa_lr": 0.1, "anneal_epochs": -1}],
    ids=str,
)
def test_swalr_errors_match_torch(kwargs):
    errors = []
    for lib in (torch, glassgrad):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError) as info:
            lib.optim.swa_utils.SWALR(opt, **kwargs)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_update_bn_matches_torch():
    theirs, ours = _model(torch), _model(glassgrad)
    _same_weights(ours, theirs)
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((5, 3)) for _ in range(4)]
    for lib, model in ((torch, theirs), (glassgrad, ours)):
        model.eval()
        loader = [(lib.tensor(b), 0) for b in batches[:2]] + [lib.tensor(b) for b in batches[2:]]
        lib.optim.swa_utils.update_bn(loader, model)
        assert not model.training and model[1].momentum == 0.1
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(
            ours.state_dict()[name].numpy(), value.numpy(), rtol=1e-10, atol=1e-12, err_msg=name
        )


def test_legacy_lr_scheduler_base_subclasses_as_torch():
    lrs = []
    for lib in (torch, glassgrad):

        class Halving(lib.optim.lr_scheduler._LRScheduler):
            def get_lr(self):
                return [base * 0.5**self.last_epoch for base in self.base_lrs]

        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        sched = Halving(opt)
        for _ in range(3):
            opt.step()
            sched.step()
        lrs.append(sched.get_last_lr())
        assert issubclass(Halving, lib.optim.lr_scheduler.LRScheduler)
    assert lrs[0] == lrs[1] == [0.125]
