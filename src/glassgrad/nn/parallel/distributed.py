"""``nn.parallel.DistributedDataParallel``: one model replica per process, gradients averaged
across processes during backward; where PyTorch reports unused parameters by index, the error
also names each one and says why no gradient reached it (the glass box's reason and line)."""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from glassgrad.autograd import grad_mode
from glassgrad.distributed.algorithms.join import Join, Joinable, JoinHook, _JoinConfig
from glassgrad.nn.modules.module import Module
from glassgrad.nn.parallel._reducer import (
    DEFAULT_BUCKET_CAP_MB,
    DEFAULT_FIRST_BUCKET_BYTES,
    Reducer,
)

__all__ = ["DistributedDataParallel"]

_PRIOR_REDUCTION = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This "
    "error indicates that your module has parameters that were not used in producing loss. You "
    "can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by \n"
    "making sure all `forward` function outputs participate in calculating loss. \n"
    "If you already have done the above, then the distributed data parallel module wasn't able "
    "to locate the output tensors in the return value of your module's `forward` function. "
    "Please include the loss function and the structure of the return value of `forward` of "
    "your module when reporting this issue (e.g. list, dict, iterable).\n"
    "Parameter indices which did not receive grad for rank {rank}: {indices}\n"
    " In addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either INFO "
    "or DETAIL to print out information about which particular parameters did not receive "
    "gradient on this rank as part of this error"
)


