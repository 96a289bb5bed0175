"""``add_graph``'s graph: the autograd graph of one forward pass, as a TensorBoard GraphDef.

PyTorch traces the model with TorchScript and shows its ATen ops; here the forward runs once
with gradients recorded and each node of the recorded graph (``AddmmBackward0``...) becomes a
graph node, each parameter a node named by its dotted name, joined as the gradients would flow
backwards (drawn forwards, from inputs to outputs).
"""

from __future__ import annotations

from tensorboard.compat.proto.config_pb2 import RunMetadata
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.step_stats_pb2 import DeviceStepStats, StepStats
from tensorboard.compat.proto.versions_pb2 import VersionDef


def _outputs(value) -> list:
    from glassgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _outputs(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _outputs(item)]
    return []


def graph(model, input_to_model=None, verbose=False, use_strict_trace=True):
    """``(GraphDef, RunMetadata)`` of ``model(*input_to_model)``'s autograd graph."""
    from glassgrad.autograd.grad_mode import enable_grad

    if input_to_model is None:
        input_to_model = ()
    elif not isinstance(input_to_model, (list, tuple)):
        input_to_model = (input_to_model,)
    names = {id(p): name for name, p in model.named_parameters()}
    with enable_grad():
        outputs = _outputs(model(*input_to_model))
    nodes: dict = {}
    order: list = []
    inputs: dict = {}
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in nodes:
            continue
        variable = getattr(node, "variable", None)
        if variable is not None:
            name = names.get(id(variable), f"input/{len(nodes)}")
            nodes[id(node)] = (name, "Parameter", list(variable.shape))
        else:
            nodes[id(node)] = (f"{node.name()}/{len(nodes)}", node.name(), None)
        order.append(node)
        inputs[id(node)] = [nxt for nxt, _ in node.next_functions if nxt is not None]
        stack.extend(inputs[id(node)])
    graph_def = GraphDef(versions=VersionDef(producer=22))
    for node in reversed(order):
        name, op, shape = nodes[id(node)]
        node_def = NodeDef(name=name, op=op, input=[nodes[id(i)][0] for i in inputs[id(node)]])
        if shape is not None:
            node_def.attr["attr"].s = f"shape {shape}".encode()
        graph_def.node.append(node_def)
    if verbose:
        print(graph_def)
    stats = RunMetadata(step_stats=StepStats(dev_stats=[DeviceStepStats(device="/device:CPU:0")]))
    return graph_def, stats
