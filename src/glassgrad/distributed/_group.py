"""Process groups on MPI: ``init_process_group``, ``new_group``, ranks and sizes.

Every backend name PyTorch users write for CPU tensors ("gloo", "mpi") runs on MPI through
mpi4py: the processes are the ones MPI's launcher started (see ``glassgrad.distributed.run``),
and a group is an MPI communicator over some of them.
"""

from __future__ import annotations

import datetime
import enum
import os

__all__ = [
    "Backend",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "destroy_process_group",
    "get_backend",
    "get_node_local_rank",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "is_gloo_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "new_group",
]

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default_pg_timeout

_NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)


class RedOpType(enum.Enum):
    """The reduction operations, named as PyTorch names them."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8
    UNUSED = 9

    def __str__(self) -> str:
        return f"RedOpType.{self.name}"

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {self.value}>"


class ReduceOp:
    """``dist.ReduceOp``: ``ReduceOp.SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``, ``BAND``..."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM


class Backend(str):
    """A backend's name; ``Backend.GLOO`` and ``Backend.MPI`` both run on MPI here."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"

    def __new__(cls, name: str):
        return str.__new__(cls, name.lower())


class ProcessGroup:
    """A set of processes that run collectives together: an MPI communicator over them."""

    def __init__(self, comm, ranks: list[int], backend: str, timeout=DEFAULT_TIMEOUT) -> None:
        self.comm = comm  # None on a process outside the group
        self.ranks = ranks  # the global ranks of the members, in group-rank order
        self.backend = backend
        self.timeout = timeout  # how long a collective may wait for the other ranks
        self.timed_out = False  # a collective gave up waiting: the group is unusable, as Gloo's
        # collective clean-ups (MPI windows must be freed by every rank at once, never from a
        # garbage collector on one), run by destroy_process_group
        self.on_destroy: list = []

    def rank(self) -> int:
        """This process's rank within the group."""
        return self.comm.Get_rank()

    def size(self) -> int:
        """How many processes the group has."""
        return len(self.ranks)

    def name(self) -> str:
        return self.backend

    def __repr__(self) -> str:
        return f"<glassgrad.distributed.ProcessGroup ranks={self.ranks} backend={self.backend!r}>"


class GroupMember:
    """PyTorch's markers: ``GroupMember.WORLD`` and ``NON_GROUP_MEMBER``."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = -100


class group:  # noqa: N801 - PyTorch's name
    """``dist.group.WORLD``: the default group once initialised."""

    WORLD: ProcessGroup | None = None


_state = {"default": None, "groups": []}


def _mpi():
    from mpi4py import MPI

    return MPI


def is_available() -> bool:
    """True when MPI can be loaded (``pip install glassgrad[distributed]``)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available() -> bool:
    return is_available()


def is_gloo_available() -> bool:
    """ "gloo" is accepted and runs on MPI."""
    return is_available()


def is_nccl_available() -> bool:
    return False


def is_initialized() -> bool:
    """Whether the default process group has been initialised."""
    return _state["default"] is not None


def _check_backend(backend) -> str:
    name = "mpi" if backend is None else str(backend).lower()
    # "cpu:gloo,cuda:nccl" names one backend per device; the CPU one is the one that runs here
    if ":" in name:
        parts = dict(part.split(":", 1) for part in name.split(","))
        name = parts.get("cpu", "mpi")
    if name == "nccl":
        raise RuntimeError("Distributed package doesn't have NCCL built in")
    if name not in ("mpi", "gloo", "undefined"):
        raise AssertionError(f"Unknown backend type {backend}")
    return name


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout=None,
    world_size: int = -1,
    rank: int = -1,
    store=None,
    group_name: str = "",
    pg_options=None,
    device_id=None,
) -> None:
    """Join the default process group: every process MPI's launcher started.

    Rank and world size come from MPI; where ``rank``/``world_size`` or the ``RANK`` and
    ``WORLD_SIZE`` variables (set by ``glassgrad.distributed.run``) are given, they must agree.
    A collective that waits longer than ``timeout`` (a ``datetime.timedelta``, 30 minutes by
    default) for the other ranks raises RuntimeError, and the group is unusable afterwards.
    """
    if _state["default"] is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = _check_backend(backend)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    _check_timeout(timeout)
    comm = _mpi().COMM_WORLD.Dup()
    _agree(comm, rank, world_size)
    world = ProcessGroup(comm, list(range(comm.Get_size())), name, timeout)
    _state["default"] = world
    GroupMember.WORLD = world
    group.WORLD = world


def _check_timeout(timeout) -> None:
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(
            f"Expected timeout argument to be of type datetime.timedelta, got {timeout}"
        )


