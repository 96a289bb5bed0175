# ruff: noqa: E501
"""The executable snippets of the gradient-control semantics spec, with their observed output.

Generated once from the spec document (torch-semantics.md, PyTorch 2.13.0 CPU); this module is
now the fixture. Each case: ``id`` (section + slug), ``code`` (run after the hidden preamble in
``tests/test_semantics.py``), ``output`` (the doc's observed stdout, verbatim, including the
build-specific `` (Triggered internally at ...)`` warning suffixes) and ``needs`` (features beyond
the core that the snippet uses: "nn", "optim", "ops", "rng" for PyTorch-identical random streams).
"""

from typing import NamedTuple


class Case(NamedTuple):
    """One spec snippet and the stdout PyTorch 2.13.0 printed for it."""

    id: str
    code: str
    output: str
    needs: tuple[str, ...] = ()


CASES: list[Case] = [
    Case(
        id="1.1-basic-reprs",
        code="""\
a = torch.tensor(2., requires_grad=True)
print(a)
b = a * 3
print(b)
c = b + 31
print(c)
print(torch.tensor(192.))
print(repr(c) == str(c))
print(type(c.grad_fn).__name__, c.grad_fn.name())
""",
        output="""\
tensor(2., requires_grad=True)
tensor(6., grad_fn=<MulBackward0>)
tensor(37., grad_fn=<AddBackward0>)
tensor(192.)
True
AddBackward0 AddBackward0
""",
    ),
    Case(
        id="1.2-fixed-vs-integer-mode",
        code="""\
print(torch.tensor([1., 2.]))
print(torch.tensor([1.0, 2.5]))
print(torch.tensor(0.1))
print(torch.tensor(1/3))
print(torch.tensor(-1.5))
print(torch.tensor(-0.))
print(torch.tensor([1.5, -20.25]))
print(torch.tensor([-1., 10., 100.]))
print(torch.tensor([[1., 2.], [3., 4.5]]))
print(torch.tensor([[1., 2.], [3., -4.5]]))
print(torch.tensor([1.23456789, 100.]))
print(torch.tensor(123456.7))
""",
        output="""\
tensor([1., 2.])
tensor([1.0000, 2.5000])
tensor(0.1000)
tensor(0.3333)
tensor(-1.5000)
tensor(-0.)
tensor([  1.5000, -20.2500])
tensor([ -1.,  10., 100.])
tensor([[1.0000, 2.0000],
        [3.0000, 4.5000]])
tensor([[ 1.0000,  2.0000],
        [ 3.0000, -4.5000]])
tensor([  1.2346, 100.0000])
tensor(123456.7031)
""",
    ),
    Case(
        id="1.2-scientific-mode",
        code="""\
print(torch.tensor(1e-5))
print(torch.tensor(1e8))
print(torch.tensor(1.5e8))
print(torch.tensor([1000., 1.]))
print(torch.tensor([1001., 1.]))
print(torch.tensor([0.001, 1.]))
print(torch.tensor([0.0001, 1.]))
print(torch.tensor([1e10, 1.]))
print(torch.tensor([[1e-3, 2.], [3., 4.]]))
print(torch.tensor([12345.6789, 1.]))
""",
        output="""\
tensor(1.0000e-05)
tensor(100000000.)
tensor(1.5000e+08)
tensor([1000.,    1.])
tensor([1.0010e+03, 1.0000e+00])
tensor([0.0010, 1.0000])
tensor([1.0000e-04, 1.0000e+00])
tensor([1.0000e+10, 1.0000e+00])
tensor([[1.0000e-03, 2.0000e+00],
        [3.0000e+00, 4.0000e+00]])
tensor([1.2346e+04, 1.0000e+00])
""",
    ),
    Case(
        id="1.2-nonfinite-and-zeros",
        code="""\
print(torch.tensor(float('nan')))
print(torch.tensor([float('nan'), 1.]))
print(torch.tensor([float('nan'), 1.5]))
print(torch.tensor([float('-inf'), 1.5]))
print(torch.tensor([float('inf'), 1.]))
print(torch.tensor([float('nan'), 0.]))
print(torch.tensor([-0., 1.]))
print(torch.zeros(2, 3))
""",
        output="""\
tensor(nan)
tensor([nan, 1.])
tensor([   nan, 1.5000])
tensor([  -inf, 1.5000])
tensor([inf, 1.])
tensor([nan, 0.])
tensor([-0., 1.])
tensor([[0., 0., 0.],
        [0., 0., 0.]])
""",
    ),
    Case(
        id="1.2-int-bool-dtype-suffixes",
        code="""\
print(torch.tensor([1, 2, 3]))
print(torch.tensor(3))
print(torch.tensor([[1, -20], [300, 4]]))
print(torch.tensor([True, False]))
print(torch.tensor([1, 2], dtype=torch.int32))
print(torch.tensor([1., 2.], dtype=torch.float64))
print(torch.tensor(2., dtype=torch.float64, requires_grad=True))
print(torch.tensor([1., 2.], dtype=torch.float64) * torch.tensor(2., dtype=torch.float64, requires_grad=True))
print(torch.tensor(2.5, dtype=torch.float16))
print(torch.ones(3, requires_grad=True))
""",
        output="""\
tensor([1, 2, 3])
tensor(3)
tensor([[  1, -20],
        [300,   4]])
tensor([ True, False])
tensor([1, 2], dtype=torch.int32)
tensor([1., 2.], dtype=torch.float64)
tensor(2., dtype=torch.float64, requires_grad=True)
tensor([2., 4.], dtype=torch.float64, grad_fn=<MulBackward0>)
tensor(2.5000, dtype=torch.float16)
tensor([1., 1., 1.], requires_grad=True)
""",
    ),
    Case(
        id="1.2-empty-tensors",
        code="""\
print(torch.tensor([]))
print(torch.zeros(0, requires_grad=True))
print(torch.zeros(2, 0))
print(torch.tensor([], dtype=torch.int64))
""",
        output="""\
tensor([])
tensor([], requires_grad=True)
tensor([], size=(2, 0))
tensor([], dtype=torch.int64)
""",
    ),
    Case(
        id="1.2-line-and-suffix-wrapping",
        code="""\
print(torch.arange(20.))
print(torch.arange(20.) / 3)
print(torch.arange(12., requires_grad=True) / 7)
print(torch.arange(9., requires_grad=True) / 7)
print(torch.arange(9., dtype=torch.float64).requires_grad_())
print(torch.arange(8.).reshape(2, 2, 2))
print(torch.arange(2000.))
""",
        output="""\
tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,
        14., 15., 16., 17., 18., 19.])
tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,
        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,
        6.0000, 6.3333])
tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,
        1.2857, 1.4286, 1.5714], grad_fn=<DivBackward0>)
tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429],
       grad_fn=<DivBackward0>)
tensor([0., 1., 2., 3., 4., 5., 6., 7., 8.], dtype=torch.float64,
       requires_grad=True)
tensor([[[0., 1.],
         [2., 3.]],

        [[4., 5.],
         [6., 7.]]])
tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,
        1.9990e+03])
""",
    ),
    Case(
        id="1.2-format-fstrings",
        code="""\
t = torch.tensor(2., requires_grad=True)
print(f"{t}", f"{t:.3f}", f"{t:>6}|", "%s" % t)
print(f"{torch.tensor(3)}")
print(f"{torch.tensor([2.])}")
with expect_error():
    f"{torch.tensor([2.]):>8}"
""",
        output="""\
2.0 2.000    2.0| tensor(2., requires_grad=True)
3
tensor([2.])
TypeError: unsupported format string passed to Tensor.__format__
""",
    ),
    Case(
        id="1.3-dtype-promotion",
        code="""\
import numpy as np
exprs = [
    "torch.tensor(2)", "torch.tensor(2.)", "torch.tensor(True)", "torch.tensor([1, 2.])",
    "torch.tensor([1, 2]) / 2", "torch.tensor([1, 2]) // 2", "torch.tensor([1, 2]) * 1.5",
    "torch.tensor([1, 2]) + torch.tensor([1., 2.])", "torch.tensor([True]) + 1",
    "torch.tensor(np.array([1., 2.]))", "torch.from_numpy(np.array([1., 2.]))",
    "torch.tensor(np.array([1, 2]))", "torch.tensor(np.float32(1.))",
    "torch.tensor([1., 2.]) * torch.tensor(2., dtype=torch.float64)",
    "torch.tensor(2.) * torch.tensor([1., 2.], dtype=torch.float64)",
    "torch.tensor([1., 2.]) * np.float64(2.)",
    "torch.arange(3)", "torch.arange(3.)", "torch.zeros(2)", "torch.randn(2)",
    "torch.full((2,), 7)", "torch.full((2,), 7.)", "torch.linspace(0, 1, 3)",
]
for e in exprs:
    print(f"{e:62s} {eval(e).dtype}")
print(torch.get_default_dtype())
""",
        output="""\
torch.tensor(2)                                                torch.int64
torch.tensor(2.)                                               torch.float32
torch.tensor(True)                                             torch.bool
torch.tensor([1, 2.])                                          torch.float32
torch.tensor([1, 2]) / 2                                       torch.float32
torch.tensor([1, 2]) // 2                                      torch.int64
torch.tensor([1, 2]) * 1.5                                     torch.float32
torch.tensor([1, 2]) + torch.tensor([1., 2.])                  torch.float32
torch.tensor([True]) + 1                                       torch.int64
torch.tensor(np.array([1., 2.]))                               torch.float64
torch.from_numpy(np.array([1., 2.]))                           torch.float64
torch.tensor(np.array([1, 2]))                                 torch.int64
torch.tensor(np.float32(1.))                                   torch.float32
torch.tensor([1., 2.]) * torch.tensor(2., dtype=torch.float64) torch.float32
torch.tensor(2.) * torch.tensor([1., 2.], dtype=torch.float64) torch.float64
torch.tensor([1., 2.]) * np.float64(2.)                        torch.float32
torch.arange(3)                                                torch.int64
torch.arange(3.)                                               torch.float32
torch.zeros(2)                                                 torch.float32
torch.randn(2)                                                 torch.float32
torch.full((2,), 7)                                            torch.int64
torch.full((2,), 7.)                                           torch.float32
torch.linspace(0, 1, 3)                                        torch.float32
torch.float32
""",
        needs=("ops",),
    ),
    Case(
        id="1.4-item-float-int-tolist-numpy",
        code="""\
import numpy as np
s = torch.tensor(2.5, requires_grad=True)
print(s.item(), type(s.item()))
print(torch.tensor(3).item(), type(torch.tensor(3).item()))
print(torch.tensor([[7.]]).item())
print(float(s))
print(float(s))
print(int(s))
v = torch.tensor([1., 2.], requires_grad=True)
print(v.tolist(), type(v.tolist()[0]))
with expect_error():
    v.item()
with expect_error():
    float(v)
with expect_error():
    v.numpy()
with expect_error():
    np.asarray(v)
print(v.detach().numpy())
""",
        output="""\
2.5 <class 'float'>
3 <class 'int'>
7.0
UserWarning: Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.
Consider using tensor.detach() first. (Triggered internally at <pytorch-src>/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)
2.5
2.5
2
[1.0, 2.0] <class 'float'>
RuntimeError: a Tensor with 2 elements cannot be converted to Scalar
ValueError: only one element tensors can be converted to Python scalars
RuntimeError: Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.
RuntimeError: Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.
[1. 2.]
""",
    ),
    Case(
        id="1.5-data-attribute",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
d = x.data
print(d, d.requires_grad, d.is_leaf, d.grad_fn)
d[0] = 9.
print(x)
print(x._version, d._version)
y = x * 2
print(y.data, y.data.requires_grad, y.data.is_leaf)
print(x.data is x.data)
""",
        output="""\
tensor([1., 2.]) False True None
tensor([9., 2.], requires_grad=True)
0 1
tensor([18.,  4.]) False True
False
""",
    ),
    Case(
        id="1.6-grad-fn-names",
        code="""\
import torch.nn as nn, torch.nn.functional as F
a = torch.tensor([1., 2.], requires_grad=True)
b = torch.tensor([3., 4.], requires_grad=True)
m = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
exprs = ["a + b", "a + 1", "1 + a", "a - b", "a - 1", "1 - a", "a * b", "a * 2", "a / b", "a / 2",
         "2 / a", "-a", "a ** 2", "2 ** a", "a ** b", "a.square()", "a.sqrt()", "a.exp()", "a.log()",
         "a.abs()", "a.relu()", "a.sigmoid()", "a.tanh()", "a.sum()", "a.sum(0)", "a.mean()",
         "a.max()", "a.max(0).values", "a.min()", "a.clamp(min=1.5)", "torch.where(a > 1, a, b)",
         "a @ b", "m @ m", "m.t()", "m.T", "a[0]", "a[:1]", "a.view(2, 1)", "a.reshape(2, 1)",
         "a.unsqueeze(0)", "a.expand(3, 2)", "torch.stack([a, b])", "torch.cat([a, b])",
         "a.clone()", "a.double()", "a.softmax(0)", "a.log_softmax(0)", "a.norm()",
         "F.mse_loss(a, b)", "nn.Linear(2, 3)(m)", "nn.Linear(2, 3, bias=False)(m)", "nn.Linear(2, 3)(a)"]
for e in exprs:
    r = eval(e)
    print(f"{e:32s} {type(r.grad_fn).__name__}")
x = a.clone()
x[0] = 5.
print(f"{'x = a.clone(); x[0] = 5.':32s} {type(x.grad_fn).__name__}")
print(a.float() is a, a.float().grad_fn)
print((a * 2).grad_fn.next_functions)  # node reprs include a memory address
""",
        output="""\
a + b                            AddBackward0
a + 1                            AddBackward0
1 + a                            AddBackward0
a - b                            SubBackward0
a - 1                            SubBackward0
1 - a                            RsubBackward1
a * b                            MulBackward0
a * 2                            MulBackward0
a / b                            DivBackward0
a / 2                            DivBackward0
2 / a                            MulBackward0
-a                               NegBackward0
a ** 2                           PowBackward0
2 ** a                           PowBackward2
a ** b                           PowBackward1
a.square()                       PowBackward0
a.sqrt()                         SqrtBackward0
a.exp()                          ExpBackward0
a.log()                          LogBackward0
a.abs()                          AbsBackward0
a.relu()                         ReluBackward0
a.sigmoid()                      SigmoidBackward0
a.tanh()                         TanhBackward0
a.sum()                          SumBackward0
a.sum(0)                         SumBackward1
a.mean()                         MeanBackward0
a.max()                          MaxBackward1
a.max(0).values                  MaxBackward0
a.min()                          MinBackward1
a.clamp(min=1.5)                 ClampBackward1
torch.where(a > 1, a, b)         WhereBackward0
a @ b                            DotBackward0
m @ m                            MmBackward0
m.t()                            TBackward0
m.T                              PermuteBackward0
a[0]                             SelectBackward0
a[:1]                            SliceBackward0
a.view(2, 1)                     ViewBackward0
a.reshape(2, 1)                  ViewBackward0
a.unsqueeze(0)                   UnsqueezeBackward0
a.expand(3, 2)                   ExpandBackward0
torch.stack([a, b])              StackBackward0
torch.cat([a, b])                CatBackward0
a.clone()                        CloneBackward0
a.double()                       ToCopyBackward0
a.softmax(0)                     SoftmaxBackward0
a.log_softmax(0)                 LogSoftmaxBackward0
a.norm()                         LinalgVectorNormBackward0
F.mse_loss(a, b)                 MseLossBackward0
nn.Linear(2, 3)(m)               AddmmBackward0
nn.Linear(2, 3, bias=False)(m)   MmBackward0
nn.Linear(2, 3)(a)               ViewBackward0
x = a.clone(); x[0] = 5.         CopySlices
True None
((<AccumulateGrad object at 0x7fea0a42bb50>, 0), (None, 0))
""",
        needs=("nn", "ops"),
    ),
    Case(
        id="1.7-parameter-repr",
        code="""\
import torch.nn as nn
print(repr(nn.Parameter(torch.tensor([1., 2.]))))
print(repr(nn.Parameter(torch.tensor(3.))))
print(repr(nn.Parameter(torch.tensor([1., 2.]), requires_grad=False)))
p = nn.Parameter(torch.tensor([1., 2.]))
print(p * 2)
print(type(p * 2).__name__, type(p.detach()).__name__, type(p.data).__name__)
print(p.is_leaf, p.requires_grad)
""",
        output="""\
Parameter containing:
tensor([1., 2.], requires_grad=True)
Parameter containing:
tensor(3., requires_grad=True)
Parameter containing:
tensor([1., 2.])
tensor([2., 4.], grad_fn=<MulBackward0>)
Tensor Tensor Tensor
True True
""",
        needs=("nn",),
    ),
    Case(
        id="2.1-is-leaf-rules",
        code="""\
a = torch.tensor([1., 2.], requires_grad=True)
b = torch.tensor([1., 2.])
c = a * 2
d = b * 2
e = a.detach()
f = a.clone()
g = a.float()
with torch.no_grad():
    h = a * 2
p = torch.nn.Parameter(torch.ones(2))
i = torch.tensor([1, 2])
r = a.detach().requires_grad_()
for name, t in [("a", a), ("b", b), ("c", c), ("d", d), ("e", e), ("f", f), ("g", g),
                ("h", h), ("p", p), ("i", i), ("r", r)]:
    fn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
    print(f"{name}: is_leaf={t.is_leaf} requires_grad={t.requires_grad} grad_fn={fn}")
print(g is a)
""",
        output="""\
a: is_leaf=True requires_grad=True grad_fn=None
b: is_leaf=True requires_grad=False grad_fn=None
c: is_leaf=False requires_grad=True grad_fn=MulBackward0
d: is_leaf=True requires_grad=False grad_fn=None
e: is_leaf=True requires_grad=False grad_fn=None
f: is_leaf=False requires_grad=True grad_fn=CloneBackward0
g: is_leaf=True requires_grad=True grad_fn=None
h: is_leaf=True requires_grad=False grad_fn=None
p: is_leaf=True requires_grad=True grad_fn=None
i: is_leaf=True requires_grad=False grad_fn=None
r: is_leaf=True requires_grad=True grad_fn=None
True
""",
        needs=("nn",),
    ),
    Case(
        id="2.2-requires-grad-propagation",
        code="""\
x = torch.randn(2)
w = torch.randn(2, requires_grad=True)
print((x + x).requires_grad, (x + w).requires_grad, (x * 0 + w).grad_fn.name())
print((w > 0).requires_grad, w.argmax().requires_grad, w.long().requires_grad)
print(w.round().requires_grad, w.round().grad_fn.name())
i = torch.tensor([1, 2])
print((i * w).dtype, (i * w).requires_grad)
""",
        output="""\
False True AddBackward0
False False False
True RoundBackward0
torch.float32 True
""",
        needs=("ops",),
    ),
    Case(
        id="2.3-grad-accumulation",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
print(x.grad)
(x * 3).sum().backward()
first = x.grad
print(first)
(x * 3).sum().backward()
print(x.grad, x.grad is first, first)
print(x.grad.requires_grad, x.grad.is_leaf, x.grad.grad_fn)
q = torch.tensor([1., 2.], requires_grad=True)
g = torch.tensor([5., 6.])
q.backward(g)
print(q.grad, q.grad is g)
q.backward(g)
print(q.grad, g)
""",
        output="""\
None
tensor([3., 3.])
tensor([6., 6.]) True tensor([6., 6.])
False True None
tensor([5., 6.]) False
tensor([10., 12.]) tensor([5., 6.])
""",
    ),
    Case(
        id="2.4-nonleaf-grad-warning",
        code="""\
a = torch.tensor(2., requires_grad=True)
b = a * 3
print(b.grad)
""",
        output="""\
UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information. (Triggered internally at <pytorch-src>/build/aten/src/ATen/core/TensorBody.h:493.)
None
""",
    ),
    Case(
        id="2.4-retain-grad",
        code="""\
a = torch.tensor(2., requires_grad=True)
b = a * 3
b.retain_grad()
print(b.retains_grad, a.retains_grad)
c = b * b
c.backward(retain_graph=True)
print(b.grad, a.grad)
c.backward()
print(b.grad, a.grad)
a.retain_grad()
print(a.retains_grad)
with expect_error():
    torch.ones(2).retain_grad()
print(torch.ones(2).grad)
with torch.no_grad():
    n = a * 2
print(n.grad)
""",
        output="""\
True False
tensor(12.) tensor(36.)
tensor(24.) tensor(72.)
False
RuntimeError: can't retain_grad on Tensor that has requires_grad=False
None
None
""",
    ),
    Case(
        id="2.5-assign-grad",
        code="""\
x = torch.tensor([1., 2., 3.], requires_grad=True)
x.grad = torch.ones(3)
print(x.grad)
x.grad = None
print(x.grad)
with expect_error():
    x.grad = torch.ones(2)
with expect_error():
    x.grad = torch.ones(3, dtype=torch.float64)
with expect_error():
    x.grad = torch.ones(3, dtype=torch.int64)
with expect_error():
    x.grad = [1., 2., 3.]
x.grad = torch.ones(3)
x.grad.data.zero_()
print(x.grad)
x.grad.data = torch.full((3,), 7.)
print(x.grad)
x.grad.data = torch.zeros(5)
print(x.grad)
with expect_error():
    (x * 1).sum().backward()
n = torch.ones(2)
n.grad = torch.ones(2)
print(n.grad)
""",
        output="""\
tensor([1., 1., 1.])
None
RuntimeError: attempting to assign a gradient of size '[2]' to a tensor of size '[3]'. Please ensure that the gradient and the tensor are the same size
RuntimeError: attempting to assign a gradient with dtype 'double' to a tensor with grad_dtype 'Float'. The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break downstream systems that assume they match.
RuntimeError: attempting to assign a gradient with dtype 'long int' to a tensor with grad_dtype 'Float'. The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break downstream systems that assume they match.
TypeError: assigned grad expected to be a Tensor or None but got grad of type list
tensor([0., 0., 0.])
tensor([7., 7., 7.])
tensor([0., 0., 0., 0., 0.])
RuntimeError: The size of tensor a (5) must match the size of tensor b (3) at non-singleton dimension 0
tensor([1., 1.])
""",
    ),
    Case(
        id="2.6-zero-grad",
        code="""\
import torch.nn as nn
torch.manual_seed(0)
lin = nn.Linear(2, 1)
extra = nn.Parameter(torch.ones(1))
opt = torch.optim.SGD(list(lin.parameters()) + [extra], lr=0.1)
lin(torch.ones(1, 2)).sum().backward()
print(lin.weight.grad)
opt.zero_grad()
print(lin.weight.grad)
lin(torch.ones(1, 2)).sum().backward()
g = lin.weight.grad
opt.zero_grad(set_to_none=False)
print(lin.weight.grad, lin.weight.grad is g, extra.grad)
lin.zero_grad()
print(lin.weight.grad)
""",
        output="""\
tensor([[1., 1.]])
None
tensor([[0., 0.]]) True None
None
""",
        needs=("nn", "optim"),
    ),
    Case(
        id="3.1-requires-grad-on-leaves",
        code="""\
x = torch.tensor([1., 2.])
print(x.requires_grad_() is x, x.requires_grad)
x.requires_grad_(False)
print(x.requires_grad)
x.requires_grad = True
print(x)
with torch.no_grad():
    y = torch.zeros(2)
    y.requires_grad_()
print(y, y.is_leaf)
""",
        output="""\
True True
False
tensor([1., 2.], requires_grad=True)
tensor([0., 0.], requires_grad=True) True
""",
    ),
    Case(
        id="3.2-requires-grad-on-nonleaves",
        code="""\
a = torch.tensor([1., 2.], requires_grad=True)
b = a * 2
with expect_error():
    b.requires_grad = False
with expect_error():
    b.requires_grad_(False)
with expect_error():
    b.requires_grad = True
with expect_error():
    b.requires_grad_(True)
print(b.requires_grad, b.is_leaf)
""",
        output="""\
RuntimeError: you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().
RuntimeError: you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().
RuntimeError: you can only change requires_grad flags of leaf variables.
(no error)
True False
""",
    ),
    Case(
        id="3.3-int-bool-cannot-require-grad",
        code="""\
with expect_error():
    torch.tensor([1, 2]).requires_grad_()
with expect_error():
    torch.tensor([True]).requires_grad_()
with expect_error():
    torch.tensor([1, 2], requires_grad=True)
with expect_error():
    torch.arange(3, requires_grad=True)
with expect_error():
    torch.zeros(2, dtype=torch.int64, requires_grad=True)
t = torch.tensor([1, 2])
with expect_error():
    t.requires_grad = True
print(torch.tensor([1, 2]).requires_grad_(False))
print(torch.arange(3., requires_grad=True))
""",
        output="""\
RuntimeError: only Tensors of floating point dtype can require gradients
RuntimeError: only Tensors of floating point dtype can require gradients
RuntimeError: Only Tensors of floating point and complex dtype can require gradients
RuntimeError: Only Tensors of floating point and complex dtype can require gradients
RuntimeError: Only Tensors of floating point and complex dtype can require gradients
RuntimeError: only Tensors of floating point and complex dtype can require gradients
tensor([1, 2])
tensor([0., 1., 2.], requires_grad=True)
""",
    ),
    Case(
        id="3.4-frozen-inputs",
        code="""\
w_frozen = torch.tensor([2.])
w_train = torch.tensor([3.], requires_grad=True)
x = torch.tensor([5.])
h = x * w_frozen
print(h.requires_grad, h.is_leaf, h.grad_fn)
out = h * w_train
print(out)
out.backward()
print(w_train.grad, w_frozen.grad)
a = torch.tensor(2., requires_grad=True)
frozen = torch.tensor(10.)
out2 = (a * frozen) * 3
out2.backward()
print(a.grad, frozen.grad)
""",
        output="""\
False True None
tensor([30.], grad_fn=<MulBackward0>)
tensor([10.]) None
tensor(30.) None
""",
    ),
    Case(
        id="4.1-detach-shares-storage",
        code="""\
a = torch.tensor([1., 2., 3.], requires_grad=True)
d = a.detach()
print(d, d.requires_grad, d.is_leaf, d.grad_fn, d.grad)
print(d.data_ptr() == a.data_ptr(), d is a)
d[0] = 10.
print(a)
with torch.no_grad():
    a[1] = 20.
print(d)
""",
        output="""\
tensor([1., 2., 3.]) False True None None
True False
tensor([10.,  2.,  3.], requires_grad=True)
tensor([10., 20.,  3.])
""",
    ),
    Case(
        id="4.2-detach-leaf-vs-nonleaf",
        code="""\
a = torch.tensor([1., 2.], requires_grad=True)
b = a * 2
bd = b.detach()
ad = a.detach()
print(bd, bd.is_leaf, bd.requires_grad)
print(ad, ad.is_leaf, ad.requires_grad)
out = (bd * a).sum()
out.backward()
print(a.grad)
""",
        output="""\
tensor([2., 4.]) True False
tensor([1., 2.]) True False
tensor([2., 4.])
""",
    ),
    Case(
        id="4.3-version-counter",
        code="""\
a = torch.tensor([1., 2.], requires_grad=True)
d = a.detach()
print(a._version, d._version)
d.add_(1)
print(a._version, d._version)
with torch.no_grad():
    a.mul_(2)
    a[0] = 0.
print(a._version, d._version)
dd = a.data
dd.add_(1)
print(a._version, dd._version)
y = a * 2
print(y._version)
y.add_(1)
print(y._version, y.grad_fn.name())
""",
        output="""\
0 0
1 1
3 3
3 1
0
1 AddBackward0
""",
    ),
    Case(
        id="4.4-exp-output-saved",
        code="""\
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x.exp()
y.detach().add_(1)
with expect_error():
    y.sum().backward()
""",
        output="""\
RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of Exp, is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).
""",
    ),
    Case(
        id="4.4-mul-input-saved",
        code="""\
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x * 2
z = y * y
y.add_(1)
with expect_error():
    z.sum().backward()
""",
        output="""\
RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of Add, is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).
""",
    ),
    Case(
        id="4.4-sigmoid-output-saved",
        code="""\
x = torch.tensor([0., 1.], requires_grad=True)
y = torch.sigmoid(x)
y.mul_(2)
with expect_error():
    y.sum().backward()
""",
        output="""\
RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]], which is output 0 of Sigmoid, is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).
""",
    ),
    Case(
        id="4.4-leaf-modified-under-no-grad",
        code="""\
w = torch.tensor([1., 2.], requires_grad=True)
loss = (w * w).sum()
with torch.no_grad():
    w.mul_(2)
with expect_error():
    loss.backward()
s = torch.tensor(1., requires_grad=True)
loss = s * s
with torch.no_grad():
    s.add_(1)
with expect_error():
    loss.backward()
""",
        output="""\
RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]] is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).
RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor []] is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).
""",
    ),
    Case(
        id="4.4-unsaved-modification-ok",
        code="""\
w = torch.tensor([1., 2.], requires_grad=True)
loss = (w * 3).sum()
with torch.no_grad():
    w.mul_(2)
loss.backward()
print(w.grad)
x = torch.tensor([1., 2.], requires_grad=True)
y = x + 1
z = y.sum()
y.mul_(10)
z.backward()
print(x.grad, y)
""",
        output="""\
tensor([3., 3.])
tensor([1., 1.]) tensor([20., 30.], grad_fn=<MulBackward0>)
""",
    ),
    Case(
        id="4.5-data-vs-detach",
        code="""\
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x.exp()
y.data.add_(1)
y.sum().backward()
print(x.grad)
print(x.detach().exp())
x2 = torch.tensor([1., 2., 3.], requires_grad=True)
y2 = x2.exp()
y2.detach().add_(1)
with expect_error():
    y2.sum().backward()
""",
        output="""\
tensor([ 3.7183,  8.3891, 21.0855])
tensor([ 2.7183,  7.3891, 20.0855])
RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of Exp, is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).
""",
    ),
    Case(
        id="4.6-detach-inplace",
        code="""\
a = torch.tensor([1., 2.], requires_grad=True)
b = a * 2
r = b.detach_()
print(r is b, b, b.is_leaf, b.requires_grad, b.grad_fn)
L = torch.tensor([1.], requires_grad=True)
L.detach_()
print(L, L.is_leaf)
with expect_error():
    (a * 2)[:1].detach_()
""",
        output="""\
True tensor([2., 4.]) True False None
tensor([1.]) True
RuntimeError: Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.
""",
    ),
    Case(
        id="4.7-assign-data",
        code="""\
w = torch.tensor([1., 2.], requires_grad=True)
w.data = torch.tensor([5., 6., 7.])
print(w, w.shape, w.is_leaf)
w.data -= 1
print(w, w._version)
with expect_error():
    w.data = torch.tensor([1, 2])
""",
        output="""\
tensor([5., 6., 7.], requires_grad=True) torch.Size([3]) True
tensor([4., 5., 6.], requires_grad=True) 0
RuntimeError: data set to a tensor that requires gradients must be floating point or complex dtype
""",
    ),
    Case(
        id="5.1-no-grad",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
with torch.no_grad():
    print(torch.is_grad_enabled())
    y = x * 2
print(torch.is_grad_enabled())
print(y, y.requires_grad, y.is_leaf, y.grad_fn)
z = (y * x).sum()
z.backward()
print(x.grad)
with torch.no_grad() as ctx:
    print(ctx)
""",
        output="""\
False
True
tensor([2., 4.]) False True None
tensor([2., 4.])
None
""",
    ),
    Case(
        id="5.2-factories-in-no-grad",
        code="""\
with torch.no_grad():
    f = torch.ones(2, requires_grad=True)
    p = torch.nn.Parameter(torch.zeros(2))
    g = f * 2
print(f, f.is_leaf)
print(p.requires_grad)
print(g, g.requires_grad)
""",
        output="""\
tensor([1., 1.], requires_grad=True) True
True
tensor([2., 2.]) False
""",
        needs=("nn",),
    ),
    Case(
        id="5.3-enable-grad-nesting",
        code="""\
x = torch.tensor(1., requires_grad=True)
with torch.no_grad():
    with torch.enable_grad():
        y = x * 2
        print(torch.is_grad_enabled())
    print(torch.is_grad_enabled())
    z = x * 2
print(y, z)
with torch.enable_grad():
    with torch.no_grad():
        print(torch.is_grad_enabled())
    print(torch.is_grad_enabled())
try:
    with torch.no_grad():
        raise ValueError("boom")
except ValueError:
    pass
print(torch.is_grad_enabled())
""",
        output="""\
True
False
tensor(2., grad_fn=<MulBackward0>) tensor(2.)
False
True
True
""",
    ),
    Case(
        id="5.3-reentered-no-grad-object",
        code="""\
ng = torch.no_grad()
with ng:
    with ng:
        pass
    print("after inner:", torch.is_grad_enabled())
print("after outer:", torch.is_grad_enabled())
""",
        output="""\
after inner: False
after outer: False
""",
    ),
    Case(
        id="5.4-set-grad-enabled",
        code="""\
x = torch.tensor(1., requires_grad=True)
torch.set_grad_enabled(False)
print(torch.is_grad_enabled(), (x * 2).requires_grad)
torch.set_grad_enabled(True)
print(torch.is_grad_enabled(), (x * 2).requires_grad)
for mode in (False, True):
    with torch.set_grad_enabled(mode):
        print(mode, torch.is_grad_enabled(), (x * 2).requires_grad)
print(torch.is_grad_enabled())
with torch.no_grad():
    with torch.set_grad_enabled(True):
        print(torch.is_grad_enabled())
    print(torch.is_grad_enabled())
with torch.no_grad():
    torch.set_grad_enabled(True)
    print(torch.is_grad_enabled())
print(torch.is_grad_enabled())
print(repr(torch.set_grad_enabled(True)))
with expect_error():
    torch.set_grad_enabled(0)
print(type(torch.is_grad_enabled()))
""",
        output="""\
False False
True True
False False False
True True True
True
True
False
True
True
torch.autograd.grad_mode.set_grad_enabled(mode=True)
TypeError: set_grad_enabled(): argument 'enabled' (position 1) must be bool, not int
<class 'bool'>
""",
    ),
    Case(
        id="5.5-decorators-and-generators",
        code="""\
x = torch.tensor(1., requires_grad=True)
@torch.no_grad()
def f1(t): return t * 2
@torch.no_grad
def f2(t): return t * 2
@torch.enable_grad()
def f3(t): return t * 2
@torch.set_grad_enabled(False)
def f4(t): return t * 2
@torch.inference_mode
def f5(t): return t * 2
print(torch.is_grad_enabled())
print(f1(x).requires_grad, f2(x).requires_grad, f4(x).requires_grad, f5(x).is_inference())
with torch.no_grad():
    print(f3(x).requires_grad)
print(torch.is_grad_enabled())
@torch.no_grad()
def gen():
    yield torch.is_grad_enabled()
    yield torch.is_grad_enabled()
g = gen()
print(next(g), torch.is_grad_enabled(), next(g))
""",
        output="""\
True
False False False True
True
True
False True False
""",
    ),
    Case(
        id="5.6-thread-locality",
        code="""\
import threading
seen = {}
def worker():
    seen["start"] = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    seen["after_set"] = torch.is_grad_enabled()
with torch.no_grad():
    t = threading.Thread(target=worker); t.start(); t.join()
    print("main inside no_grad:", torch.is_grad_enabled())
print(seen, "main after:", torch.is_grad_enabled())
with torch.inference_mode():
    t = threading.Thread(target=lambda: seen.update(inf=torch.is_inference_mode_enabled()))
    t.start(); t.join()
print(seen["inf"])
""",
        output="""\
main inside no_grad: False
{'start': True, 'after_set': False} main after: True
False
""",
    ),
    Case(
        id="5.7-inplace-on-leaves",
        code="""\
w = torch.tensor([1., 2.], requires_grad=True)
with torch.no_grad():
    w.add_(1)
    w[0] = 10.
    w *= 2
print(w, w.is_leaf, w._version)
with expect_error():
    w.add_(1)
with expect_error():
    w += 1
with expect_error():
    w.zero_()
with expect_error():
    w[0] = 5.
with expect_error():
    w[:1].mul_(2)
print(w)
n = torch.tensor([1., 2.])
n.add_(1)
print(n)
""",
        output="""\
tensor([20.,  6.], requires_grad=True) True 3
RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.
RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.
RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.
RuntimeError: a view of a leaf Variable that requires grad is being used in an in-place operation.
RuntimeError: a view of a leaf Variable that requires grad is being used in an in-place operation.
tensor([20.,  6.], requires_grad=True)
tensor([2., 3.])
""",
    ),
    Case(
        id="5.7-manual-sgd",
        code="""\
w = torch.tensor([1., 2.], requires_grad=True)
(w * w).sum().backward()
with torch.no_grad():
    w -= 0.1 * w.grad
print(w, w.is_leaf)
w.grad.zero_()
print(w.grad)
w2 = torch.tensor([1., 2.], requires_grad=True)
(w2 * w2).sum().backward()
w2 = w2 - 0.1 * w2.grad
print(w2, w2.is_leaf)
print(w2.grad)
""",
        output="""\
tensor([0.8000, 1.6000], requires_grad=True) True
tensor([0., 0.])
tensor([0.8000, 1.6000], grad_fn=<SubBackward0>) False
UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information. (Triggered internally at <pytorch-src>/build/aten/src/ATen/core/TensorBody.h:493.)
None
""",
    ),
    Case(
        id="5.8-backward-in-no-grad",
        code="""\
x = torch.tensor(2., requires_grad=True)
y = x * x
with torch.no_grad():
    y.backward()
print(x.grad)
""",
        output="""\
tensor(4.)
""",
    ),
    Case(
        id="5.9-inference-mode",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
with torch.inference_mode():
    print(torch.is_inference_mode_enabled(), torch.is_grad_enabled())
    y = x * 2
    f = torch.ones(2, requires_grad=True)
print(y, y.requires_grad, y.is_leaf, y.is_inference())
print(f, f.is_inference(), x.is_inference())
with expect_error():
    y._version
with expect_error():
    (y * x).sum()
w = torch.ones(2, requires_grad=True)
with expect_error():
    torch.mul(w, y)
with expect_error():
    y.requires_grad_()
print((y + 1).is_inference(), (y + 1).requires_grad)
yc = y.clone()
print(yc.is_inference(), (yc * x).requires_grad)
with torch.no_grad():
    n = x * 2
print(n.is_inference())
""",
        output="""\
True False
tensor([2., 4.]) False True True
tensor([1., 1.], requires_grad=True) True False
RuntimeError: Inference tensors do not track version counter.
RuntimeError: Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.
RuntimeError: Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.
RuntimeError: Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.
False False
False True
False
""",
    ),
    Case(
        id="5.9-inference-mode-enable-grad",
        code="""\
x = torch.tensor(1., requires_grad=True)
with torch.inference_mode():
    with torch.enable_grad():
        q = x * 2
        print(torch.is_grad_enabled(), q.requires_grad, q.is_inference())
    with torch.inference_mode(False):
        r = x * 2
        print(torch.is_inference_mode_enabled(), r.requires_grad, r.is_inference(), r.grad_fn.name())
    x.add_(1)
print(x)
""",
        output="""\
True False True
False True False MulBackward0
tensor(2., requires_grad=True)
""",
    ),
    Case(
        id="5.9-inference-tensor-inplace",
        code="""\
with torch.inference_mode():
    t = torch.tensor([1., 2.])
with expect_error():
    t.add_(1)
print(t)
with expect_error():
    t.mul_(10)
print(t)
""",
        output="""\
RuntimeError: Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details.
tensor([2., 3.])
RuntimeError: Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details.
tensor([20., 30.])
""",
    ),
    Case(
        id="6.1-nonscalar-backward",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
with expect_error():
    (x * 2).backward()
(x.sum(0, keepdim=True) * 2).backward()
print(x.grad)
s = torch.tensor(5., requires_grad=True)
s.backward()
print(s.grad)
""",
        output="""\
RuntimeError: grad can be implicitly created only for scalar outputs
tensor([2., 2.])
tensor(1.)
""",
    ),
    Case(
        id="6.2-gradient-argument",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
(x ** 2).backward(torch.tensor([1., 10.]))
print(x.grad)
with expect_error():
    (x * 2).backward(torch.ones(3))
with expect_error():
    (x * 2).backward(torch.ones(1))
with expect_error():
    (x * 2).sum().backward(torch.ones(1))
x.grad = None
(x * 2).sum().backward(torch.tensor(3.))
print(x.grad)
x.grad = None
(x * 2).backward(torch.tensor([1, 2]))
print(x.grad)
""",
        output="""\
tensor([ 2., 40.])
RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([2]).
RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([2]).
RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
tensor([6., 6.])
tensor([2., 4.])
""",
    ),
    Case(
        id="6.3-backward-twice",
        code="""\
x = torch.tensor(3., requires_grad=True)
y = x ** 2
y.backward()
with expect_error():
    y.backward()
print(x.grad)
x.grad = None
y = x ** 2
y.backward(retain_graph=True)
y.backward()
print(x.grad)
""",
        output="""\
RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.
tensor(6.)
tensor(12.)
""",
    ),
    Case(
        id="6.3-which-graphs-survive-backward",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
cases = {"(x + 1).sum()": lambda: (x + 1).sum(), "x.sum()": lambda: x.sum(),
         "x.mean()": lambda: x.mean(), "x.view(2, 1).sum()": lambda: x.view(2, 1).sum(),
         "(x * 2).sum()": lambda: (x * 2).sum(), "(x * x).sum()": lambda: (x * x).sum(),
         "x.exp().sum()": lambda: x.exp().sum(), "(x + 1).relu().sum()": lambda: (x + 1).relu().sum()}
for name, make in cases.items():
    x.grad = None
    y = make()
    y.backward()
    try:
        y.backward()
        outcome = "second backward OK"
    except RuntimeError as e:
        outcome = "RuntimeError (" + str(e)[:40] + "...)"
    print(f"{name:22s} {outcome:48s} grad={x.grad}")
""",
        output="""\
(x + 1).sum()          second backward OK                               grad=tensor([2., 2.])
x.sum()                second backward OK                               grad=tensor([2., 2.])
x.mean()               second backward OK                               grad=tensor([1., 1.])
x.view(2, 1).sum()     second backward OK                               grad=tensor([2., 2.])
(x * 2).sum()          RuntimeError (Trying to backward through the graph a s...) grad=tensor([2., 2.])
(x * x).sum()          RuntimeError (Trying to backward through the graph a s...) grad=tensor([2., 4.])
x.exp().sum()          RuntimeError (Trying to backward through the graph a s...) grad=tensor([2.7183, 7.3891])
(x + 1).relu().sum()   RuntimeError (Trying to backward through the graph a s...) grad=tensor([1., 1.])
""",
    ),
    Case(
        id="6.4-backward-without-grad",
        code="""\
with expect_error():
    torch.tensor([1., 2.]).sum().backward()
x = torch.tensor([1., 2.], requires_grad=True)
with torch.no_grad():
    y = (x * 2).sum()
with expect_error():
    y.backward()
with expect_error():
    (x * 2).sum().detach().backward()
""",
        output="""\
RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn
RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn
RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn
""",
    ),
    Case(
        id="6.5-create-graph-backward",
        code="""\
x = torch.tensor(3., requires_grad=True)
y = x ** 3
y.backward(create_graph=True)
print(x.grad)
g = x.grad
x.grad = None
g.backward()
print(x.grad)
""",
        output="""\
UserWarning: Using backward() with create_graph=True will create a reference cycle between the parameter and its gradient which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid this. If you have to use this function, make sure to reset the .grad fields of your parameters to None after use to break the cycle and avoid the leak. (Triggered internally at <pytorch-src>/torch/csrc/autograd/engine.cpp:1307.)
tensor(27., grad_fn=<CopyBackwards>)
tensor(18.)
""",
    ),
    Case(
        id="6.5-create-graph-autograd-grad",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
y = (x ** 3).sum()
g, = torch.autograd.grad(y, x, create_graph=True)
print(g, g.is_leaf)
g2, = torch.autograd.grad(g.sum(), x)
print(g2, x.grad)
print(torch.autograd.grad(y, x))
a = torch.tensor(2., requires_grad=True)
h, = torch.autograd.grad(a ** 3, a)
print(h, h.requires_grad)
with expect_error():
    torch.autograd.grad(h, a)
""",
        output="""\
tensor([ 3., 12.], grad_fn=<MulBackward0>) False
tensor([ 6., 12.]) None
(tensor([ 3., 12.]),)
tensor(12.) False
RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn
""",
    ),
    Case(
        id="6.6-autograd-grad",
        code="""\
a = torch.tensor(1., requires_grad=True)
b = torch.tensor(2., requires_grad=True)
print(torch.autograd.grad(a * 3, a))
print(a.grad)
with expect_error():
    torch.autograd.grad(a * 3, [a, b])
print(torch.autograd.grad(a * 3, [a, b], allow_unused=True))
print(torch.autograd.grad(a * 3, [a, b], allow_unused=True, materialize_grads=True))
c = torch.tensor(2.)
with expect_error():
    torch.autograd.grad(a * 3, [c])
with expect_error():
    torch.autograd.grad(c * 3, [a])
y = a * a
mid = y * 3
print(torch.autograd.grad(mid, y))
x = torch.tensor([1., 2.], requires_grad=True)
with expect_error():
    torch.autograd.grad(x * x, x)
print(torch.autograd.grad(x * x, x, grad_outputs=torch.ones(2)))
y = a * a
torch.autograd.grad(y, a)
with expect_error():
    torch.autograd.grad(y, a)
""",
        output="""\
(tensor(3.),)
None
RuntimeError: The differentiated Tensor at index 1 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.
(tensor(3.), None)
(tensor(3.), tensor(0.))
RuntimeError: One of the differentiated Tensors does not require grad
RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn
(tensor(3.),)
RuntimeError: grad can be implicitly created only for scalar outputs
(tensor([2., 4.]),)
RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.
""",
    ),
    Case(
        id="6.7-backward-inputs",
        code="""\
a = torch.tensor(1., requires_grad=True)
b = torch.tensor(2., requires_grad=True)
(a * b).backward(inputs=[a])
print(a.grad, b.grad)
with expect_error():
    (a * b).backward(inputs=[])
with expect_error():
    (a * b).backward(inputs=[torch.tensor(3.)])
u = torch.tensor(1., requires_grad=True)
v = torch.tensor(1., requires_grad=True)
(u * 5).backward()
print(u.grad, v.grad)
""",
        output="""\
tensor(2.) None
RuntimeError: `inputs` argument to `backward()` cannot be empty.
RuntimeError: can't retain_grad on Tensor that has requires_grad=False
tensor(5.) None
""",
    ),
    Case(
        id="7.1-broadcasting",
        code="""\
a = torch.ones(2, 3, requires_grad=True)
b = torch.ones(3, requires_grad=True)
c = torch.ones(2, 1, requires_grad=True)
s = torch.tensor(2., requires_grad=True)
out = (a * b + c * s).sum()
out.backward()
for name, t in [("a", a), ("b", b), ("c", c), ("s", s)]:
    print(name, tuple(t.grad.shape), t.grad.tolist())
""",
        output="""\
a (2, 3) [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
b (3,) [2.0, 2.0, 2.0]
c (2, 1) [[6.0], [6.0]]
s () 6.0
""",
    ),
    Case(
        id="7.2-sum-mean-expand",
        code="""\
x = torch.arange(6., requires_grad=True)
x.reshape(2, 3).mean().backward()
print(x.grad)
x.grad = None
x.reshape(2, 3).mean(dim=0).sum().backward()
print(x.grad)
x.grad = None
x.reshape(2, 3).sum(dim=1, keepdim=True).expand(2, 4).sum().backward()
print(x.grad)
""",
        output="""\
tensor([0.1667, 0.1667, 0.1667, 0.1667, 0.1667, 0.1667])
tensor([0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000])
tensor([4., 4., 4., 4., 4., 4.])
""",
        needs=("ops",),
    ),
    Case(
        id="7.3-int-tensors-in-graphs",
        code="""\
i = torch.tensor([1, 2, 3])
f = torch.tensor([1., 2., 3.], requires_grad=True)
y = i * f
print(y, y.dtype)
y.sum().backward()
print(f.grad, i.grad)
""",
        output="""\
tensor([1., 4., 9.], grad_fn=<MulBackward0>) torch.float32
tensor([1., 2., 3.]) None
""",
    ),
    Case(
        id="7.4-nondifferentiable-points",
        code="""\
x = torch.tensor([0., 1., -1.], requires_grad=True)
for name, fn in [("relu", torch.relu), ("abs", torch.abs), ("sqrt", torch.sqrt),
                 ("clamp(0, 1)", lambda t: t.clamp(0, 1)), ("sign", torch.sign),
                 ("floor", torch.floor), ("round", torch.round)]:
    x.grad = None
    fn(x).sum().backward()
    print(f"{name:12s} {x.grad}")
m = torch.tensor([1., 3., 3.], requires_grad=True)
m.max().backward(); print("max()       ", m.grad)
m.grad = None; m.max(0).values.backward(); print("max(0)      ", m.grad)
m.grad = None; torch.maximum(m[1], m[2]).backward(); print("maximum     ", m.grad)
""",
        output="""\
relu         tensor([0., 1., 0.])
abs          tensor([ 0.,  1., -1.])
sqrt         tensor([   inf, 0.5000,    nan])
clamp(0, 1)  tensor([1., 1., 0.])
sign         tensor([0., 0., 0.])
floor        tensor([0., 0., 0.])
round        tensor([0., 0., 0.])
max()        tensor([0.0000, 0.5000, 0.5000])
max(0)       tensor([0., 1., 0.])
maximum      tensor([0.0000, 0.5000, 0.5000])
""",
        needs=("ops",),
    ),
    Case(
        id="8.1-hook-on-leaf",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
h = x.register_hook(lambda g: g * 10)
print(type(h).__module__, type(h).__name__)
(x * 3).sum().backward()
print(x.grad)
h.remove()
x.grad = None
(x * 3).sum().backward()
print(x.grad)
""",
        output="""\
torch.utils.hooks RemovableHandle
tensor([30., 30.])
tensor([3., 3.])
""",
    ),
    Case(
        id="8.2-hook-on-nonleaf",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
y = x * 2
def hk(g):
    print("hook on y sees", g)
    return g + 1
y.register_hook(hk)
(y * y).sum().backward()
print(x.grad)
""",
        output="""\
hook on y sees tensor([4., 8.])
tensor([10., 18.])
""",
    ),
    Case(
        id="8.3-hook-none-inplace-order",
        code="""\
x = torch.tensor([1., 2.], requires_grad=True)
x.register_hook(lambda g: print("observe", g))
(x * 1).sum().backward()
print(x.grad)
z = torch.tensor([1., 2.], requires_grad=True)
def inplace(g):
    g.mul_(2)
z.register_hook(inplace)
(z * 1).sum().backward()
print(z.grad)
w = torch.tensor(1., requires_grad=True)
w.register_hook(lambda g: (print("h1 sees", g), g * 2)[1])
w.register_hook(lambda g: (print("h2 sees", g), g * 3)[1])
(w * 1).backward()
print(w.grad)
for order in ("retain_grad first", "hook first"):
    a = torch.tensor(1., requires_grad=True)
    b = a * 2
    if order == "retain_grad first":
        b.retain_grad(); b.register_hook(lambda g: g * 100)
    else:
        b.register_hook(lambda g: g * 100); b.retain_grad()
    (b * 1).backward()
    print(order, b.grad, a.grad)
""",
        output="""\
observe tensor([1., 1.])
tensor([1., 1.])
tensor([2., 2.])
h1 sees tensor(1.)
h2 sees tensor(2.)
tensor(6.)
retain_grad first tensor(100.) tensor(200.)
hook first tensor(100.) tensor(200.)
""",
    ),
    Case(
        id="8.4-hook-errors-autograd-grad",
        code="""\
with expect_error():
    torch.ones(2).register_hook(lambda g: g)
q = torch.tensor([1., 2.], requires_grad=True)
q.register_hook(lambda g: torch.ones(3))
with expect_error():
    (q * 1).sum().backward()
x2 = torch.tensor(1., requires_grad=True)
x2.register_hook(lambda g: print("leaf hook fired with", g))
print(torch.autograd.grad(x2 * 5, x2))
print(x2.grad)
""",
        output="""\
RuntimeError: cannot register a hook on a tensor that doesn't require gradient
RuntimeError: hook '<lambda>' has changed the size of value
leaf hook fired with tensor(5.)
(tensor(5.),)
None
""",
    ),
    Case(
        id="8.5-hooks-and-inplace",
        code="""\
x = torch.tensor(1., requires_grad=True)
t = x.sin()
t.register_hook(lambda g: print("registered before cos_:", g))
t.cos_()
t.register_hook(lambda g: print("registered after cos_:", g))
t.backward()
print(x.grad, -torch.sin(torch.sin(torch.tensor(1.))))
a = torch.tensor([1.], requires_grad=True).clone()
a.retain_grad()
a.mul_(2)
a.sum().backward()
print(a.grad)
""",
        output="""\
registered after cos_: tensor(1.)
registered before cos_: tensor(-0.7456)
tensor(-0.4029) tensor(-0.7456)
tensor([1.])
""",
        needs=("ops",),
    ),
    Case(
        id="9.1-frozen-module",
        code="""\
import torch.nn as nn
def make():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
m1, m2 = make(), make()
x = torch.randn(5, 3)
print(m2[2].requires_grad_(False) is m2[2])
print([p.requires_grad for p in m2[2].parameters()])
m1(x).sum().backward()
m2(x).sum().backward()
print(m2[2].weight.grad, m2[2].bias.grad)
print(torch.equal(m1[0].weight.grad, m2[0].weight.grad), torch.equal(m1[4].weight.grad, m2[4].weight.grad))
print(m2[0].weight.grad)
""",
        output="""\
True
[False, False]
None None
True True
tensor([[ 0.1472,  0.0057, -0.0081],
        [-0.2395, -0.0028,  0.0523],
        [-0.4515,  0.0451,  0.0938],
        [-0.8667, -0.0010,  0.2532]])
""",
        needs=("nn", "ops", "rng"),
    ),
    Case(
        id="9.2-optimizer-skips-none-grad",
        code="""\
import torch.nn as nn
p1 = nn.Parameter(torch.tensor([1., 2.]))
p2 = nn.Parameter(torch.tensor([3., 4.]))
opt = torch.optim.SGD([p1, p2], lr=0.1, momentum=0.9, weight_decay=0.5)
(p1 * 2).sum().backward()
opt.step()
print(p1.data, p2.data, p2.grad)
print(sorted(opt.state[p1].keys()), p2 in opt.state)
print(p1.is_leaf, p1.grad_fn, p1.requires_grad)
adam = torch.optim.Adam([p1, p2], lr=0.1, weight_decay=0.1)
adam.zero_grad()
(p1 * 2).sum().backward()
adam.step()
print(p2.data, p1 in adam.state, p2 in adam.state)
p3 = nn.Parameter(torch.tensor([1.]))
p3.grad = torch.zeros(1)
p4 = nn.Parameter(torch.tensor([1.]))
torch.optim.AdamW([p3, p4], lr=0.1, weight_decay=0.5).step()
print(p3.data, p4.data)
""",
        output="""\
tensor([0.7500, 1.7000]) tensor([3., 4.]) None
['momentum_buffer'] False
True None True
tensor([3., 4.]) True False
tensor([0.9500]) tensor([1.])
""",
        needs=("nn", "optim"),
    ),
    Case(
        id="9.3-eval-keeps-grad",
        code="""\
import torch.nn as nn
model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
model.eval()
out = model(torch.ones(1, 2)).sum()
print(model.training, torch.is_grad_enabled(), out.requires_grad, type(out.grad_fn).__name__)
""",
        output="""\
False True True SumBackward0
""",
        needs=("nn",),
    ),
    Case(
        id="10-gan-pattern",
        code="""\
import torch.nn as nn
def build():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    D = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    return G, D
bce = nn.BCEWithLogitsLoss()
torch.manual_seed(1)
z, real = torch.randn(4, 2), torch.randn(4, 2)
ones, zeros = torch.ones(4, 1), torch.zeros(4, 1)

G, D = build()
fake = G(z)
d_loss_a = bce(D(real), ones) + bce(D(fake.detach()), zeros)
d_loss_a.backward()
grads_a = [p.grad.clone() for p in D.parameters()]
print("A (detach):  G grads", [p.grad for p in G.parameters()])
bce(D(fake), ones).backward()
print("A then G-step: all G grads set:", all(p.grad is not None for p in G.parameters()))

G, D = build()
with torch.no_grad():
    fake_ng = G(z)
print("B fake:", fake_ng.requires_grad, fake_ng.is_leaf, fake_ng.grad_fn)
d_loss_b = bce(D(real), ones) + bce(D(fake_ng), zeros)
d_loss_b.backward()
grads_b = [p.grad.clone() for p in D.parameters()]
print("B (no_grad): G grads", [p.grad for p in G.parameters()])
print("D grads identical:", all(torch.equal(u, v) for u, v in zip(grads_a, grads_b)))
print("D losses identical:", torch.equal(d_loss_a, d_loss_b), d_loss_a.item())
bce(D(fake_ng), ones).backward()
print("B then G-step on no_grad fake: G grads", [p.grad for p in G.parameters()])

G, D = build()
fake_c = G(z)
(bce(D(real), ones) + bce(D(fake_c), zeros)).backward()
grads_c = [p.grad.clone() for p in D.parameters()]
print("C (no detach): G grads set:", [p.grad is not None for p in G.parameters()])
print("C D grads identical to A:", all(torch.equal(u, v) for u, v in zip(grads_a, grads_c)))
""",
        output="""\
A (detach):  G grads [None, None, None, None]
A then G-step: all G grads set: True
B fake: False True None
B (no_grad): G grads [None, None, None, None]
D grads identical: True
D losses identical: True 1.4234318733215332
B then G-step on no_grad fake: G grads [None, None, None, None]
C (no detach): G grads set: [True, True, True, True]
C D grads identical to A: True
""",
        needs=("nn", "ops", "rng"),
    ),
    Case(
        id="11.1-views-requires-grad",
        code="""\
a = torch.tensor([1., 2., 3.], requires_grad=True)
va = a[:2]
print(va.requires_grad, va.is_leaf, type(va.grad_fn).__name__, va._base is a)
(va * 2).sum().backward()
print(a.grad)
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x.clone()
y[0] = 10.
y[1:].mul_(5)
print(y)
y.sum().backward()
print(x.grad)
n = torch.ones(3)
print(n[:2].requires_grad, n[:2].is_leaf)
b2 = torch.ones(3)
v2 = b2[:2]
b2.requires_grad_()
print(v2.requires_grad, v2.is_leaf, v2.grad_fn)
""",
        output="""\
True False SliceBackward0 True
tensor([2., 2., 0.])
tensor([10., 10., 15.], grad_fn=<CopySlices>)
tensor([0., 5., 5.])
False True
True True None
""",
    ),
    Case(
        id="11.2-views-under-no-grad",
        code="""\
L = torch.tensor([1., 2.], requires_grad=True)
b = L.clone()
with torch.no_grad():
    v_leaf = L[:1]
    v_nonleaf = b[:1]
    d = b * 2
print(v_leaf, v_leaf.is_leaf, v_leaf.grad_fn)
print(v_nonleaf.requires_grad, v_nonleaf.is_leaf, d.requires_grad)
out = (v_leaf * 2).sum()
print(out)
out.backward()
print(v_leaf.grad, L.grad)
v_leaf.requires_grad_(False)
print(v_leaf.requires_grad)
with expect_error():
    v_nonleaf.mul_(2)
""",
        output="""\
tensor([1.], requires_grad=True) True None
True True False
tensor(2., grad_fn=<SumBackward0>)
None None
True
RuntimeError: A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view and the inplace either both inside the no_grad block (if you don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).
""",
    ),
    Case(
        id="11.3-copy-construct",
        code="""\
a = torch.tensor([1., 2.], requires_grad=True)
t = torch.tensor(a)
print(t, t.requires_grad, t.is_leaf)
""",
        output="""\
UserWarning: To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor).
tensor([1., 2.]) False True
""",
    ),
    Case(
        id="11.4-clone-detach-idioms",
        code="""\
a = torch.tensor([1., 2.], requires_grad=True)
c = a.clone()
print(c, c.is_leaf)
dc = a.detach().clone()
print(dc, dc.is_leaf, dc.requires_grad, dc.data_ptr() == a.data_ptr())
r = (a * 2).detach().requires_grad_()
print(r, r.is_leaf)
""",
        output="""\
tensor([1., 2.], grad_fn=<CloneBackward0>) False
tensor([1., 2.]) True False False
tensor([2., 4.], requires_grad=True) True
""",
    ),
    Case(
        id="11.5-aliases-and-mode-queries",
        code="""\
print(torch.autograd.no_grad is torch.no_grad, torch.autograd.enable_grad is torch.enable_grad,
      torch.autograd.set_grad_enabled is torch.set_grad_enabled,
      torch.autograd.inference_mode is torch.inference_mode)
print(torch.is_grad_enabled(), torch.is_inference_mode_enabled())
print(torch.ones(1).is_inference())
""",
        output="""\
True True True True
True False
False
""",
    ),
]
