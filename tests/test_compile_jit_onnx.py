"""torch.compile, torch.jit, torch.onnx, nn.modules paths and sequence data, against PyTorch."""

from __future__ import annotations

import array
import collections
import importlib
import warnings

import numpy as np
import pytest
import torch

import glassgrad
from surface_cases import outcome


def _pair(seed: int = 0):
    """The same small MLP in both libraries."""
    torch.manual_seed(seed)
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    ours = glassgrad.nn.Sequential(
        glassgrad.nn.Linear(3, 4), glassgrad.nn.Tanh(), glassgrad.nn.Linear(4, 2)
    )
    ours.load_state_dict(
        {k: glassgrad.tensor(v.numpy()) for k, v in reference.state_dict().items()}
    )
    return reference, ours


def _run(lib, model, x):
    out = model(lib.tensor(x))
    out.square().sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    return out.detach().numpy(), grads


@pytest.mark.parametrize(
    "options", [{}, {"mode": "reduce-overhead"}, {"backend": "eager", "fullgraph": True}]
)
def test_compiled_module_gives_torch_values_gradients_and_keys(options):
    reference, ours = _pair()
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    compiled_ref = torch.compile(reference, **options)
    compiled = glassgrad.compile(ours, **options)
    assert type(compiled).__name__ == type(compiled_ref).__name__ == "OptimizedModule"
    assert list(compiled.state_dict()) == list(compiled_ref.state_dict())
    assert repr(compiled) == repr(compiled_ref)
    assert compiled._orig_mod is ours
    expected, expected_grads = _run(torch, compiled_ref, x)
    got, grads = _run(glassgrad, compiled, x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    for mine, theirs in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)


def test_compile_decorator_forms_run_the_function():
    for lib in (torch, glassgrad):

        @lib.compile
        def plain(x):
            return x * 2 + 1

        @lib.compile(mode="max-autotune", dynamic=True)
        def configured(x):
            return x.sin()

        assert plain.__name__ == "plain"
        assert plain(lib.ones(2)).tolist() == [3.0, 3.0]
        assert configured(lib.zeros(1)).tolist() == [0.0]
        assert lib.compile(plain, disable=True) is plain


@pytest.mark.parametrize(
    "source",
    [
        "torch.compile(1)",
        "torch.compile(torch.nn.ReLU(), mode='x')",
        "torch.compile(torch.nn.ReLU(), mode='default', options={})",
        "torch.compile(torch.nn.ReLU(), backend='xyz')",
        "torch.compiler.is_compiling()",
        "torch.compiler.list_backends()",
        "torch.compiler.reset()",
        "torch.compiler.disable(abs)(-1)",
        "torch.jit.is_scripting()",
        "torch.jit.is_tracing()",
        "torch.jit.annotate(int, 3)",
        "(lambda f: torch.jit.ignore(f) is f)(lambda x: x)",
        "(lambda f: torch.jit.unused(f) is f)(lambda x: x)",
        "(lambda f: torch.jit.export(f) is f)(lambda x: x)",
        "torch.jit.script(1)",
        "torch.jit.script(object())",
        "torch.jit.freeze(torch.nn.Linear(1, 1))",
        "issubclass(torch.jit.TracerWarning, Warning)",
        "torch.jit.Final",
        "torch.onnx.is_in_onnx_export()",
        "torch.nn.LSTM(2, 3).flatten_parameters()",
        "torch.nn.GRU(2, 3).flatten_parameters()",
        "torch.nn.RNN(2, 3).flatten_parameters()",
    ],
)
def test_compile_and_jit_names_as_torch(source):
    assert outcome(glassgrad, source) == outcome(torch, source)


