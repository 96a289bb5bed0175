"""``nn.utils.rnn``: packing and padding batches of variable-length sequences, as PyTorch's.

Packing is one primitive (``PackPaddedSequenceBackward0``, the gather of the valid steps);
padding, unpadding and unpacking are built from slice copies, ``index_select`` and masks, so
their graphs carry PyTorch's ``grad_fn`` names (``CopySlices``, ``IndexSelectBackward0``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

import glassgrad
from glassgrad import dtypes
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """Holds the data and list of ``batch_sizes`` of a packed sequence."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``self.data.to(...)``; ``self`` when nothing changes, else a new PackedSequence."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs) -> PackedSequence:
        """The data on the CPU (where glassgrad keeps it already)."""
        return self.to(*args, **kwargs)

    def double(self) -> PackedSequence:
        """The data as float64."""
        return self.to(dtype=dtypes.float64)

    def float(self) -> PackedSequence:
        """The data as float32."""
        return self.to(dtype=dtypes.float32)

    def half(self) -> PackedSequence:
        """The data as float16."""
        return self.to(dtype=dtypes.float16)

    def long(self) -> PackedSequence:
        """The data as int64."""
        return self.to(dtype=dtypes.int64)

    def int(self) -> PackedSequence:
        """The data as int32."""
        return self.to(dtype=dtypes.int32)

    def short(self) -> PackedSequence:
        """The data as int16."""
        return self.to(dtype=dtypes.int16)

    def char(self) -> PackedSequence:
        """The data as int8."""
        return self.to(dtype=dtypes.int8)

    def byte(self) -> PackedSequence:
        """The data as uint8."""
        return self.to(dtype=dtypes.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether the data is on a GPU."""
        return self.data.is_cuda


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of ``permutation`` (None for None)."""
    if permutation is None:
        return None
    inverse = np.empty_like(permutation._data)
    inverse[permutation._data] = np.arange(permutation.numel(), dtype=inverse.dtype)
    return glassgrad.tensor(inverse)


def _pack_backward(ctx, grad):
    shape, key = ctx._args
    return (D.scatter_into(shape, key, grad),)


PackPaddedSequenceBackward0 = node_class("PackPaddedSequenceBackward0", _pack_backward)


def _lengths_tensor(lengths) -> Tensor:
    if isinstance(lengths, Tensor):
        return lengths.to(dtype=dtypes.int64)
    return glassgrad.as_tensor(lengths, dtype=dtypes.int64)


def _check_lengths(input: Tensor, lengths: np.ndarray, batch_first: bool) -> None:
    """PyTorch's checks, in its order (``_pack_padded_sequence`` in ATen)."""
    if lengths.ndim != 1:
        raise RuntimeError(
            "'lengths' argument should be a 1D CPU int64 tensor, but got "
            f"{lengths.ndim}D cpu Long tensor"
        )
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    batch_size = input.size(0 if batch_first else 1)
    if lengths.shape[0] != batch_size:
        raise RuntimeError(
            "Expected `len(lengths)` to be equal to batch_size, but got "
            f"{lengths.shape[0]} (batch_size={batch_size})"
        )
    if lengths[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if np.any(lengths[1:] > lengths[:-1]):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
            "pack_sequence to sidestep this requirement if you do not need ONNX exportability."
        )
    steps = input.size(1 if batch_first else 0)
    if lengths[0] > steps:
        # PyTorch reads past the end of the input here; refuse instead of returning garbage.
        raise RuntimeError(
            f"pack_padded_sequence: the longest length ({int(lengths[0])}) exceeds the "
            f"padded input's time dimension ({steps})"
        )


def _pack(input: Tensor, lengths: np.ndarray, batch_first: bool):
    """The packed data (the valid steps, time-major) and the batch size of each step."""
    _check_lengths(input, lengths, batch_first)
    steps = np.arange(lengths[0])
    valid = steps[:, None] < lengths[None, :]
    time_index, batch_index = np.nonzero(valid)  # row-major: step by step, batch in order
    key = (batch_index, time_index) if batch_first else (time_index, batch_index)
    data = input._data[key]
    out = result(data, PackPaddedSequenceBackward0, (input,), args=(input._data.shape, key))
    return out, glassgrad.tensor(valid.sum(1).astype(np.int64))


def pack_padded_sequence(
    input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Packs a Tensor containing padded sequences of variable length."""
    lengths = _lengths_tensor(lengths)
    sorted_indices = None
    if not enforce_sorted:
        lengths, sorted_indices = glassgrad.sort(lengths, descending=True)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    data, batch_sizes = _pack(input, lengths._data, batch_first)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def _runs(batch_sizes: np.ndarray):
    """(first step, last step + 1, batch size) of each run of equal batch sizes."""
    starts = np.flatnonzero(np.diff(batch_sizes, prepend=-1))
    ends = np.append(starts[1:], len(batch_sizes))
    return [(int(s), int(e), int(batch_sizes[s])) for s, e in zip(starts, ends, strict=False)]


def _pad_packed(data: Tensor, batch_sizes: np.ndarray, padding_value, total: int) -> Tensor:
    """(total, B, *) padded output, one slice copy per run of equal batch sizes (as ATen)."""
    batch = int(batch_sizes[0])
    rest = tuple(data.shape[1:])
    padded = glassgrad.full((total, batch, *rest), padding_value, dtype=data.dtype)
    offset = 0
    for start, end, size in _runs(batch_sizes):
        count = (end - start) * size
        padded[start:end, :size] = data[offset : offset + count].view(end - start, size, *rest)
        offset += count
    return padded


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Pad a packed batch of variable length sequences; returns (padded, lengths)."""
    batch_sizes = sequence.batch_sizes._data
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_seq_length}"
            )
        max_seq_length = total_length
    padded = _pad_packed(sequence.data, batch_sizes, padding_value, max_seq_length)
    steps = np.arange(int(batch_sizes[0]))
    lengths = glassgrad.tensor((batch_sizes[None, :] > steps[:, None]).sum(1).astype(np.int64))
    if batch_first:
        padded = padded.transpose(0, 1)
    unsorted_indices = sequence.unsorted_indices
    if unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, unsorted_indices)
        lengths = lengths[unsorted_indices]
    return padded, lengths