class DistributedDataParallel(Module, Joinable):
    """Wrap ``module`` so that its gradients are averaged across the process group."""

    def __init__(
        self,
        module: Module,
        device_ids=None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group=None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        **kwargs,
    ) -> None:
        from glassgrad import distributed as dist

        super().__init__()
        group = dist._group._resolve(process_group)  # PyTorch checks the group first
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        if device_ids is not None or output_device is not None:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters "
                "{device(type='cpu')}."
            )
        self.module = module
        self.process_group = group
        self.device_ids, self.output_device, self.dim = None, None, dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._param_names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._static_unused: set | None = None
        self._outputs: list = []
        self._join_config = _JoinConfig.construct_disabled_join_config()
        self._divide_by_initial_world_size = True
        comm = self.process_group.comm
        self._comm = comm.Dup()
        # freed with the group, on every rank at once: MPICH agrees on communicator ids across
        # ranks, and a garbage collector freeing this on one rank first breaks the next agreement
        group.on_destroy.append(self._comm.Free)
        _verify_same_params(comm, self._params)
        if init_sync:
            self._sync_module_states()
        cap = int((bucket_cap_mb or DEFAULT_BUCKET_CAP_MB) * 1024 * 1024)
        first = DEFAULT_FIRST_BUCKET_BYTES if bucket_cap_mb is None else cap
        self.reducer = Reducer(self._params, group, self._comm, first, cap, gradient_as_bucket_view)
        self._hooks = [_install(self.reducer, i, p) for i, p in enumerate(self._params)]

    def _sync_module_states(self) -> None:
        """Parameters and buffers start as rank 0's on every rank."""
        tensors = [*self.module.parameters(), *(b for b in self.module.buffers())]
        _broadcast_coalesced(self.process_group, tensors)

    def _sync_buffers(self, joined: bool | None = None) -> None:
        """Buffers from rank 0; under ``join()``, from the highest rank still training."""
        buffers = list(self.module.buffers())
        if not buffers:
            return
        root = 0
        if self._join_config.enable:
            root = self._find_common_rank(joined is None)
        _broadcast_coalesced(self.process_group, buffers, root)

    def _find_common_rank(self, candidate: bool) -> int:
        """The highest rank among those that offer themselves (every rank must call this)."""
        import glassgrad
        from glassgrad import distributed as dist

        rank = dist.get_rank(self.process_group)
        offer = glassgrad.tensor([rank if candidate else -1])
        dist.all_reduce(offer, op=dist.ReduceOp.MAX, group=self.process_group)
        return int(offer.item())

    def forward(self, *inputs, **kwargs):
        grad_enabled = grad_mode.is_grad_enabled()
        if grad_enabled and self.reducer.require_finalize:
            self._raise_unfinished()
        if self._join_config.enable:
            self._notify_join()
        if self.require_forward_param_sync and self.broadcast_buffers:
            self._sync_buffers()
        if self._join_config.enable:
            self._global_backward_sync(self.require_backward_grad_sync)
        output = self.module(*inputs, **kwargs)
        sync = grad_enabled and self.require_backward_grad_sync
        self.require_forward_param_sync = sync  # PyTorch's rule: buffers follow a synced step
        if sync:
            self._prepare_for_backward(output)
        return output

    def _prepare_for_backward(self, output) -> None:
        tensors = _find_tensors(output)
        if self.find_unused_parameters or (self.static_graph and self._static_unused is None):
            reached = _reachable_leaves(tensors)
            unused = {i for i, p in enumerate(self._params) if id(p) not in reached}
            if self.static_graph and not self.find_unused_parameters:
                self._static_unused = unused
        elif self.static_graph:
            unused = self._static_unused
        else:
            unused = None  # not looked for: every parameter must get a gradient
        # held only until this backward finishes: the graph the unused-parameter error explains
        self._outputs = tensors
        self.reducer.prepare_for_backward(unused)

    def _raise_unfinished(self) -> None:
        from glassgrad import distributed as dist

        missing = self.reducer.missing()
        rank = dist.get_rank(self.process_group)
        error = RuntimeError(
            _PRIOR_REDUCTION.format(rank=rank, indices=" ".join(str(i) for i in missing))
        )
        error.add_note(self._unused_note(rank, missing))
        self.reducer.require_finalize = False
        self.reducer.expect = False
        raise error

    def _unused_note(self, rank: int, missing: list[int]) -> str:
        """Each parameter that got no gradient on this rank, by name, and why (the glass box)."""
        from glassgrad.glass.explain import why_not

        named = {self._param_names[i]: self._params[i] for i in missing}
        reasons = why_not(self._outputs, named) if self._outputs else {}
        lines = [f"glassgrad: on rank {rank}, no gradient reached these parameters in the prior "
                 "iteration:"]  # fmt: skip
        for index in missing:
            name = self._param_names[index]
            why = reasons.get(name) or _unexplained(self._params[index], bool(self._outputs))
            if why == "not used by this output":
                why += " (forward never reached it: a branch not taken, or a layer not called)"
            lines.append(f"  {name} (index {index}): {why}")
        return "\n".join(lines)

    def register_comm_hook(self, state, hook) -> None:
        """Reduce each bucket with ``hook(state, bucket)`` (a ``dist.GradBucket``), which returns
        a future of the bucket's averaged gradients as one flat tensor (see
        ``torch.distributed.algorithms.ddp_comm_hooks.default_hooks``)."""
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        if self.reducer.comm_hook is not None:
            raise RuntimeError(
                "register_comm_hook or register_builtin_comm_hook can only be called once."
            )
        self.reducer.comm_hook = (state, hook)

    # -- uneven inputs: ``with model.join(): ...`` ---------------------------------------------
    def join(
        self, divide_by_initial_world_size: bool = True, enable: bool = True,
        throw_on_early_termination: bool = False,
    ) -> Join:  # fmt: skip
        """A context manager for ranks with different numbers of batches: a rank that runs out
        shadows the others' gradient allreduces (with zeros) until every rank is done."""
        return Join(
            [self], enable, throw_on_early_termination,
            divide_by_initial_world_size=divide_by_initial_world_size,
        )  # fmt: skip

    def join_hook(self, **kwargs) -> JoinHook:
        """What a joined rank does for each iteration of the ranks still training."""
        divide = kwargs.get("divide_by_initial_world_size", True)
        return _DDPJoinHook(self, divide_by_initial_world_size=divide)

    @property
    def join_device(self):
        from glassgrad._device import device

        return device("cpu")

    @property
    def join_process_group(self):
        return self.process_group

    def _notify_join(self) -> None:
        work = Join.notify_join_context(self)
        world = self.process_group.size()
        if work is None or self._divide_by_initial_world_size:
            self.reducer.divide_by = world
        else:  # average over the ranks still training only
            work.wait()
            self.reducer.divide_by = int(work.result()[0].item())

    def _global_backward_sync(self, mine: bool) -> bool:
        """Whether any rank will average gradients this iteration (joined ranks ask)."""
        import glassgrad
        from glassgrad import distributed as dist

        flag = glassgrad.tensor([1 if mine else 0])
        dist.all_reduce(flag, group=self.process_group)
        return bool(flag.item())

    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients locally: backward inside this block averages nothing."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _get_ddp_logging_data(self) -> dict:
        return {"world_size": self.process_group.size(), "can_set_static_graph": True}


