"""What the graph core knows of the Tensor class: bound here once, at import, by ``install``.

The graph core (grad modes, ``node``, the engines, ``accumulate``, ``provenance``,
``saved_hooks``, ``graph``, the recorder ``record``) imports no Tensor class.
``glassgrad.tensor`` calls ``install`` once when it is imported, with its class and factory (as
Chainer's ``install_variable_arithmetics`` binds its Variable's operators), and the core reads
them here: ``bound.Tensor``, ``bound.make(array, grad_fn=None, output_nr=0)``,
``bound.grad_tensor(tensor)``. A core module on a hot path, which would pay for each
``bound.`` lookup, copies them into its own globals instead through ``when_installed``.
"""

from __future__ import annotations

Tensor = None  # glassgrad.tensor.Tensor
make = None  # glassgrad.tensor._make: a tensor around an array (on a node's output, if given)
grad_tensor = None  # glassgrad.tensor.grad_tensor: a tensor's ``.grad`` as accumulation reads it
_waiting: list = []  # the ``when_installed`` callbacks of modules imported before ``install``


def install(tensor_class, make_tensor, read_grad) -> None:
    """Bind the Tensor class, its factory and its ``.grad`` reader into the graph core."""
    global Tensor, make, grad_tensor
    Tensor, make, grad_tensor = tensor_class, make_tensor, read_grad
    for bind in _waiting:
        bind(Tensor, make)
    _waiting.clear()


def when_installed(bind) -> None:
    """Call ``bind(Tensor, make)`` once the Tensor class is bound: now if it already is."""
    if Tensor is not None:
        bind(Tensor, make)
    else:
        _waiting.append(bind)
