"""Inference tensors outside ``inference_mode`` (issue 11), against PyTorch.

PyTorch refuses to write into them in place, to save them for backward, to make them require
grad (also as a ``Parameter``); their views are inference tensors too, and their ``detach()``
and ``.data`` are inference tensors that keep a version counter and may be written.
"""

from __future__ import annotations

import pytest

from views_outcome import check

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def _inference(t):
    with t.inference_mode():
        return t.ones(3)


def _weight(t):
    return t.ones(3, requires_grad=True)


# -- inference tensors ----------------------------------------------------------------------
@case
def view_of_inference_tensor(t):
    with t.inference_mode():
        x = t.ones(3)
    v = x[:2]
    return v, v.is_inference(), x.split(2)[0].is_inference(), x.view(3).is_inference()


@case
def view_of_inference_tensor_in_place(t):
    with t.inference_mode():
        x = t.ones(3)
    x[:2].mul_(2)


@case
def view_of_inference_tensor_version(t):
    with t.inference_mode():
        x = t.ones(3)
    return x[:2]._version


@case
def view_of_inference_tensor_requires_grad(t):
    with t.inference_mode():
        x = t.ones(3)
    return x.view(3).requires_grad_()


@case
def inference_tensor_in_place_outside(t):
    with t.inference_mode():
        x = t.ones(3)
    x.mul_(2)


@case
def inference_tensor_in_place_with_grad_value(t):
    with t.inference_mode():
        x = t.ones(3)
    x.mul_(t.ones(3, requires_grad=True))


@case
def inference_tensor_in_place_inside(t):
    with t.inference_mode():
        x = t.ones(3)
    with t.inference_mode():
        x.mul_(2)
        x[:2].add_(1)
    return x


@case
def inference_tensor_addcmul_factors_not_saved(t):
    x = _inference(t)
    w = t.ones(3, requires_grad=True)
    out = t.addcmul(w, x, x)
    out.sum().backward()
    return out, w.grad


@case
def inference_tensor_addcmul_factor_saved(t):
    return t.addcmul(_inference(t), t.ones(3, requires_grad=True), _inference(t))


# -- saved for backward: refused where PyTorch saves the inference tensor ------------------
SAVING = {
    "mul": lambda t: _weight(t) * _inference(t),
    "div_by": lambda t: _weight(t) / _inference(t),
    "div_of": lambda t: _inference(t) / _weight(t),
    "pow_base": lambda t: _weight(t) ** _inference(t),
    "pow_exponent": lambda t: _inference(t) ** _weight(t),
    "atan2": lambda t: t.atan2(_weight(t), _inference(t)),
    "maximum": lambda t: t.maximum(_weight(t), _inference(t)),
    "matmul": lambda t: _weight(t) @ _inference(t),
    "linear_input": lambda t: t.nn.functional.linear(_inference(t)[None], _weight(t)[None]),
    "linear_weight": lambda t: t.nn.functional.linear(_weight(t)[None], _inference(t)[None]),
    "hypot_other": lambda t: t.hypot(_weight(t), _inference(t)),
    "lerp_weight": lambda t: t.lerp(_weight(t), _weight(t), _inference(t)),
    "lerp_end": lambda t: t.lerp(_weight(t), _inference(t), 0.5),
    "addcdiv": lambda t: t.addcdiv(_weight(t), _inference(t), _inference(t)),
    "add": lambda t: _weight(t) + _inference(t),
    "cat": lambda t: t.cat([_weight(t), _inference(t)]),
    "mse_loss": lambda t: t.nn.functional.mse_loss(_weight(t), _inference(t)),
    "where": lambda t: t.where(_inference(t) > 0, _weight(t), _inference(t)),
    "masked_fill": lambda t: _weight(t).masked_fill(_inference(t) > 0, 1.0),
    "index_select": lambda t: _weight(t).index_select(0, _inference(t).long()),
}
CASES.update({f"saving_{name}": fn for name, fn in SAVING.items()})


# -- in place, requires_grad, detach -------------------------------------------------------
@case
def in_place_restrides_refused(t):
    outcomes = []
    for write in (
        lambda x: x.unsqueeze_(0),
        lambda x: x.t_(),
        lambda x: x.squeeze_(),
        lambda x: x.resize_(2),
        lambda x: x[None].transpose_(0, 1),
        lambda x: x.zero_(),
        lambda x: x.copy_(t.zeros(3)),
        lambda x: x.__setitem__(0, 1.0),
    ):
        try:
            write(_inference(t))
            outcomes.append("ok")
        except RuntimeError as exc:
            outcomes.append(str(exc))
    return outcomes


@case
def parameter_of_inference_tensor(t):
    return t.nn.Parameter(_inference(t))


@case
def parameter_of_inference_tensor_without_grad(t):
    p = t.nn.Parameter(_inference(t), requires_grad=False)
    return p.is_inference(), p.requires_grad


@case
def detach_and_data_of_inference_tensor(t):
    x = _inference(t)
    d = x.detach()
    d.mul_(2)
    x.data.add_(1)
    return x, d.is_inference(), x.data.is_inference(), d._version, x.data._version


@case
def view_of_detached_inference_tensor_in_place(t):
    _inference(t).detach()[:1].mul_(2)


@case
def detached_inference_tensor_requires_grad(t):
    _inference(t).detach().requires_grad_()


@case
def module_output_in_inference_mode(t):
    layer = t.nn.Linear(3, 2)
    with t.inference_mode():
        out = layer(t.ones(2, 3))
    return out.is_inference(), out.requires_grad, out * t.ones(2, requires_grad=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    check(CASES[name])
