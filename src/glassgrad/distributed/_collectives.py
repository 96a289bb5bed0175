"""The collectives, PyTorch's signatures on MPI: each writes its results into the given tensors
in place and returns None, or a ``Work`` handle with ``async_op=True``."""

from __future__ import annotations

import numpy as np

from glassgrad.distributed import _work as w
from glassgrad.distributed._group import ReduceOp, _mpi

__all__ = [
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "all_to_all",
    "all_to_all_single",
    "barrier",
    "broadcast",
    "gather",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
]


def _kind(pg) -> str:
    return "Gloo" if pg.backend == "gloo" else "MPI"


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group; every rank gets the result in place."""
    w.check_tensor(tensor)
    pg = w.member(group, "all_reduce")
    if pg is None:
        return None
    w.agree(pg, "allreduce", tensor)
    mpi_op = w.mpi_op(op)
    data = w.reducible(w.buffer(tensor), op)
    MPI = _mpi()

    def start():
        return [pg.comm.Iallreduce(MPI.IN_PLACE, data, mpi_op)]

    def finish():
        w.store(tensor, w.reduced(data, op, pg.size(), tensor._data.dtype))

    return w.run(pg, async_op, start, finish, [tensor])


def broadcast(tensor, src=None, group=None, async_op: bool = False, group_src=None):
    """Copy ``tensor`` from rank ``src`` to every rank of the group."""
    w.check_tensor(tensor)
    pg = w.member(group, "broadcast")
    if pg is None:
        return None
    root = w.root_rank(pg, src, group_src, "broadcast", "src")
    w.agree(pg, "broadcast", tensor, root)
    data = w.buffer(tensor)
    payload = w.raw(data)

    def start():
        return [pg.comm.Ibcast(payload, root)]

    def finish():
        if pg.rank() != root:
            w.store(tensor, data)

    return w.run(pg, async_op, start, finish, [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op: bool = False, group_dst=None):
    """Reduce ``tensor`` across the group into rank ``dst``'s ``tensor``."""
    w.check_tensor(tensor)
    pg = w.member(group, "reduce")
    if pg is None:
        return None
    root = w.root_rank(pg, dst, group_dst, "reduce", "dst")
    w.agree(pg, "reduce", tensor, root)
    mpi_op = w.mpi_op(op)
    data = w.reducible(w.buffer(tensor), op)
    mine = pg.rank() == root
    send = _mpi().IN_PLACE if mine else data

    def start():
        return [pg.comm.Ireduce(send, data if mine else None, mpi_op, root)]

    def finish():
        if mine:
            w.store(tensor, w.reduced(data, op, pg.size(), tensor._data.dtype))

    return w.run(pg, async_op, start, finish, [tensor])


def _same_as(pg, op: str, tensor, others, what: str = "tensor") -> None:
    """Gloo's checks that every tensor of a list has the input's shape and dtype."""
    for index, other in enumerate(others):
        if other.dtype != tensor.dtype:
            raise ValueError(
                "Invalid usage of tensors with different dtypes"
                f"Found {other.dtype} and  {tensor.dtype}"
            )
        if tuple(other.shape) != tuple(tensor.shape):
            raise RuntimeError(
                f"ProcessGroup{_kind(pg)}::{op}: invalid {what} size at index {index} "
                f"(expected {_sizes(tensor.shape)}, got {_sizes(other.shape)})"
            )


_CPP_DTYPES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
    "int32": "int", "int64": "long int", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}  # fmt: skip


def _options(tensor) -> str:
    """A tensor's options as PyTorch's C++ prints them in Gloo's errors."""
    name = str(tensor.dtype).removeprefix("torch.")
    return (
        f"TensorOptions(dtype={_CPP_DTYPES.get(name, name)}, device=cpu, layout=Strided, "
        "requires_grad=false (default), pinned_memory=false (default), "
        "memory_format=(nullopt))"
    )