def _check_copy(shape: tuple, seq: Tensor) -> None:
    """PyTorch copies each sequence with ``copy_``: a misfit raises ``copy_``'s own error."""
    try:
        broadcast = np.broadcast_shapes(tuple(seq.shape), shape)
    except ValueError:
        glassgrad.empty(shape, dtype=seq.dtype).copy_(seq.detach())
        raise
    if broadcast != shape:
        raise RuntimeError(
            f"output with shape {list(shape)} doesn't match the broadcast shape {list(broadcast)}"
        )


def pad_sequence(
    sequences,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Pad a list of variable length Tensors with ``padding_value``."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences)}"
        )
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    first = sequences[0]
    if first.dim() == 0:
        raise RuntimeError("ArrayRef: invalid slice, N = 1; size = 0")
    max_len = max(seq.size(0) for seq in sequences)
    lead = (len(sequences), max_len) if batch_first else (max_len, len(sequences))
    out = glassgrad.full((*lead, *first.shape[1:]), padding_value, dtype=first.dtype)
    for i, seq in enumerate(sequences):
        length = seq.size(0)
        _check_copy((length, *first.shape[1:]), seq)
        start = max_len - length if padding_side == "left" else 0
        if batch_first:
            out[i, start : start + length] = seq
        else:
            out[start : start + length, i] = seq
    return out


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False):
    """Unpad a padded Tensor into a list of variable length Tensors."""
    if not batch_first:
        # PyTorch transposes the caller's tensor in place here; so does glassgrad.
        padded_sequences.transpose_(0, 1)
    max_length = padded_sequences.shape[1]
    idx = glassgrad.arange(max_length)
    return [seq[idx < length] for seq, length in zip(padded_sequences, lengths, strict=True)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of variable length Tensors (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = glassgrad.as_tensor([v.size(0) for v in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Unpack a PackedSequence into a list of variable length Tensors."""
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)
