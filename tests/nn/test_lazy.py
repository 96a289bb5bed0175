"""Lazy modules against PyTorch: placeholders (UninitializedParameter/Buffer), their printout,
state dict and errors; materialisation on the first forward into the eager class; loading a
checkpoint into a module still lazy; optimizers made before the first forward; forward values and
gradients (input included) once the same weights are loaded."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch

import glassgrad

RNG = np.random.default_rng(5)

LAZY = {
    "Linear": (lambda nn: nn.LazyLinear(4), (2, 3, 5)),
    "Linear_nobias": (lambda nn: nn.LazyLinear(4, bias=False), (5,)),
    "Conv1d": (lambda nn: nn.LazyConv1d(4, 3), (2, 3, 7)),
    "Conv2d": (lambda nn: nn.LazyConv2d(4, 3, stride=2, padding=1, bias=False), (2, 3, 7, 7)),
    "Conv3d": (lambda nn: nn.LazyConv3d(4, 2, groups=2), (2, 4, 4, 4, 4)),
    "ConvTranspose1d": (lambda nn: nn.LazyConvTranspose1d(4, 3), (2, 3, 7)),
    "ConvTranspose2d": (
        lambda nn: nn.LazyConvTranspose2d(4, 3, stride=2, output_padding=1),
        (3, 5, 5),
    ),
    "ConvTranspose3d": (lambda nn: nn.LazyConvTranspose3d(4, 2, groups=2), (1, 4, 3, 3, 3)),
    "BatchNorm1d": (lambda nn: nn.LazyBatchNorm1d(), (4, 3)),
    "BatchNorm2d": (lambda nn: nn.LazyBatchNorm2d(affine=False), (2, 3, 4, 4)),
    "BatchNorm3d": (lambda nn: nn.LazyBatchNorm3d(momentum=None), (2, 3, 2, 2, 2)),
    "InstanceNorm1d": (lambda nn: nn.LazyInstanceNorm1d(), (2, 3, 5)),
    "InstanceNorm2d": (
        lambda nn: nn.LazyInstanceNorm2d(track_running_stats=False),
        (2, 3, 4, 4),
    ),
    "InstanceNorm3d": (lambda nn: nn.LazyInstanceNorm3d(affine=False), (2, 3, 2, 2, 2)),
}


def _text(value) -> str:
    return repr(value).replace("glassgrad", "torch")


def _describe(module):
    state = module.state_dict()
    return (
        type(module).__name__,
        repr(module),
        list(state),
        [
            _text(v) if type(v).__name__.startswith("Uninit") else tuple(v.shape)
            for v in state.values()
        ],
        [type(p).__name__ for p in module.parameters()],
        [type(b).__name__ for b in module.buffers()],
    )


@pytest.mark.parametrize("case", list(LAZY))
def test_lazy_module_lifecycle_matches_torch(case):
    ctor, shape = LAZY[case]
    x = RNG.standard_normal(shape).astype(np.float32)
    modules = {lib: ctor(lib.nn) for lib in (torch, glassgrad)}
    assert _describe(modules[glassgrad]) == _describe(modules[torch])
    assert modules[glassgrad].has_uninitialized_params()
    outs = {lib: m(lib.tensor(x)) for lib, m in modules.items()}
    assert _describe(modules[glassgrad]) == _describe(modules[torch])
    assert not hasattr(modules[glassgrad], "_initialize_hook")
    assert tuple(outs[glassgrad].shape) == tuple(outs[torch].shape)


@pytest.mark.parametrize("case", list(LAZY))
def test_values_and_gradients_match_torch_with_the_same_weights(case):
    ctor, shape = LAZY[case]
    x = RNG.standard_normal(shape)
    t_mod, g_mod = ctor(torch.nn).double(), ctor(glassgrad.nn).double()
    t_mod(torch.tensor(x)), g_mod(glassgrad.tensor(x))  # materialise (and one training step)
    g_mod.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    t_x, g_x = torch.tensor(x, requires_grad=True), glassgrad.tensor(x, requires_grad=True)
    t_out, g_out = t_mod(t_x), g_mod(g_x)
    np.testing.assert_allclose(
        g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    seed = RNG.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(seed))
    g_out.backward(glassgrad.tensor(seed))
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, t_p), (g_name, g_p) in zip(
        t_mod.named_parameters(), g_mod.named_parameters(), strict=True
    ):
        assert name == g_name
        np.testing.assert_allclose(g_p.grad.numpy(), t_p.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, t_b), (_, g_b) in zip(t_mod.named_buffers(), g_mod.named_buffers(), strict=True):
        np.testing.assert_allclose(g_b.numpy(), t_b.numpy(), rtol=1e-10, err_msg=name)


EAGER = {
    "Linear": (lambda nn: nn.LazyLinear(4), lambda nn: nn.Linear(3, 4), (2, 3)),
    "Conv2d": (lambda nn: nn.LazyConv2d(4, 3), lambda nn: nn.Conv2d(2, 4, 3), (1, 2, 5, 5)),
    "ConvTranspose1d": (
        lambda nn: nn.LazyConvTranspose1d(4, 3, groups=2),
        lambda nn: nn.ConvTranspose1d(2, 4, 3, groups=2),
        (1, 2, 5),
    ),
    "BatchNorm1d": (lambda nn: nn.LazyBatchNorm1d(), lambda nn: nn.BatchNorm1d(3), (2, 3)),
}


@pytest.mark.parametrize("case", list(EAGER))
def test_initialisation_is_the_eager_layers_under_the_same_seed(case):
    lazy, eager, shape = EAGER[case]
    for lib in (torch, glassgrad):  # PyTorch's own property, and glassgrad's
        x = lib.zeros(shape)
        lib.manual_seed(3)
        want = eager(lib.nn).state_dict()
        lib.manual_seed(3)
        module = lazy(lib.nn).eval()  # (training would update the running statistics)
        module(x)
        got = module.state_dict()
        assert list(got) == list(want)
        for key in want:
            np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())


def _outcome(call):
    try:
        return ("ok", _text(call()))
    except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
        return (type(exc).__name__, re.sub(" at 0x[0-9a-f]+", "", str(exc)))


PLACEHOLDER = {
    "repr": lambda nn: nn.LazyLinear(4).weight,
    "shape": lambda nn: nn.LazyLinear(4).weight.shape,
    "size": lambda nn: nn.LazyLinear(4).weight.size(),
    "numel": lambda nn: nn.LazyLinear(4).weight.numel(),
    "dim": lambda nn: nn.LazyLinear(4).weight.dim(),
    "add": lambda nn: nn.LazyLinear(4).weight + 1,
    "dtype": lambda nn: nn.LazyLinear(4, dtype=nn.Linear(1, 1).weight.dtype).weight.dtype,
    "flags": lambda nn: (nn.LazyLinear(4).weight.requires_grad, nn.LazyLinear(4).weight.is_leaf),
    "grad": lambda nn: nn.LazyLinear(4).weight.grad,
    "share_memory": lambda nn: nn.LazyLinear(4).weight.share_memory_(),
    "buffer": lambda nn: nn.parameter.UninitializedBuffer(),
    "buffer_flags": lambda nn: nn.parameter.UninitializedBuffer(requires_grad=True).requires_grad,
    "param_no_grad": lambda nn: nn.UninitializedParameter(requires_grad=False).requires_grad,
    "is_parameter": lambda nn: isinstance(nn.LazyLinear(4).weight, nn.Parameter),
    "is_lazy": lambda nn: nn.parameter.is_lazy(nn.LazyLinear(4).weight),
    "double": lambda nn: nn.LazyLinear(4).double().weight,
    "double_dtype": lambda nn: str(nn.LazyBatchNorm1d().double().running_var.dtype),
    "count": lambda nn: sum(p.numel() for p in nn.LazyLinear(4).parameters()),
    "deepcopy_param": lambda nn: copy.deepcopy(nn.LazyLinear(4)),
    "deepcopy_buffer": lambda nn: copy.deepcopy(nn.LazyBatchNorm1d()),
    "conv_rank": lambda nn: nn.LazyConv2d(4, 3)(nn.Flatten()(nn.Identity()(_zeros(nn, 3, 3)))),
    "conv_groups": lambda nn: nn.LazyConv2d(4, 3, groups=2)(_zeros(nn, 1, 3, 5, 5)),
    # PyTorch takes num_features from size(1) even of an unbatched input
    "instance_unbatched": lambda nn: nn.LazyInstanceNorm2d()(_zeros(nn, 3, 4, 4)),
    "bn_rank": lambda nn: nn.LazyBatchNorm2d()(_zeros(nn, 2, 3, 4)),
    "linear_after_load": lambda nn: _loaded_linear(nn)(_zeros(nn, 2, 5)),
    "eager_from_lazy": lambda nn: nn.Linear(3, 4).load_state_dict(nn.LazyLinear(4).state_dict()),
    "lazy_from_lazy": lambda nn: nn.LazyLinear(4).load_state_dict(nn.LazyLinear(4).state_dict()),
    "mixin_name": lambda nn: nn.modules.lazy.LazyModuleMixin.__name__,
    "instance_not_batchnorm": lambda nn: isinstance(
        nn.LazyInstanceNorm1d(), nn.modules.batchnorm._BatchNorm
    ),
    "batchnorm_base": lambda nn: isinstance(nn.InstanceNorm1d(3), nn.modules.batchnorm._NormBase),
}


def _zeros(nn, *shape):
    return (torch if nn is torch.nn else glassgrad).zeros(*shape)


def _loaded_linear(nn):
    module = nn.LazyLinear(4)
    module.load_state_dict(nn.Linear(3, 4).state_dict())
    return module


@pytest.mark.parametrize("case", list(PLACEHOLDER))
def test_placeholders_and_errors_match_torch(case):
    assert _outcome(lambda: PLACEHOLDER[case](glassgrad.nn)) == _outcome(
        lambda: PLACEHOLDER[case](torch.nn)
    )


@pytest.mark.parametrize("lib", [torch, glassgrad], ids=["torch", "glassgrad"])
def test_checkpoint_into_a_lazy_module(lib):
    """A state dict gives the placeholders their shapes; the first forward then only converts."""
    source = lib.nn.Sequential(lib.nn.Conv2d(2, 4, 3), lib.nn.BatchNorm2d(4), lib.nn.Flatten())
    with lib.no_grad():
        source[1].running_mean.fill_(0.5)
    target = lib.nn.Sequential(lib.nn.LazyConv2d(4, 3), lib.nn.LazyBatchNorm2d(), lib.nn.Flatten())
    assert str(target.load_state_dict(source.state_dict())) == "<All keys matched successfully>"
    assert type(target[0]).__name__ == "LazyConv2d" and tuple(target[0].weight.shape) == (
        4,
        2,
        3,
        3,
    )
    source.eval(), target.eval()
    x = lib.ones(1, 2, 5, 5)
    np.testing.assert_array_equal(target(x).detach().numpy(), source(x).detach().numpy())
    assert [type(m).__name__ for m in target] == ["Conv2d", "BatchNorm2d", "Flatten"]
    assert (target[0].in_channels, target[1].num_features) == (0, 0)  # as PyTorch leaves them


def _train_lazy(lib, name, x, weights):
    """Make the optimizer first, materialise, load ``weights`` (if any), take three steps."""
    model = lib.nn.Sequential(lib.nn.LazyLinear(5), lib.nn.Tanh(), lib.nn.LazyLinear(1))
    opt = getattr(lib.optim, name)(model.parameters(), lr=0.1)
    inputs = lib.tensor(x, dtype=lib.float32)
    model(inputs)
    assert opt.param_groups[0]["params"][0] is model[0].weight
    if weights is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    start = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    for _ in range(3):
        opt.zero_grad()
        loss = (model(inputs) ** 2).mean()
        loss.backward()
        opt.step()
    return start, float(loss.detach()), {k: v.numpy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_optimizer_made_before_the_first_forward(name):
    x = RNG.standard_normal((4, 3))
    start, t_loss, t_state = _train_lazy(torch, name, x, None)
    _, g_loss, g_state = _train_lazy(glassgrad, name, x, start)
    assert g_loss == pytest.approx(t_loss, rel=1e-5)
    for key, value in t_state.items():
        np.testing.assert_allclose(g_state[key], value, rtol=1e-5, atol=1e-6)
