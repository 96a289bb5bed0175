"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional, batch_first).

Each time step is built from primitives (``linear``, ``sigmoid``, ``tanh``); the loop runs over
time steps, never over elements. Parameter names are PyTorch's (``weight_ih_l0_reverse``, ...).
"""

from __future__ import annotations

import math
import warnings

import glassgrad
from glassgrad import creation
from glassgrad.nn import functional as F
from glassgrad.nn import init
from glassgrad.nn.modules._lstm_layer import composite_step, fusable, lstm_layer
from glassgrad.nn.modules.module import Module
from glassgrad.nn.parameter import Parameter
from glassgrad.nn.utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared parameters, initialisation and layer/direction loop of the recurrent layers."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the "
                "probability of an element being zeroed"
            )
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = 0
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so "
                "non-zero dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [
                    ("weight_ih", (gate_size, layer_input)),
                    ("weight_hh", (gate_size, hidden_size)),
                ]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(creation.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def flatten_parameters(self) -> None:
        """Pack the weights into one buffer for cuDNN: on the CPU there is nothing to do, and
        PyTorch does nothing either."""

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        text = "{input_size}, {hidden_size}"
        if self.num_layers != 1:
            text += ", num_layers={num_layers}"
        if self.bias is not True:
            text += ", bias={bias}"
        if self.batch_first is not False:
            text += ", batch_first={batch_first}"
        if self.dropout != 0:
            text += ", dropout={dropout}"
        if self.bidirectional is not False:
            text += ", bidirectional={bidirectional}"
        return text.format(**self.__dict__)

    def _weights(self, layer: int, direction: int):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [
            getattr(self, n + suffix) if self.bias or n.startswith("weight") else None
            for n in names
        ]

    def _cell(self, x, state, weights):
        """One step from ``x``, the step's input already projected (``x W_ih^T + b_ih``): the
        projection runs once per layer over the whole sequence (one large product instead of
        one per step, as PyTorch's CPU kernels do)."""
        raise NotImplementedError

    def _run(self, input, state, batch_sizes=None):
        """``input``: (L, N, H_in), or packed data (sum of batch sizes, H_in) with
        ``batch_sizes``; ``state``: a tuple of (layers * dirs, N, H) tensors."""
        directions = 2 if self.bidirectional else 1
        finals = []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                hidden = tuple(s[index] for s in state)
                weights = self._weights(layer, direction)
                if self.mode == "LSTM" and batch_sizes is None and fusable(layer_input, *weights):
                    output, *hidden = lstm_layer(layer_input, *weights, *hidden, direction == 1)
                    outputs.append(output)
                    finals.append(hidden)
                    continue
                projected = F.linear(layer_input, weights[0], weights[2])
                if batch_sizes is None:
                    output, hidden = self._padded_layer(projected, hidden, weights, direction)
                elif direction == 0:
                    output, hidden = self._packed_layer(projected, hidden, weights, batch_sizes)
                else:
                    output, hidden = self._packed_reverse(projected, hidden, weights, batch_sizes)
                outputs.append(output)
                finals.append(hidden)
            layer_input = outputs[0] if directions == 1 else glassgrad.cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        state = tuple(glassgrad.stack([f[i] for f in finals], 0) for i in range(len(state)))
        return layer_input, state

    def _padded_layer(self, layer_input, hidden, weights, direction):
        steps = range(layer_input.shape[0])
        seq = [None] * len(steps)
        for t in reversed(steps) if direction == 1 else steps:
            hidden = self._cell(layer_input[t], hidden, weights)
            seq[t] = hidden[0]
        return glassgrad.stack(seq, 0), hidden

    def _packed_layer(self, data, hidden, weights, batch_sizes):
        """One forward direction over packed data: the batch shrinks step by step, and each
        sequence's final state is set aside when it ends (ATen's ``PackedLayer``)."""
        finished, seq, offset, last = [], [], 0, batch_sizes[0]
        for size in batch_sizes:
            if size < last:
                finished.append(tuple(s[size:last] for s in hidden))
                hidden = tuple(s[:size] for s in hidden)
            last = size
            hidden = self._cell(data[offset : offset + size], hidden, weights)
            seq.append(hidden[0])
            offset += size
        finished.append(hidden)
        finished.reverse()
        hidden = tuple(glassgrad.cat([f[i] for f in finished], 0) for i in range(len(hidden)))
        return glassgrad.cat(seq, 0), hidden

    def _packed_reverse(self, data, initial, weights, batch_sizes):
        """The reverse direction: starts at the last step with the longest sequences' states,
        and takes in each sequence's initial state as the batch grows (``ReversedPackedLayer``)."""
        last = batch_sizes[-1]
        hidden = tuple(s[:last] for s in initial)
        seq, offset = [], data.shape[0]
        for size in reversed(batch_sizes):
            if size > last:
                hidden = tuple(
                    glassgrad.cat([h, s[last:size]], 0)
                    for h, s in zip(hidden, initial, strict=True)
                )
            hidden = self._cell(data[offset - size : offset], hidden, weights)
            seq.append(hidden[0])
            offset -= size
            last = size
        seq.reverse()
        return glassgrad.cat(seq, 0), hidden

    def _check_batched(self, input, hx) -> bool:
        """PyTorch's checks of the input's and the states' dimensions; whether it is batched."""
        name = type(self).__name__
        if input.dim() not in (2, 3):
            tensor = " tensor" if self.mode.startswith("RNN") else ""
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} instead"
            )
        if input.dim() == 2 and hx is not None:
            states = hx if isinstance(hx, tuple) else (hx,)
            if any(h.dim() != 2 for h in states):
                if len(states) == 2:
                    dims = ", ".join(f"{h.dim()}-D" for h in states)
                    raise RuntimeError(
                        "For unbatched 2-D input, hx and cx should also be 2-D but got "
                        f"({dims}) tensors"
                    )
                raise RuntimeError(
                    "For unbatched 2-D input, hx should also be 2-D but got "
                    f"{states[0].dim()}-D tensor"
                )
        return input.dim() == 3

    def _check_forward_args(self, input, hx, shape) -> None:
        """PyTorch's ``check_forward_args``: the dtype, the feature size, each state's shape."""
        weight = getattr(self, self._flat_weights_names[0])
        if input.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: "
                f"model.to({input.dtype})"
            )
        if input.size(-1) != self.input_size:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.size(-1)}"
            )
        for i, h in enumerate(hx):
            if tuple(h.shape) != shape:
                label = f"hidden[{i}]" if len(hx) == 2 else "hidden"
                raise RuntimeError(f"Expected {label} size {shape}, got {list(h.shape)}")

    def _forward_packed(self, input, hx, n_states: int):
        """A PackedSequence in, a PackedSequence out; states follow the caller's batch order."""
        sizes = [int(size) for size in input.batch_sizes.tolist()]
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, sizes[0], self.hidden_size)
        if hx is None:
            hx = tuple(creation.zeros(shape, dtype=input.data.dtype) for _ in range(n_states))
        else:
            hx = hx if isinstance(hx, tuple) else (hx,)
            if input.sorted_indices is not None:
                hx = tuple(h.index_select(1, input.sorted_indices) for h in hx)
        self._check_forward_args(input.data, hx, shape)
        output, state = self._run(input.data, hx, sizes)
        if input.unsorted_indices is not None:
            state = tuple(s.index_select(1, input.unsorted_indices) for s in state)
        packed = PackedSequence(
            output, input.batch_sizes, input.sorted_indices, input.unsorted_indices
        )
        return packed, state

    def _forward(self, input, hx, n_states: int):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, n_states)
        batched = self._check_batched(input, hx)
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, input.shape[1], self.hidden_size)
        if hx is None:
            hx = tuple(creation.zeros(shape, dtype=input.dtype) for _ in range(n_states))
        else:
            if not isinstance(hx, tuple):  # PyTorch reads an LSTM's (h, c) as hx[0], hx[1]
                hx = (hx,) if n_states == 1 else (hx[0], hx[1])
            if not batched:
                hx = tuple(h.unsqueeze(1) for h in hx)
        self._check_forward_args(input, hx, shape)
        output, state = self._run(input, hx)
        if not batched:
            output = output.squeeze(1)
            state = tuple(s.squeeze(1) for s in state)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, state