def _scripted(lib, kind: str):
    torch.manual_seed(1)
    reference, ours = _pair(1)
    model = reference if lib is torch else ours
    x = lib.tensor(np.ones((2, 3), dtype=np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scripted = lib.jit.script(model) if kind == "script" else lib.jit.trace(model, x)
        function = lib.jit.script(_double) if kind == "script" else lib.jit.trace(_double, x)
    shared = next(scripted.parameters()) is next(model.parameters())
    model.eval()
    return (
        scripted(x).tolist(),
        function(x).tolist(),
        shared,
        scripted.training,  # its own flag: eval() on the original does not reach it
        list(scripted.state_dict()),
        isinstance(scripted, lib.nn.Module) and isinstance(scripted, lib.jit.ScriptModule),
        [(w.category.__name__, str(w.message)) for w in caught],
    )


def _double(x):
    return x * 2


@pytest.mark.parametrize("kind", ["script", "trace"])
def test_scripted_and_traced_run_as_torch(kind):
    got, expected = _scripted(glassgrad, kind), _scripted(torch, kind)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    assert got[1:] == expected[1:]


def test_torchscript_archives_and_onnx_export_are_refused_clearly(tmp_path):
    scripted = glassgrad.jit.script(glassgrad.nn.Linear(2, 2))
    for call in (
        lambda: scripted.save(str(tmp_path / "m.pt")),
        lambda: glassgrad.jit.save(scripted, str(tmp_path / "m.pt")),
        lambda: glassgrad.jit.load(str(tmp_path / "m.pt")),
        lambda: glassgrad.jit.script(_double).save(str(tmp_path / "f.pt")),
    ):
        with pytest.raises(RuntimeError, match="cannot write or read TorchScript archives"):
            call()
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(glassgrad.onnx.OnnxExporterError, match="ONNX export is not supported"):
        glassgrad.onnx.export(glassgrad.nn.Linear(2, 2), (glassgrad.ones(1, 2),), "m.onnx")
    assert issubclass(glassgrad.onnx.OnnxExporterError, RuntimeError)


def _paths():
    import pkgutil

    import torch.nn.modules as modules

    for info in pkgutil.iter_modules(modules.__path__):
        module = importlib.import_module(f"torch.nn.modules.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, type) and value.__module__ == module.__name__:
                if value is not getattr(torch.nn, name, value):
                    continue  # _functions.SyncBatchNorm: an autograd Function, not the layer
                if hasattr(glassgrad.nn, name) or name == "NonDynamicallyQuantizableLinear":
                    yield info.name, name


@pytest.mark.parametrize("module,name", sorted(set(_paths())))
def test_layers_import_from_torch_module_paths(module, name):
    ours = importlib.import_module(f"glassgrad.nn.modules.{module}")
    cls = getattr(ours, name)
    assert cls.__module__ == f"glassgrad.nn.modules.{module}"
    if name != "NonDynamicallyQuantizableLinear":
        assert cls is getattr(glassgrad.nn, name)


def test_multihead_attention_out_proj_class_as_torch():
    from glassgrad.nn.modules.activation import MultiheadAttention
    from glassgrad.nn.modules.linear import NonDynamicallyQuantizableLinear

    attention = MultiheadAttention(4, 2)
    assert type(attention.out_proj) is NonDynamicallyQuantizableLinear
    assert repr(attention) == repr(torch.nn.MultiheadAttention(4, 2))


@pytest.mark.parametrize(
    "source",
    [
        "torch.nn.modules.utils._pair(3)",
        "torch.nn.modules.utils._triple((1, 2, 3))",
        "torch.nn.modules.utils._single([4])",
        "torch.nn.modules.utils._quadruple(0)",
        "torch.nn.modules.utils._reverse_repeat_tuple((1, 2), 2)",
        "torch.nn.modules.utils._list_with_default([None, 3], [1, 2, 5, 6])",
        "torch.nn.modules.utils._list_with_default([None, 3], [1])",
    ],
)
def test_module_utils_as_torch(source):
    importlib.import_module("glassgrad.nn.modules.utils")
    assert outcome(glassgrad, source) == outcome(torch, source)


def test_consume_prefix_in_state_dict_as_torch():
    results = []
    for lib in (torch, glassgrad):
        from_parallel = lib.nn.Sequential(lib.nn.Linear(2, 2)).state_dict()
        state = collections.OrderedDict((f"module.{k}", v) for k, v in from_parallel.items())
        state._metadata = collections.OrderedDict(
            (f"module.{k}" if k else "module", v) for k, v in from_parallel._metadata.items()
        )
        state._metadata[""] = {"version": 1}
        importlib.import_module(f"{lib.__name__}.nn.modules.utils")
        lib.nn.modules.utils.consume_prefix_in_state_dict_if_present(state, "module.")
        results.append((list(state), list(state._metadata)))
    assert results[0] == results[1]


SEQUENCES = [
    "torch.tensor(collections.deque([1, 2, 3]))",
    "torch.tensor(collections.deque([[1.0, 2.0], [3.0, 4.0]]))",
    "torch.tensor([collections.deque([1, 2]), (3, 4)])",
    "torch.tensor(collections.UserList([1, 2]))",
    "torch.tensor(array.array('f', [1, 2]))",
    "torch.tensor(array.array('q', [1, 2]))",
    "torch.tensor(memoryview(b'ab'))",
    "torch.tensor(bytearray(b'ab'))",
    "torch.tensor(range(3))",
    "torch.tensor(iter([1]))",
    "torch.tensor({1, 2})",
    "torch.tensor({1: 2})",
    "torch.tensor('ab')",
    "torch.as_tensor(collections.deque([1.0]))",
    "torch.Tensor(collections.deque([1.0]))",
]


@pytest.mark.parametrize("source", SEQUENCES)
def test_python_sequences_as_tensor_data_as_torch(source):
    import surface_cases

    surface_cases.collections, surface_cases.array = collections, array
    assert outcome(glassgrad, source) == outcome(torch, source)