def _sizes(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _gathered(tensors) -> tuple[np.ndarray, callable]:
    """One receive buffer for a list of equally shaped tensors, and how to unpack it."""
    block = np.empty((len(tensors), *tensors[0]._data.shape), dtype=tensors[0]._data.dtype)

    def unpack():
        for index, target in enumerate(tensors):
            w.store(target, block[index])

    return block, unpack


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Every rank's ``tensor`` into every rank's ``tensor_list`` (one entry per rank)."""
    w.check_list(tensor_list, "tensor_list")
    w.check_tensor(tensor)
    pg = w.member(group, "all_gather")
    if pg is None:
        return None
    if len(tensor_list) != pg.size():
        raise RuntimeError(
            f"ProcessGroup{_kind(pg)}::allgather: invalid output tensor list at index 0 "
            f"(expected length {pg.size()}, got {len(tensor_list)})"
        )
    _same_as(pg, "allgather", tensor, tensor_list, "tensor")
    w.agree(pg, "allgather", tensor)
    send = w.buffer(tensor)
    block, unpack = _gathered(tensor_list)

    def start():
        return [pg.comm.Iallgather(w.raw(send), w.raw(block))]

    return w.run(pg, async_op, start, unpack, tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Every rank's ``input_tensor``, concatenated (or stacked) along dim 0 of ``output_tensor``."""
    w.check_tensor(output_tensor, "output_tensor")
    w.check_tensor(input_tensor, "input_tensor")
    pg = w.member(group, "all_gather_into_tensor")
    if pg is None:
        return None
    if output_tensor.dtype != input_tensor.dtype or output_tensor.numel() != (
        input_tensor.numel() * pg.size()
    ):
        expected = input_tensor if pg.size() == 1 else None
        if output_tensor.dtype != input_tensor.dtype:
            raise RuntimeError(
                f"ProcessGroup{_kind(pg)}::allgather: invalid tensor type at index 0 (expected "
                f"{_options(input_tensor)}, got {_options(output_tensor)})"
            )
        shape = expected.shape if expected is not None else (pg.size(), *input_tensor.shape)
        raise RuntimeError(
            f"ProcessGroup{_kind(pg)}::allgather: invalid tensor size at index 0 "
            f"(expected {_sizes(shape)}, got {_sizes(output_tensor.shape)})"
        )
    w.agree(pg, "allgather", input_tensor)
    send = w.buffer(input_tensor)
    block = np.empty(output_tensor._data.size, dtype=output_tensor._data.dtype)

    def start():
        return [pg.comm.Iallgather(w.raw(send), w.raw(block))]

    return w.run(pg, async_op, start, lambda: w.store(output_tensor, block), [output_tensor])


def _root_list(pg, op, tensor, tensors, root, role, side):
    """Whether this rank is ``root``; checks ``tensors`` (only the root passes one), as PyTorch."""
    name = f"{op}_list"
    mine = pg.rank() == root
    if mine and not tensors:
        raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
    if not mine and tensors:
        raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")
    if mine:
        w.check_list(tensors, name)
        if len(tensors) != pg.size():
            raise RuntimeError(
                f"ProcessGroup{_kind(pg)}::{op}: Incorrect {side} list size "
                f"{len(tensors)}. {side.capitalize()} list size should be {pg.size()}, same as "
                "size of the process group."
            )
        _same_as(pg, op, tensor, tensors)
    return mine


def gather(tensor, gather_list=None, dst=None, group=None, async_op: bool = False, group_dst=None):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    w.check_tensor(tensor)
    pg = w.member(group, "gather")
    if pg is None:
        return None
    root = w.root_rank(pg, dst, group_dst, "gather", "dst", check=False)
    mine = _root_list(pg, "gather", tensor, gather_list, root, "destination", "output")
    w.check_root(pg, root, "gather")
    w.agree(pg, "gather", tensor, root)
    send = w.buffer(tensor)
    block, unpack = _gathered(gather_list) if mine else (None, None)
    target = w.raw(block) if mine else None

    def start():
        return [pg.comm.Igather(w.raw(send), target, root)]

    return w.run(pg, async_op, start, unpack, gather_list or [])


def scatter(
    tensor, scatter_list=None, src=None, group=None, async_op: bool = False, group_src=None
):
    """Rank ``src``'s ``scatter_list[i]`` into rank i's ``tensor``."""
    w.check_tensor(tensor)
    pg = w.member(group, "scatter")
    if pg is None:
        return None
    root = w.root_rank(pg, src, group_src, "scatter", "src", check=False)
    mine = _root_list(pg, "scatter", tensor, scatter_list, root, "source", "input")
    w.check_root(pg, root, "scatter")
    w.agree(pg, "scatter", tensor, root)
    block = np.stack([t._data for t in scatter_list]) if mine else None
    source = w.raw(np.ascontiguousarray(block)) if mine else None
    data = np.empty_like(w.buffer(tensor))

    def start():
        return [pg.comm.Iscatter(source, w.raw(data), root)]

    return w.run(pg, async_op, start, lambda: w.store(tensor, data), [tensor])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input_list[i]`` across ranks into rank i's ``output``."""
    w.check_tensor(output, "output")
    w.check_list(input_list, "input_list")
    pg = w.member(group, "reduce_scatter")
    if pg is None:
        return None
    if len(input_list) != pg.size():
        raise RuntimeError("invalid input tensor list size, must be world size")
    _same_as(pg, "reduce_scatter", output, input_list)
    block = np.stack([t._data for t in input_list])
    return _reduce_scatter(pg, output, block, op, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input`` across ranks and give rank i the i-th chunk of dim 0 in ``output``."""
    w.check_tensor(output, "output")
    w.check_tensor(input, "input")
    pg = w.member(group, "reduce_scatter_tensor")
    if pg is None:
        return None
    if input.numel() != output.numel() * pg.size():
        raise RuntimeError(
            "Check failed: outputShape[0] * worldSize == inputShape[0] "
            f"({output.shape[0] * pg.size()} vs. {input.shape[0]})."
        )
    return _reduce_scatter(pg, output, w.buffer(input), op, async_op)


def _reduce_scatter(pg, output, block, op, async_op):
    w.agree(pg, "reduce_scatter", output)
    mpi_op = w.mpi_op(op)
    send = np.ascontiguousarray(w.reducible(block, op))
    data = np.empty(output._data.size, dtype=send.dtype)

    def start():
        return [pg.comm.Ireduce_scatter_block(send, data, mpi_op)]

    def finish():
        w.store(output, w.reduced(data, op, pg.size(), output._data.dtype))

    return w.run(pg, async_op, start, finish, [output])


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op: bool = False):
    """Rank i's ``input_tensor_list[j]`` into rank j's ``output_tensor_list[i]``."""
    w.check_list(output_tensor_list, "output_tensor_list")
    w.check_list(input_tensor_list, "input_tensor_list")
    pg = w.member(group, "all_to_all")
    if pg is None:
        return None
    for name, tensors in (("input", input_tensor_list), ("output", output_tensor_list)):
        if len(tensors) != pg.size():
            raise RuntimeError(
                f"ProcessGroup{_kind(pg)}::alltoall: {name} tensor list size {len(tensors)} "
                f"does not match world size {pg.size()}"
            )
    w.agree(pg, "alltoall", None)
    sends = [w.raw(w.buffer(t)) for t in input_tensor_list]
    outs = [np.empty_like(w.buffer(t)) for t in output_tensor_list]
    send = (np.concatenate(sends), [s.size for s in sends])
    recv = (np.empty(sum(o.nbytes for o in outs), np.uint8), [o.nbytes for o in outs])

    def start():
        return [pg.comm.Ialltoallv(send, recv)]

    def finish():
        offset = 0
        for target, out in zip(output_tensor_list, outs, strict=True):
            out.reshape(-1).view(np.uint8)[:] = recv[0][offset : offset + out.nbytes]
            offset += out.nbytes
            w.store(target, out)

    return w.run(pg, async_op, start, finish, output_tensor_list)


def all_to_all_single(
    output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False
):
    """Split ``input`` along dim 0, send piece j to rank j, and concatenate what arrives."""
    w.check_tensor(output, "output")
    w.check_tensor(input, "input")
    pg = w.member(group, "all_to_all_single")
    if pg is None:
        return None
    size = pg.size()
    row_in = input._data[0:1].nbytes if input.dim() and input.shape[0] else 0
    row_out = output._data[0:1].nbytes if output.dim() and output.shape[0] else 0
    ins = input_split_sizes or [input.shape[0] // size] * size
    outs = output_split_sizes or [output.shape[0] // size] * size
    if sum(ins) != input.shape[0] or sum(outs) != output.shape[0]:
        raise RuntimeError("Split sizes doesn't match total dim 0 size")
    w.agree(pg, "alltoall", None)
    send = (w.raw(w.buffer(input)), [n * row_in for n in ins])
    data = np.empty_like(w.buffer(output))
    recv = (w.raw(data), [n * row_out for n in outs])

    def start():
        return [pg.comm.Ialltoallv(send, recv)]

    return w.run(pg, async_op, start, lambda: w.store(output, data), [output])


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Wait until every rank of the group reaches this call."""
    pg = w.member(group, "barrier")
    if pg is None:
        return None

    def start():
        return [pg.comm.Ibarrier()]

    return w.run(pg, async_op, start)
