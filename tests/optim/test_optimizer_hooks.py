"""Optimizer hooks (global and per optimizer, step and state dict) and the helpers of
``torch.optim.optimizer`` that third-party optimizers import, against PyTorch 2.13."""

import importlib

import numpy as np
import pytest
import torch

import glassgrad


def _module(lib):
    return importlib.import_module(f"{lib.__name__}.optim.optimizer")


def _events(lib):
    """Which hooks run, in which order, with which arguments, around a subclass's own step."""
    events = []
    mod = _module(lib)

    class Sign(lib.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @lib.no_grad()
        def step(self, closure=None, scale=1.0):
            events.append(("step", scale))
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(p.grad.sign(), alpha=-group["lr"] * scale)

    p = lib.tensor([1.0, -2.0], requires_grad=True)
    opt = Sign([p])
    handles = [
        mod.register_optimizer_step_pre_hook(
            lambda o, a, k: events.append(("global pre", a[1:], k))
        ),
        mod.register_optimizer_step_post_hook(
            lambda o, a, k: events.append(("global post", a[1:], k))
        ),
        opt.register_step_pre_hook(lambda o, a, k: events.append(("pre", a[1:], k))),
        opt.register_step_post_hook(lambda o, a, k: events.append(("post", a[1:], k))),
    ]
    try:
        p.grad = lib.tensor([0.5, -0.5])
        opt.step(scale=2.0)
        handle = opt.register_step_pre_hook(lambda o, a, k: (a, {"scale": 3.0}))
        opt.step()
        handle.remove()
        handles[0].remove()
        opt.step()
    finally:
        for h in handles:
            h.remove()
    opt.step()
    return events, p.tolist()


def test_step_hooks_wrap_every_step_as_in_torch():
    assert _events(glassgrad) == _events(torch)


def test_hooks_run_around_builtin_and_lbfgs_steps():
    for name, kwargs in (("SGD", {"lr": 0.1}), ("LBFGS", {"max_iter": 2}), ("NAdam", {})):
        calls = []
        for lib in (torch, glassgrad):
            p = lib.tensor([1.0, 2.0], requires_grad=True)
            opt = getattr(lib.optim, name)([p], **kwargs)
            opt.register_step_pre_hook(lambda o, a, k, c=calls: c.append(("pre", len(a), k)))
            opt.register_step_post_hook(lambda o, a, k, c=calls: c.append(("post", len(a), k)))

            def closure(p=p, opt=opt):
                opt.zero_grad()
                loss = (p * p).sum()
                loss.backward()
                return loss

            opt.step(closure)
        assert calls[: len(calls) // 2] == calls[len(calls) // 2 :]


def test_bad_pre_hook_result_is_refused():
    for lib in (torch, glassgrad):
        p = lib.tensor([1.0], requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        opt.register_step_pre_hook(lambda o, a, k: 5)
        with pytest.raises(RuntimeError, match="must return None or a tuple of"):
            opt.step()


def _state_dict_hooks(lib):
    events = []
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    opt = lib.optim.Adam([p], lr=0.1)
    p.grad = lib.tensor([1.0, 1.0])
    opt.step()
    opt.register_state_dict_pre_hook(lambda o: events.append("pre"))
    opt.register_state_dict_pre_hook(lambda o: events.append("first pre"), prepend=True)

    def post(o, sd):
        events.append("post")
        sd["extra"] = 1
        return sd

    opt.register_state_dict_post_hook(post)

    def load_pre(o, sd):
        events.append(("load pre", sorted(sd)))
        sd = dict(sd)
        sd.pop("extra")
        sd["param_groups"][0]["lr"] = 0.5
        return sd

    opt.register_load_state_dict_pre_hook(load_pre)
    opt.register_load_state_dict_post_hook(lambda o: events.append("load post"))
    saved = opt.state_dict()
    opt.load_state_dict(saved)
    events.append(opt.param_groups[0]["lr"])
    return events


def test_state_dict_hooks_as_torch():
    assert _state_dict_hooks(glassgrad) == _state_dict_hooks(torch)


def _groups(lib):
    a = [lib.ones(2), lib.ones(2, dtype=lib.float64), lib.ones(3)]
    b = [lib.zeros(2), lib.zeros(2, dtype=lib.float64), None]
    out = {}
    for with_indices in (False, True):
        grouped = lib.optim.Optimizer._group_tensors_by_device_and_dtype([a, b], with_indices)
        out[with_indices] = {
            (str(device), str(dtype)): (
                [[None if t is None else tuple(t.shape) for t in ts] for ts in lists],
                indices,
            )
            for (device, dtype), (lists, indices) in grouped.items()
        }
    return out


def test_group_tensors_by_device_and_dtype():
    assert _groups(glassgrad) == _groups(torch)


def test_module_helpers_as_torch():
    for lib in (torch, glassgrad):
        mod = _module(lib)
        assert mod._get_capturable_supported_devices() == [
            "cuda",
            "xpu",
            "hpu",
            "privateuseone",
            "xla",
        ]
        assert mod._get_capturable_supported_devices(supports_xla=False)[-1] == "privateuseone"
        params = [lib.ones(2), lib.ones(2, dtype=lib.float64)]
        assert mod._default_to_fused_or_foreach(params, False) == (False, False)
        assert mod._default_to_fused_or_foreach(params, False, use_fused=True) == (True, False)
        assert mod._default_to_fused_or_foreach(params, True, use_fused=True) == (False, False)
        assert mod._get_value(lib.tensor(2.5)) == 2.5 and mod._get_value(3) == 3
        assert str(mod._get_scalar_dtype()).endswith("float32")
        assert mod._stack_if_compiling([1]) == [1]
        assert mod._to_scalar(lib.tensor([2.0])).dim() == 0
        assert mod.ParamsT is not None and mod.StateDict is not None
        with pytest.raises(RuntimeError, match="fused=True"):
            mod._device_dtype_check_for_fused(lib.ones(2, dtype=lib.int64))


def _grad_modes(lib):
    seen = []

    class Probe(lib.optim.Optimizer):
        @_module(lib)._use_grad_for_differentiable
        def step(self, closure=None):
            seen.append(lib.is_grad_enabled())

    p = lib.tensor([1.0], requires_grad=True)
    with lib.no_grad():
        Probe([p], {"differentiable": True}).step()
    Probe([p], {"differentiable": False}).step()
    return seen, lib.is_grad_enabled()


def test_use_grad_for_differentiable_follows_the_flag():
    assert _grad_modes(glassgrad) == _grad_modes(torch) == ([True, False], True)


def _lion(lib):
    """An optimizer written as third-party code writes them (foreach ops, the helpers)."""
    mod = _module(lib)

    class Lion(lib.optim.Optimizer):
        def __init__(self, params, lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1):
            super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

        @lib.no_grad()
        def step(self, closure=None):
            self._cuda_graph_capture_health_check()
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                grads = [p.grad for p in params]
                avgs = []
                for p in params:
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = lib.tensor(0.0, dtype=mod._get_scalar_dtype())
                        state["exp_avg"] = lib.zeros_like(p)
                    state["step"] += 1
                    avgs.append(state["exp_avg"])
                beta1, beta2 = group["betas"]
                lib._foreach_mul_(params, 1 - group["lr"] * group["weight_decay"])
                updates = lib._foreach_lerp(avgs, grads, 1 - beta1)
                lib._foreach_add_(params, lib._foreach_sign(updates), alpha=-group["lr"])
                lib._foreach_lerp_(avgs, grads, 1 - beta2)

    rng = np.random.default_rng(0)
    params = [lib.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (2,)]]
    opt = Lion(params)
    for _ in range(10):
        opt.zero_grad()
        sum(((p - 0.3) ** 2).sum() for p in params).backward()
        opt.step()
    state = opt.state_dict()["state"]
    return [p.detach().numpy() for p in params], float(state[0]["step"])


def test_timm_style_optimizer_subclass_matches_torch():
    want, got = _lion(torch), _lion(glassgrad)
    for w, g in zip(want[0], got[0], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert want[1] == got[1] == 10.0