def _agree(comm, rank: int, world_size: int) -> None:
    """MPI's rank and size must be the ones the caller or the launcher's variables name."""
    given = {
        "rank": rank if rank != -1 else os.environ.get("RANK"),
        "world_size": world_size if world_size != -1 else os.environ.get("WORLD_SIZE"),
    }
    actual = {"rank": comm.Get_rank(), "world_size": comm.Get_size()}
    for key, value in given.items():
        if value is not None and int(value) != actual[key]:
            comm.Free()
            raise RuntimeError(
                f"init_process_group: {key}={int(value)} but MPI started this process as "
                f"{key}={actual[key]}; start the processes with "
                "`python -m glassgrad.distributed.run --nproc-per-node N script.py`"
            )


def _default() -> ProcessGroup:
    world = _state["default"]
    if world is None:
        raise ValueError(_NOT_INITIALIZED)
    return world


def _resolve(group_arg) -> ProcessGroup:
    """The group a call runs on (the default one for ``None``)."""
    world = _default()
    if group_arg is None or group_arg is world:
        return world
    if group_arg not in _state["groups"]:
        raise ValueError(
            f"Process group {group_arg} is not initialized in the world group map. Please "
            "initialize the group first."
        )
    return group_arg


def _registered(group_arg) -> ProcessGroup:
    """``_resolve`` with the words PyTorch's rank look-ups use for an unknown group."""
    world = _default()
    if group_arg is not None and group_arg is not world and group_arg not in _state["groups"]:
        raise ValueError(
            f"Group {group_arg} is not registered, please create group with "
            "torch.distributed.new_group API"
        )
    return _resolve(group_arg)


def destroy_process_group(group_arg: ProcessGroup | None = None) -> None:
    """Leave ``group_arg``, or every group when it is None (the default group last)."""
    world = _state["default"]
    if world is None:
        raise AssertionError("Process group cannot be None")
    targets = [*_state["groups"], world] if group_arg is None else [group_arg]
    for pg in targets:
        for clean_up in reversed(pg.on_destroy):
            clean_up()
        pg.on_destroy = []
        if pg.comm is not None:
            pg.comm.Free()
            pg.comm = None
        if pg in _state["groups"]:
            _state["groups"].remove(pg)
    if group_arg is None or group_arg is world:
        _state["default"] = None
        GroupMember.WORLD = None
        group.WORLD = None


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, **kwargs) -> ProcessGroup:
    """A group of the given global ranks; every process of the default group must call it."""
    world = _default()
    timeout = world.timeout if timeout is None else timeout
    _check_timeout(timeout)
    members = list(range(world.size())) if ranks is None else sorted(int(r) for r in ranks)
    if len(set(members)) != len(members):
        raise ValueError(f"ranks list must not contain duplicate entries, got {list(ranks)}")
    if len(members) > world.size():
        raise ValueError(
            "the new group's world size should be less or equal to the world size set by "
            "init_process_group"
        )
    for member in members:
        if member < 0 or member >= world.size():
            raise ValueError(
                f"Rank {member} is out of range. Valid ranks are 0 to {world.size() - 1} "
                f"(world_size={world.size()})"
            )
    mpi_group = world.comm.Get_group().Incl(members)
    comm = world.comm.Create(mpi_group)
    mpi_group.Free()
    comm = comm if comm != _mpi().COMM_NULL else None
    pg = ProcessGroup(comm, members, world.backend, timeout)
    _state["groups"].append(pg)
    return pg


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (-1 outside it)."""
    pg = _registered(group)
    return pg.rank() if pg.comm is not None else -1


def get_world_size(group: ProcessGroup | None = None) -> int:
    """How many processes ``group`` has (-1 for a process outside it)."""
    pg = _resolve(group)
    return pg.size() if pg.comm is not None else -1


def get_backend(group: ProcessGroup | None = None) -> str:
    """The backend name the group was made with ("mpi" or "gloo")."""
    return Backend(_resolve(group).backend)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group``'s member ``group_rank``."""
    if group is None or group is _state["default"]:
        return group_rank
    return _registered(group).ranks[group_rank]


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    """The global ranks of ``group``'s members, in group-rank order."""
    return list(_registered(group).ranks)


def is_torchelastic_launched() -> bool:
    """Whether a torchrun-like launcher started this process (``glassgrad run`` is one)."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its machine (``LOCAL_RANK``, which the launcher sets)."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
        "and want the code to run locally instead."
    )


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """The rank within ``group`` of the process with global rank ``global_rank``."""
    if group is None or group is _state["default"]:
        return global_rank
    _registered(group)
    if global_rank not in group.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return group.ranks.index(global_rank)