class RNN(RNNBase):
    """Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ``relu``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def _cell(self, x, state, weights):
        _, w_hh, _, b_hh = weights
        pre = x + F.linear(state[0], w_hh, b_hh)
        return (pre.tanh() if self.nonlinearity == "tanh" else pre.relu(),)

    def forward(self, input, hx=None):
        output, state = self._forward(input, hx, 1)
        return output, state[0]


class LSTM(RNNBase):
    """Long short-term memory; returns ``output, (h_n, c_n)``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def _cell(self, x, state, weights):
        return composite_step(x, state, weights[1], weights[3])

    def forward(self, input, hx=None):
        output, state = self._forward(input, hx, 2)
        return output, state


class GRU(RNNBase):
    """Gated recurrent unit."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("GRU", *args, **kwargs)

    def _cell(self, x, state, weights):
        _, w_hh, _, b_hh = weights
        x_r, x_z, x_n = x.chunk(3, -1)
        h_r, h_z, h_n = F.linear(state[0], w_hh, b_hh).chunk(3, -1)
        reset = (x_r + h_r).sigmoid()
        update = (x_z + h_z).sigmoid()
        new = (x_n + reset * h_n).tanh()
        return ((1 - update) * new + update * state[0],)

    def forward(self, input, hx=None):
        output, state = self._forward(input, hx, 1)
        return output, state[0]