class _DDPJoinHook(JoinHook):
    """A joined rank's share of each iteration: zeros into every bucket's allreduce."""

    def __init__(self, ddp: DistributedDataParallel, divide_by_initial_world_size: bool) -> None:
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self) -> None:
        ddp = self.ddp
        if ddp.require_forward_param_sync and ddp.broadcast_buffers:
            ddp._sync_buffers(joined=True)
        should_sync = ddp._global_backward_sync(False)
        ddp.require_forward_param_sync = should_sync
        if should_sync:
            ddp.reducer.shadow(track_unused=ddp.find_unused_parameters or ddp.static_graph)

    def post_hook(self, is_last_joiner: bool) -> None:
        """Every rank ends with the model of the last rank to finish."""
        ddp = self.ddp
        root = ddp._find_common_rank(is_last_joiner)
        tensors = [*ddp.module.parameters(), *ddp.module.buffers()]
        _broadcast_coalesced(ddp.process_group, tensors, root)


def _unexplained(param, had_outputs: bool) -> str:
    if not param.requires_grad:
        return "frozen: requires_grad=False after DistributedDataParallel was built"
    if had_outputs:
        return (
            "it feeds the module's output, but the loss was computed without that part of the "
            "output (or backward() did not reach it)"
        )
    return "the forward's output holds no tensor DistributedDataParallel could follow"


def _install(reducer: Reducer, index: int, param):
    ref = weakref.ref(reducer)

    def hook(_param) -> None:
        live = ref()
        if live is not None:
            live.hook(index)

    return param.register_post_accumulate_grad_hook(hook)


def _find_tensors(obj) -> list:
    """The tensors inside a forward's output (lists, tuples, dicts, dataclasses, nested)."""
    from glassgrad.tensor import Tensor

    found, stack = [], [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif hasattr(item, "__dataclass_fields__"):
            stack.extend(getattr(item, name) for name in item.__dataclass_fields__)
    return found


def _reachable_leaves(tensors) -> set:
    """``id``s of the leaves a backward from ``tensors`` would reach (PyTorch's graph search)."""
    from glassgrad.autograd.node import AccumulateGrad

    reached, seen = set(), set()
    stack = []
    for tensor in tensors:
        if tensor.grad_fn is not None:
            stack.append(tensor.grad_fn)
        elif tensor.requires_grad:
            reached.add(id(tensor))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            variable = node.variable
            if variable is not None:
                reached.add(id(variable))
            continue
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return reached


def _verify_same_params(comm, params) -> None:
    """PyTorch's check that every rank wraps the same model."""
    shapes = [tuple(p.shape) for p in params]
    everyone = comm.allgather(shapes)
    for rank, theirs in enumerate(everyone):
        if len(theirs) != len(shapes):
            raise RuntimeError(
                f"DDP expects same model across all ranks, but Rank {comm.Get_rank()} has "
                f"{len(shapes)} params, while rank {rank} has inconsistent {len(theirs)} params."
            )
        for index, (mine, other) in enumerate(zip(shapes, theirs, strict=True)):
            if mine != other:
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but Rank {comm.Get_rank()} has "
                    f"parameter {index} of shape {list(mine)}, while rank {rank} has "
                    f"{list(other)}."
                )


def _broadcast_coalesced(pg, tensors, root: int = 0) -> None:
    """Rank ``root``'s values into every rank's tensors, in one message."""
    from glassgrad.distributed._work import store, wait_all

    comm = pg.comm
    arrays = [np.ascontiguousarray(t._data).reshape(-1).view(np.uint8) for t in tensors]
    flat = np.concatenate(arrays) if arrays else np.empty(0, np.uint8)
    wait_all(pg, [comm.Ibcast(flat, root)])
    if comm.Get_rank() == root:
        return
    offset = 0
    with grad_mode.no_grad():
        for tensor, array in zip(tensors, arrays, strict=True):
            chunk = flat[offset : offset + array.size].view(tensor._data.dtype)
            store(tensor, chunk.reshape(tensor._data.shape))
            offset += array.size
